"""Riding through a drain of s2-local: no attempt used, no gap, no duplicate.

Every client here has ``Retry(max_attempts=1)``: a drain that cost an attempt would
fail the call, the session or the producer.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
from s2_local.server import Server
from s2_sdk import S2, AppendInput, Endpoints, Record, Retry, S2Stream, SeqNum
from s2_sdk._duplex import DuplexConnection
from s2_sdk._proto import append_input_bytes, parse
from s2_sdk.protocol import FrameDecoder, encode_frame, pb

ONE_ATTEMPT = Retry(max_attempts=1, min_base_delay=timedelta(0), max_base_delay=timedelta(0))


@pytest.fixture
def server() -> AsyncIterator[Server]:
    with Server() as server:
        yield server


@pytest.fixture
async def stream(server: Server) -> AsyncIterator[S2Stream]:
    endpoints = Endpoints(server.endpoint, server.endpoint)
    async with S2("t", endpoints=endpoints, retry=ONE_ATTEMPT) as s2:
        await s2.create_basin("drain-basin")
        await s2["drain-basin"].create_stream("s")
        yield s2["drain-basin"]["s"]


async def _drain(server: Server) -> None:
    await asyncio.to_thread(server.drain)


async def _bodies(stream: S2Stream) -> list[bytes]:
    out: list[bytes] = []
    tail = (await stream.check_tail()).seq_num
    while len(out) < tail:
        batch = await stream.read(start=SeqNum(len(out)))
        out.extend(r.body for r in batch.records)
    return out


async def test_unary_calls_ride_through_a_drain(server: Server, stream: S2Stream) -> None:
    await stream.append(AppendInput([Record(b"before")]))
    await _drain(server)  # the pooled connection now answers 503 server_draining
    await stream.append(AppendInput([Record(b"after")]))
    assert (await stream.check_tail()).seq_num == 2
    assert await _bodies(stream) == [b"before", b"after"]


async def test_an_append_session_rides_through_drains(server: Server, stream: S2Stream) -> None:
    n = 300
    async with stream.append_session() as session:
        tickets = []
        for i in range(n):
            tickets.append(await session.submit(AppendInput([Record(b"%d" % i)])))
            if i in (50, 150):
                await _drain(server)  # in flight: advised, then cut after the grace
            if i % 10 == 0:
                await asyncio.sleep(0.01)
        acks = [await t for t in tickets]
    assert [a.start.seq_num for a in acks] == list(range(n))
    assert await _bodies(stream) == [b"%d" % i for i in range(n)]


async def test_an_idle_append_session_is_told_to_reconnect(
    server: Server, stream: S2Stream
) -> None:
    async with stream.append_session() as session:
        await (await session.submit(AppendInput([Record(b"a")])))
        await _drain(server)  # nothing in flight: it ends with a terminal server_draining
        await asyncio.sleep(0.2)
        ack = await (await session.submit(AppendInput([Record(b"b")])))
    assert ack.start.seq_num == 1
    assert await _bodies(stream) == [b"a", b"b"]


async def test_a_producer_rides_through_a_drain(server: Server, stream: S2Stream) -> None:
    async with stream.producer() as producer:
        tickets = [await producer.submit(Record(b"%d" % i)) for i in range(100)]
        drain = asyncio.create_task(_drain(server))
        tickets += [await producer.submit(Record(b"%d" % i)) for i in range(100, 200)]
        await drain
        tickets += [await producer.submit(Record(b"%d" % i)) for i in range(200, 300)]
    assert [(await t).seq_num for t in tickets] == list(range(300))
    assert await _bodies(stream) == [b"%d" % i for i in range(300)]


async def test_a_read_session_rides_through_a_drain(server: Server, stream: S2Stream) -> None:
    await stream.append(AppendInput([Record(b"%d" % i) for i in range(10)]))
    got: list[bytes] = []
    async with stream.read_session(start=SeqNum(0)) as session:

        async def consume() -> None:
            async for batch in session:
                got.extend(r.body for r in batch.records)
                if len(got) >= 30:
                    return

        reader = asyncio.create_task(consume())
        await asyncio.wait_for(session.caught_up(), 10)
        await stream.append(AppendInput([Record(b"%d" % i) for i in range(10, 20)]))
        await _drain(server)  # live: a heartbeat carries the advice, the session reconnects
        await stream.append(AppendInput([Record(b"%d" % i) for i in range(20, 30)]))
        await asyncio.wait_for(reader, 10)
    assert got == [b"%d" % i for i in range(30)]


async def test_a_body_refused_after_goaway_leaves_the_answer_to_the_server(
    server: Server, stream: S2Stream
) -> None:
    """A drained session ends with a terminal ``server_draining`` and then GOAWAY; a batch
    sent before the receiver reads them is refused by h2. That refusal must not fail the
    attempt with an h2 error: the response decides (here: retry on another connection)."""
    http = stream._basin._http
    headers = {
        **http.headers,
        **stream._headers,
        "content-type": "s2s/proto",
        "accept": "s2s/proto",
    }
    frame = encode_frame(append_input_bytes(AppendInput([Record(b"x")])))
    conn = DuplexConnection(http.origin)
    await conn.connect(5)
    try:
        session = await conn.request("POST", stream._path, headers)
        assert (await session.response())[0] == 200
        await session.send(frame)
        await _drain(server)
        async with asyncio.timeout(10):
            while not conn.retired:  # the GOAWAY came
                await asyncio.sleep(0.01)
        await session.send(frame)  # refused: the response is complete
        frames = FrameDecoder().feed(await session.read_all())
    finally:
        await conn.close()
    assert not frames[0].terminal and parse(pb.AppendAck, frames[0].payload).start.seq_num == 0
    status, body = frames[-1].terminal_error()
    assert status == 503 and b"server_draining" in body
    assert (await stream.check_tail()).seq_num == 1
