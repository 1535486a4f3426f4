"""The core's public helpers that the plugins build on: one error vocabulary, one retry
rule, one metered size, one batch splitter, a non-blocking submit and per-process state."""

from __future__ import annotations

import asyncio
import os
import random
import time
from collections.abc import AsyncIterator

import pytest
from s2_local.pytest_plugin import S2TestServer
from s2_sdk import (
    S2,
    AppendInput,
    BasinMetricSet,
    Batching,
    ConnectError,
    Endpoints,
    Record,
    S2ClientError,
    S2ServerError,
    SeqNum,
    append_record_batches,
    is_retryable,
    metered_bytes,
)
from s2_sdk import sync as blocking
from s2_sdk._validate import record_size
from s2_sdk.protocol import MAX_RECORD_METERED_BYTES, ErrorCode, metered_size
from support.rest import unique_basin


def random_records(rng: random.Random, n: int) -> list[Record]:
    """Records of every shape: empty bodies and header values, many headers, repeats."""
    records = []
    for _ in range(n):
        headers = [
            (rng.randbytes(rng.choice((1, 7, 40))), rng.randbytes(rng.choice((0, 3, 100))))
            for _ in range(rng.choice((0, 0, 1, 2, 9)))
        ]
        if headers and rng.random() < 0.3:
            headers.append(headers[0])
        records.append(Record(rng.randbytes(rng.choice((0, 1, 50, 3000))), headers))
    return records


def test_metered_size_is_the_one_rule() -> None:
    rng = random.Random(7)
    records = random_records(rng, 500)
    for r in records:
        expected = 8 + len(r.body) + sum(2 + len(n) + len(v) for n, v in r.headers)
        assert metered_size(r.headers, r.body) == expected
        assert record_size(r) == expected  # the producer's inlined copy (a hot loop)
    assert metered_bytes(records) == sum(metered_size(r.headers, r.body) for r in records)


async def test_the_server_meters_as_the_client_does(s2: S2) -> None:
    """s2-local's single-pass append meters records inline (its hot loop): the bytes it
    accounts for a basin equal what the client's function says."""
    name = unique_basin()
    await s2.create_basin(name)
    stream = s2[name]["metered"]
    await s2[name].create_stream("metered")
    records = random_records(random.Random(11), 400)
    for i in range(0, len(records), 100):
        await stream.append(AppendInput(records[i : i + 100]))
    metrics = await s2.basin_metrics(name, set=BasinMetricSet.APPEND_THROUGHPUT)
    accounted = sum(value for m in metrics for _, value in getattr(m, "values", []))
    assert accounted == metered_bytes(records)


def test_error_codes_carry_their_rules() -> None:
    assert ErrorCode("stream_not_found") is ErrorCode.STREAM_NOT_FOUND
    assert ErrorCode.STREAM_NOT_FOUND == "stream_not_found"  # compares with plain codes
    assert ErrorCode.STREAM_NOT_FOUND.status == 404
    assert ErrorCode.TRANSACTION_CONFLICT.retryable and ErrorCode.RATE_LIMITED.side_effect_free
    assert not ErrorCode.INVALID.retryable and ErrorCode.INVALID.status == 422
    assert not ErrorCode.STORAGE.side_effect_free and ErrorCode.STORAGE.retryable


async def test_server_answers_each_code_with_its_status(s2: S2) -> None:
    name = unique_basin()
    await s2.create_basin(name)
    seen = []
    for call in (
        s2[name].get_stream_config("missing"),
        s2.create_basin(name),
        s2[name]["missing"].append(AppendInput([Record(b"x")])),
    ):
        with pytest.raises(S2ServerError) as raised:
            await call
        seen.append(raised.value)
    assert [e.code for e in seen] == [
        ErrorCode.STREAM_NOT_FOUND,
        ErrorCode.RESOURCE_ALREADY_EXISTS,
        ErrorCode.STREAM_NOT_FOUND,
    ]
    for e in seen:
        assert e.status_code == ErrorCode(e.code).status


def test_retry_rule_tells_transport_failures_from_bad_input() -> None:
    refused = S2ClientError("ConnectError: refused")
    refused.__cause__ = ConnectError("refused")
    assert is_retryable(refused)
    assert not is_retryable(S2ClientError("basin name must be 8-48 characters"))
    assert is_retryable(S2ServerError("transaction_conflict", "again", 409))
    assert not is_retryable(S2ServerError("resource_already_exists", "exists", 409))
    assert is_retryable(S2ServerError("unavailable", "down", 503))
    assert not is_retryable(S2ServerError("invalid", "no", 422))


async def test_blocking_batch_splitter_agrees_with_the_async_one() -> None:
    rng = random.Random(3)
    records = [*random_records(rng, 700), Record(b"x" * (MAX_RECORD_METERED_BYTES - 8))]
    for batching in (Batching(), Batching(max_records=7), Batching(max_bytes=5000)):

        async def source() -> AsyncIterator[Record]:
            for r in records:
                yield r

        async_batches = [b async for b in append_record_batches(source(), batching=batching)]
        blocking_batches = list(blocking.append_record_batches(records, batching=batching))
        assert blocking_batches == async_batches
        assert [r for b in blocking_batches for r in b] == records
        for batch in blocking_batches:
            assert len(batch) <= batching.max_records
            assert metered_bytes(batch) <= batching.max_bytes or len(batch) == 1


def test_submit_runs_async_work_without_blocking(s2_server: S2TestServer) -> None:
    endpoints = Endpoints(s2_server.account_endpoint, s2_server.basin_endpoint)
    with blocking.S2("t", endpoints=endpoints) as client:
        name = unique_basin()
        client.create_basin(name)

        async def create_and_append(s2: S2) -> int:
            await s2[name].create_stream("submitted")
            await asyncio.sleep(0.2)
            ack = await s2[name]["submitted"].append(AppendInput([Record(b"hi")]))
            return ack.start.seq_num

        started = time.monotonic()
        future = client.submit(create_and_append)
        assert time.monotonic() - started < 0.15  # it did not wait for the work
        assert future.result(10) == 0
        batch = client[name]["submitted"].read(start=SeqNum(0))
        assert [r.body for r in batch.records] == [b"hi"]


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")
def test_per_process_value_is_made_anew_in_a_forked_child() -> None:
    made: list[int] = []

    def factory() -> list[int]:
        made.append(os.getpid())
        return [os.getpid()]

    holder = blocking.PerProcess(factory)
    assert holder.peek() is None
    parents = holder.get()
    assert holder.get() is parents and made == [os.getpid()]
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: report what it sees, then leave at once
        try:
            before = holder.peek()
            mine = holder.get()
            ok = before is None and mine is not parents and mine == [os.getpid()]
            os.write(write, b"ok" if ok else b"bad")
        finally:
            os._exit(0)
    os.close(write)
    assert os.read(read, 8) == b"ok"
    os.waitpid(pid, 0)
    assert holder.get() is parents and made == [os.getpid()]


def test_background_thread_is_known() -> None:
    assert not blocking.on_background_thread()

    async def where() -> bool:
        return blocking.on_background_thread()

    assert blocking.background().run(where(), timeout=5)
