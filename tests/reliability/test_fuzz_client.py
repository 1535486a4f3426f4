"""The client's handling of hostile responses: any status, headers and body.

A real HTTP/2 server on loopback answers with what hypothesis picks; every client
operation must then return a value or raise one of the documented ``S2Error``
types, within its timeout: never another exception, never a hang.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import subprocess
import sys
import textwrap
import time
from collections.abc import Awaitable, Callable, Iterator
from datetime import timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from s2_sdk import (
    S2,
    AppendIndefiniteFailureError,
    AppendInput,
    Endpoints,
    ReadLimit,
    Record,
    Retry,
    S2ClientError,
    S2Error,
    S2ServerError,
    SeqNum,
    Timeout,
)
from s2_sdk.protocol import Codec, FrameDecoder, FrameError, encode_frame, pb
from support.evil_server import Answer, EvilServer

OPS: dict[str, Callable[[S2], Awaitable[Any]]] = {
    "check_tail": lambda s2: s2["fuzz-basin"]["s"].check_tail(),
    "read": lambda s2: s2["fuzz-basin"]["s"].read(start=SeqNum(0)),
    "append": lambda s2: s2["fuzz-basin"]["s"].append(AppendInput([Record(body=b"x")])),
    "get_stream_config": lambda s2: s2["fuzz-basin"].get_stream_config("s"),
    "list_streams": lambda s2: s2["fuzz-basin"].list_streams(),
    "list_basins": lambda s2: s2.list_basins(),
    "get_basin_config": lambda s2: s2.get_basin_config("fuzz-basin"),
}

_json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4)
    ),
    max_leaves=12,
)
_bodies = st.one_of(
    st.binary(max_size=600),
    _json_values.map(lambda v: json.dumps(v).encode()),
    st.fixed_dictionaries(
        {"tail": st.fixed_dictionaries({"seq_num": st.integers(), "timestamp": st.integers()})}
    ).map(lambda v: json.dumps(v).encode()),
    st.builds(
        lambda n: pb.ReadBatch(
            records=[pb.SequencedRecord(seq_num=n, body=b"b")]
        ).SerializeToString(),
        st.integers(0, 2**64 - 1),
    ),
)
_answers = st.builds(
    Answer,
    status=st.sampled_from([200, 201, 202, 204, 400, 404, 409, 412, 416, 429, 500, 503])
    | st.integers(200, 599),
    headers=st.lists(
        st.sampled_from(
            [
                ("content-type", "application/json"),
                ("content-type", "application/protobuf"),
                ("content-type", "s2s/proto"),
                ("content-encoding", "zstd"),
                ("content-encoding", "gzip"),
                ("content-encoding", "br"),
                ("retry-after-ms", "5"),
                ("retry-after-ms", "-1"),
                ("s2-provision-result", "created"),
            ]
        ),
        max_size=3,
        unique_by=lambda h: h[0],
    ),
    body=_bodies,
)


@pytest.fixture(scope="module")
def evil() -> Iterator[EvilServer]:
    with EvilServer() as server:
        yield server


@settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(answer=_answers, op=st.sampled_from(sorted(OPS)))
def test_any_response_is_a_value_or_a_documented_error(
    evil: EvilServer, answer: Answer, op: str
) -> None:
    evil.answer = answer

    async def call() -> None:
        endpoints = Endpoints(evil.endpoint, evil.endpoint)
        timeout = Timeout(request=timedelta(seconds=2), connection=timedelta(seconds=2))
        async with S2("t", endpoints=endpoints, retry=Retry(max_attempts=1), timeout=timeout) as s2:
            with contextlib.suppress(S2Error):  # anything else fails the test
                await asyncio.wait_for(OPS[op](s2), 10)

    asyncio.run(call())


@pytest.mark.parametrize("status", ["abc", "20", "2000", ""])
def test_a_malformed_status_is_a_documented_error(evil: EvilServer, status: str) -> None:
    """The client checks the response status itself (h2's header validation is off)."""
    evil.answer = Answer(status, [("content-type", "application/json")], b"{}")

    async def call() -> None:
        endpoints = Endpoints(evil.endpoint, evil.endpoint)
        async with S2("t", endpoints=endpoints, retry=Retry(max_attempts=1)) as s2:
            with pytest.raises(S2Error, match="malformed response status"):
                await asyncio.wait_for(s2["fuzz-basin"]["s"].check_tail(), 10)

    asyncio.run(call())


def test_response_headers_that_are_not_utf8_do_not_break_the_call(evil: EvilServer) -> None:
    """Header values are decoded leniently: a stray byte is no reason to fail a call."""
    odd: list[tuple[str | bytes, str | bytes]] = [("content-type", "application/json"),
                                                  (b"x-odd", b"\xff\xfe")]  # fmt: skip
    evil.answer = Answer(200, odd, b'{"tail":{"seq_num":7,"timestamp":9}}')

    async def call() -> int:
        endpoints = Endpoints(evil.endpoint, evil.endpoint)
        async with S2("t", endpoints=endpoints, retry=Retry(max_attempts=1)) as s2:
            tail = await asyncio.wait_for(s2["fuzz-basin"]["s"].check_tail(), 10)
            return tail.seq_num

    assert asyncio.run(call()) == 7


@settings(max_examples=300, deadline=None)
@given(chunks=st.lists(st.binary(max_size=64), max_size=8), valid=st.binary(max_size=64))
def test_frame_decoder_takes_any_bytes(chunks: list[bytes], valid: bytes) -> None:
    """Random bytes are frames or a FrameError; a valid frame after them still decodes alone."""
    decoder = FrameDecoder()
    try:
        for chunk in chunks:
            decoder.feed(chunk)
    except FrameError:
        pass
    payload = valid * 40  # over 1 KiB when not empty: sent zstd-compressed
    frames = FrameDecoder().feed(encode_frame(payload, Codec.ZSTD))
    assert [f.payload for f in frames] == [payload]


def test_requests_beyond_the_stream_limit_open_more_connections() -> None:
    """A server allowing 2 concurrent streams: 10 concurrent calls all succeed, on ≥ 5 connections."""
    body = json.dumps({"tail": {"seq_num": 7, "timestamp": 0}}).encode()
    with EvilServer(max_concurrent_streams=2, delay=0.2) as server:
        server.answer = Answer(200, [("content-type", "application/json")], body)

        async def call() -> list[int]:
            endpoints = Endpoints(server.endpoint, server.endpoint)
            async with S2("t", endpoints=endpoints) as s2:
                stream = s2["fuzz-basin"]["s"]
                tails = await asyncio.gather(*(stream.check_tail() for _ in range(10)))
            return [t.seq_num for t in tails]

        assert asyncio.run(call()) == [7] * 10
        assert server.connections >= 5


def test_an_append_that_may_have_applied_is_reported_indefinite() -> None:
    """The first attempt times out (it may have been applied), the retry is refused with a
    429 (definitely not applied): the append's outcome is unknown, and says so."""
    limited = Answer(429, [("content-type", "application/json")], b'{"code":"rate_limited"}')
    with EvilServer() as server:
        server.script.extend([(Answer(), 3.0), (limited, 0.0)])

        async def call() -> None:
            endpoints = Endpoints(server.endpoint, server.endpoint)
            timeout = Timeout(request=timedelta(seconds=0.5))
            async with S2(
                "t", endpoints=endpoints, retry=Retry(max_attempts=2), timeout=timeout
            ) as s2:
                with pytest.raises(AppendIndefiniteFailureError) as err:
                    await s2["fuzz-basin"]["s"].append(AppendInput([Record(b"x")]))
                final = err.value.final_attempt_error
                assert isinstance(final, S2ServerError) and final.code == "rate_limited"

        asyncio.run(call())
        assert len(server.requests) == 2


@pytest.mark.parametrize(
    "answer",
    [
        Answer(500, [("content-type", "application/json")], b'{"code":', endless=True),
        Answer(200, [("content-type", "s2s/proto")], endless=True),
    ],
    ids=["an error body that never ends", "a response that never acknowledges"],
)
def test_an_append_session_against_a_silent_server_fails_in_time(answer: Answer) -> None:
    with EvilServer() as server:
        server.answer = answer

        async def call() -> None:
            endpoints = Endpoints(server.endpoint, server.endpoint)
            timeout = Timeout(request=timedelta(seconds=0.5))
            retry = Retry(max_attempts=2, min_base_delay=timedelta(0))
            async with S2("t", endpoints=endpoints, retry=retry, timeout=timeout) as s2:
                session = s2["fuzz-basin"]["s"].append_session()
                ticket = await session.submit(AppendInput([Record(b"x")]))
                async with asyncio.timeout(5):
                    with pytest.raises(S2Error):
                        await ticket
                    with pytest.raises(S2Error):
                        await session.close()

        asyncio.run(call())


@pytest.mark.parametrize("limit", [ReadLimit(count=3), ReadLimit(bytes=3 * (8 + 1))])
def test_a_read_session_that_got_its_whole_limit_ends_even_if_cut(limit: ReadLimit) -> None:
    """The connection breaks right after the last record the limit allows: the session ends
    with what it has, instead of asking again for zero records (which may mean "no limit")."""
    batch = pb.ReadBatch(records=[pb.SequencedRecord(seq_num=i, body=b"x") for i in range(3)])
    body = encode_frame(batch.SerializeToString())
    with EvilServer() as server:
        server.answer = Answer(200, [("content-type", "s2s/proto")], body, reset=True)

        async def call() -> list[int]:
            endpoints = Endpoints(server.endpoint, server.endpoint)
            async with S2("t", endpoints=endpoints, retry=Retry(max_attempts=3)) as s2:
                seqs = []
                session = s2["fuzz-basin"]["s"].read_session(start=SeqNum(0), limit=limit)
                async for got in session:
                    seqs += [r.seq_num for r in got.records]
                return seqs

        assert asyncio.run(call()) == [0, 1, 2]
        assert len(server.requests) == 1


def test_a_read_session_trickled_a_partial_frame_times_out(monkeypatch: pytest.MonkeyPatch) -> None:
    """A server that sends a frame a byte at a time never completes one: the heartbeat
    deadline counts whole frames, so the session gives up instead of waiting forever."""
    monkeypatch.setattr("s2_sdk._read_session.HEARTBEAT_TIMEOUT", 1.0)
    frame = encode_frame(
        pb.ReadBatch(records=[pb.SequencedRecord(body=b"x" * 64)]).SerializeToString()
    )
    with EvilServer() as server:
        server.answer = Answer(200, [("content-type", "s2s/proto")], frame, trickle=0.1)

        async def call() -> None:
            endpoints = Endpoints(server.endpoint, server.endpoint)
            async with S2("t", endpoints=endpoints, retry=Retry(max_attempts=1)) as s2:
                session = s2["fuzz-basin"]["s"].read_session(start=SeqNum(0))
                with pytest.raises(S2ClientError) as err:
                    async with asyncio.timeout(10):
                        async for _ in session:
                            pass
                assert "heartbeat" in str(err.value)

        started = time.monotonic()
        asyncio.run(call())
        assert time.monotonic() - started < 5  # the frame would take 7 s to trickle in full


def test_a_connection_that_timed_out_takes_no_more_requests() -> None:
    """The first request outlives its timeout on a wedged connection: later calls go to a
    new connection instead of queueing behind it."""
    tail = Answer(
        200, [("content-type", "application/json")], b'{"tail": {"seq_num": 7, "timestamp": 0}}'
    )
    with EvilServer() as server:
        server.script.append((tail, 5.0))  # the first request is answered too late
        server.answer = tail

        async def call() -> int:
            endpoints = Endpoints(server.endpoint, server.endpoint)
            timeout = Timeout(request=timedelta(seconds=0.5))
            async with S2(
                "t", endpoints=endpoints, retry=Retry(max_attempts=2), timeout=timeout
            ) as s2:
                position = await s2["fuzz-basin"]["s"].check_tail()
                return position.seq_num

        assert asyncio.run(call()) == 7
        assert server.connections == 2


def test_a_body_that_never_ends_fails_the_call_without_hoarding_memory() -> None:
    """A server answering a check_tail with 200 and zeros for ever, three attempts: the call
    fails in time, and the client's peak memory grows by less than 64 MiB over all of them
    (each attempt stops at the unary cap and lets go of what it read)."""
    program = textwrap.dedent(
        """
        import asyncio, sys, time
        from datetime import timedelta
        from s2_sdk import S2, Endpoints, Retry, S2Error, Timeout

        def status(key):
            for line in open("/proc/self/status"):
                if line.startswith(key):
                    return int(line.split()[1]) / 1024

        async def call(endpoint):
            endpoints = Endpoints(endpoint, endpoint)
            retry = Retry(max_attempts=3, min_base_delay=timedelta(milliseconds=10))
            timeout = Timeout(request=timedelta(seconds=20))
            async with S2("t", endpoints=endpoints, retry=retry, timeout=timeout) as s2:
                try:
                    await s2["flood-basin"]["s"].check_tail()
                except S2Error as e:
                    return type(e).__name__
            return "no error"

        before = status("VmRSS")
        started = time.monotonic()
        outcome = asyncio.run(call(sys.argv[1]))
        print(outcome, f"{time.monotonic() - started:.1f}", f"{status('VmHWM') - before:.0f}")
        """
    )
    with EvilServer() as server:
        server.answer = Answer(200, [("content-type", "application/json")], flood=True)
        done = subprocess.run(
            [sys.executable, "-c", program, server.endpoint],
            capture_output=True, text=True, timeout=120,
        )  # fmt: skip
    assert done.returncode == 0, done.stderr
    outcome, seconds, grown = done.stdout.split()
    assert outcome != "no error", done.stdout
    assert float(seconds) < 30, done.stdout
    assert float(grown) < 64, done.stdout  # MiB, over all three attempts
    assert len(server.requests) == 3
