"""Append sessions, the Producer, read sessions and batching helpers against s2-local."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from datetime import timedelta
from urllib.parse import urlsplit

import pytest
from faults.proxy import Proxy
from s2_local.pytest_plugin import S2TestServer
from s2_sdk import (
    S2,
    AppendInput,
    Batching,
    CommandRecord,
    Endpoints,
    FencingTokenMismatchError,
    ReadLimit,
    Record,
    RecordSubmitTicket,
    Retry,
    S2Basin,
    S2ClientError,
    S2ServerError,
    S2Stream,
    SeqNum,
    SeqNumMismatchError,
    TailOffset,
    append_inputs,
    append_record_batches,
    metered_bytes,
)


def _records(n: int, prefix: str = "r") -> list[Record]:
    return [Record(body=f"{prefix}{i}".encode()) for i in range(n)]


async def _all_bodies(stream: S2Stream) -> list[bytes]:
    tail = (await stream.check_tail()).seq_num
    out: list[bytes] = []
    async for batch in stream.read_session(start=SeqNum(0), limit=ReadLimit(count=tail)):
        out += [r.body for r in batch.records]
    return out


async def test_pipelined_session_acks_in_submission_order(stream: S2Stream) -> None:
    async with stream.append_session() as session:
        tickets = [await session.submit(AppendInput(_records(i + 1, f"b{i}-"))) for i in range(50)]
        acks = [await t for t in tickets]
    assert [a.start.seq_num for a in acks] == [sum(range(1, i + 1)) for i in range(50)]
    assert all(a.end.seq_num - a.start.seq_num == i + 1 for i, a in enumerate(acks))
    bodies = await _all_bodies(stream)
    assert bodies == [f"b{i}-{j}".encode() for i in range(50) for j in range(i + 1)]


async def test_concurrent_submitters_keep_per_submitter_order(stream: S2Stream) -> None:
    async with stream.append_session() as session:

        async def writer(name: str) -> list[int]:
            acks = []
            for i in range(20):
                ticket = await session.submit(AppendInput([Record(body=f"{name}{i}".encode())]))
                acks.append(ticket)
            return [(await t).start.seq_num for t in acks]

        results = await asyncio.gather(*(writer(n) for n in "abcd"))
    for seqs in results:
        assert seqs == sorted(seqs)
    assert sorted(s for seqs in results for s in seqs) == list(range(80))


async def test_producer_appends_in_the_order_submit_was_called(stream: S2Stream) -> None:
    """Records of concurrent tasks keep the order of their submit calls, also when a
    record does not fit the open batch (which then goes first, while the record waits)."""
    sizes = [(i * 7919) % 300 + 1 for i in range(200)]
    batching = Batching(max_bytes=1000, linger=timedelta(0))
    async with stream.producer(batching=batching) as producer:

        async def submit(i: int) -> RecordSubmitTicket:
            return await producer.submit(Record(body=str(i).encode().ljust(sizes[i], b".")))

        tickets = await asyncio.gather(*(submit(i) for i in range(200)))  # in this order
    assert [(await t).seq_num for t in tickets] == list(range(200))
    bodies = await _all_bodies(stream)
    assert [int(b.rstrip(b".")) for b in bodies] == list(range(200))


async def test_backpressure_bounds_unacked_batches(stream: S2Stream) -> None:
    async with stream.append_session(max_unacked_batches=2) as session:
        peak = 0
        tickets = []
        for _ in range(30):
            tickets.append(await session.submit(AppendInput([Record(body=b"x" * 100)])))
            peak = max(peak, session._budget.batches)
            assert session._budget.batches <= 2
        await asyncio.gather(*tickets)
    assert peak >= 1 and (await stream.check_tail()).seq_num == 30


async def test_session_condition_failures_are_not_retried(stream: S2Stream) -> None:
    session = stream.append_session()
    first = await session.submit(AppendInput([Record(body=b"a")], match_seq_num=0))
    bad = await session.submit(AppendInput([Record(body=b"b")], match_seq_num=7))
    assert (await first).end.seq_num == 1
    with pytest.raises(SeqNumMismatchError) as err:
        await bad
    assert err.value.expected_seq_num == 1
    with pytest.raises(SeqNumMismatchError):
        await session.submit(AppendInput([Record(body=b"c")]))
    with pytest.raises(SeqNumMismatchError):
        await session.close()
    await stream.append(AppendInput([CommandRecord.fence("t1")]))
    fenced = stream.append_session()
    ticket = await fenced.submit(AppendInput([Record(body=b"x")], fencing_token="t0"))
    with pytest.raises(FencingTokenMismatchError):
        await ticket
    with pytest.raises(FencingTokenMismatchError):
        await fenced.close()


async def test_session_on_missing_stream_fails(basin: S2Basin) -> None:
    session = basin.stream("missing").append_session()
    ticket = await session.submit(AppendInput([Record(body=b"x")]))
    with pytest.raises(S2ServerError) as err:
        await ticket
    assert (err.value.status_code, err.value.code) == (404, "stream_not_found")


async def test_producer_indexed_acks_flush_and_close(stream: S2Stream) -> None:
    producer = stream.producer(batching=Batching(max_records=100, linger=timedelta(milliseconds=2)))
    tickets = [await producer.submit(r) for r in _records(1050)]
    await producer.flush()
    assert all(t.done() for t in tickets)
    acks = [await t for t in tickets]
    assert [a.seq_num for a in acks] == list(range(1050))
    assert acks[0].batch == acks[99].batch and acks[100].batch != acks[0].batch
    assert acks[1049].batch.end.seq_num == 1050
    await producer.close()
    with pytest.raises(Exception, match="closed"):
        await producer.submit(Record(body=b"late"))
    assert await _all_bodies(stream) == [r.body for r in _records(1050)]


async def test_producer_flush_racing_the_linger_timer_sends_no_empty_batch(
    stream: S2Stream,
) -> None:
    # The linger timer fires and a flush that was scheduled just before it runs first: the batch
    # the timer closed must go exactly once, in order, and no empty batch may follow it.
    loop = asyncio.get_running_loop()
    producer = stream.producer(
        match_seq_num=0, batching=Batching(linger=timedelta(milliseconds=50))
    )
    first = await producer.submit(Record(body=b"a"))
    flushed: list[asyncio.Task[None]] = []
    loop.call_later(0.04, lambda: flushed.append(asyncio.ensure_future(producer.flush())))
    time.sleep(0.1)  # both deadlines pass while the loop is blocked: they run in one iteration
    await asyncio.sleep(0.01)
    await asyncio.gather(*flushed)
    second = await producer.submit(Record(body=b"b"))
    await producer.close()
    assert [(await first).seq_num, (await second).seq_num] == [0, 1]
    assert await _all_bodies(stream) == [b"a", b"b"]


async def test_producer_refuses_a_str_record_and_keeps_going(stream: S2Stream) -> None:
    async with stream.producer() as producer:
        with pytest.raises(S2ClientError, match="must be bytes"):
            await producer.submit(Record(body="text"))  # type: ignore[arg-type]
        with pytest.raises(S2ClientError, match="must be bytes"):
            await producer.submit(Record(body=b"", headers=[(b"k", "v")]))  # type: ignore[list-item]
        ack = await (await producer.submit(Record(body=b"fine")))
    assert ack.seq_num == 0
    assert await _all_bodies(stream) == [b"fine"]


async def test_producer_match_seq_num_advances_and_fencing(stream: S2Stream) -> None:
    await stream.append(AppendInput([CommandRecord.fence("me")]))
    async with stream.producer(
        fencing_token="me", match_seq_num=1, batching=Batching(max_records=10)
    ) as producer:
        tickets = [await producer.submit(r) for r in _records(35)]
    assert [(await t).seq_num for t in tickets] == list(range(1, 36))
    producer = stream.producer(match_seq_num=0)
    ticket = await producer.submit(Record(body=b"dup"))
    with pytest.raises(SeqNumMismatchError):
        await ticket
    with pytest.raises(SeqNumMismatchError):
        await producer.close()


async def test_producer_batches_by_bytes_without_overflow(stream: S2Stream) -> None:
    big = Record(body=b"x" * 400_000)
    async with stream.producer() as producer:
        tickets = [await producer.submit(big) for _ in range(5)]
    batches = {(await t).batch.start.seq_num for t in tickets}
    assert len(batches) == 3


async def test_read_session_reads_existing_then_tails_live(stream: S2Stream) -> None:
    await stream.append(AppendInput(_records(5, "old")))
    got: list[bytes] = []
    session = stream.read_session(start=SeqNum(0))
    tail = await session.caught_up() if False else None
    assert tail is None

    async def consume() -> None:
        async for batch in session:
            got.extend(r.body for r in batch.records)
            if len(got) >= 8:
                return

    reader = asyncio.create_task(consume())
    await asyncio.sleep(0.3)
    await stream.append(AppendInput(_records(3, "new")))
    await asyncio.wait_for(reader, 10)
    await session.close()
    assert got == [r.body for r in _records(5, "old") + _records(3, "new")]


async def test_caught_up_signals_after_delivery(stream: S2Stream) -> None:
    await stream.append(AppendInput(_records(3)))
    session = stream.read_session(start=SeqNum(0))
    waiter = asyncio.create_task(session.caught_up())
    await asyncio.sleep(0.2)
    assert not waiter.done() and not session.is_caught_up()
    batch = await anext(session)
    assert len(batch.records) == 3
    tail = await asyncio.wait_for(waiter, 5)
    assert tail.seq_num == 3 and session.is_caught_up()
    await stream.append(AppendInput(_records(1)))
    await anext(session)
    assert session.is_caught_up()
    await session.close()
    ended = stream.read_session(start=SeqNum(0), limit=ReadLimit(count=1))
    assert len([b async for b in ended]) == 1
    with pytest.raises(Exception, match="before catching up"):
        await ended.caught_up()


async def test_read_session_bounded_and_filtered(stream: S2Stream) -> None:
    await stream.append(AppendInput([*_records(3), CommandRecord.fence("x"), *_records(2)]))
    seqs = [
        r.seq_num
        async for b in stream.read_session(
            start=SeqNum(0), limit=ReadLimit(count=6), ignore_command_records=True
        )
        for r in b.records
    ]
    assert seqs == [0, 1, 2, 4, 5]
    tail_batches = [
        b async for b in stream.read_session(start=TailOffset(2), limit=ReadLimit(count=2))
    ]
    assert [r.seq_num for b in tail_batches for r in b.records] == [4, 5]


async def test_read_session_resumes_after_dropped_connection(
    s2_server: S2TestServer, basin: S2Basin
) -> None:
    await basin.create_stream("resume")
    origin = urlsplit(s2_server.basin_endpoint)
    with Proxy(origin.hostname or "127.0.0.1", origin.port or 80) as proxy:
        endpoints = Endpoints(proxy.endpoint, proxy.endpoint)
        async with S2("t", endpoints=endpoints, retry=Retry(max_attempts=5)) as client:
            stream = client[basin.name]["resume"]
            writer = basin.stream("resume")
            seen: list[int] = []
            session = stream.read_session(start=SeqNum(0))

            async def feed() -> None:
                for i in range(6):
                    await writer.append(AppendInput(_records(10, f"w{i}-")))
                    await asyncio.sleep(0.15)
                    if i in (1, 3):
                        proxy.drop()

            feeder = asyncio.create_task(feed())
            async for batch in session:
                seen += [r.seq_num for r in batch.records]
                if len(seen) >= 60:
                    break
            await feeder
            await session.close()
    assert seen == list(range(60))
    assert proxy.connections >= 3


async def test_append_session_retries_through_a_dropped_connection(
    s2_server: S2TestServer, basin: S2Basin
) -> None:
    await basin.create_stream("retry")
    origin = urlsplit(s2_server.basin_endpoint)
    with Proxy(origin.hostname or "127.0.0.1", origin.port or 80) as proxy:
        endpoints = Endpoints(proxy.endpoint, proxy.endpoint)
        async with S2("t", endpoints=endpoints, retry=Retry(max_attempts=5)) as client:
            stream = client[basin.name]["retry"]
            async with stream.producer(match_seq_num=0, batching=Batching(max_records=5)) as p:
                tickets = []
                for i in range(100):
                    tickets.append(await p.submit(Record(body=f"{i}".encode())))
                    if i in (30, 70):
                        await asyncio.sleep(0.05)
                        proxy.drop()
            acks = [await t for t in tickets]
    assert [a.seq_num for a in acks] == list(range(100))
    assert await _all_bodies(basin.stream("retry")) == [f"{i}".encode() for i in range(100)]


async def test_batching_helpers() -> None:
    async def source() -> AsyncIterator[Record]:
        for r in _records(7):
            yield r
        await asyncio.sleep(0.05)
        for r in _records(2, "late"):
            yield r

    batches = [b async for b in append_record_batches(source(), batching=Batching(max_records=3))]
    assert [len(b) for b in batches] == [3, 3, 1, 2]
    inputs = [
        i async for i in append_inputs(source(), match_seq_num=10, batching=Batching(max_records=4))
    ]
    assert [(i.match_seq_num, len(i.records)) for i in inputs] == [(10, 4), (14, 3), (17, 2)]


async def test_closing_the_client_stops_its_sessions(s2: S2, stream: S2Stream) -> None:
    """S2.close() with sessions open: a reader waiting for records and an append session
    get an S2ClientError at once, instead of hanging on a closed client."""
    await stream.append(AppendInput(_records(2)))
    reader = stream.read_session(start=SeqNum(0))
    assert len((await anext(reader)).records) == 2
    waiting = asyncio.create_task(anext(reader))  # live: nothing more is coming
    await stream._basin.create_stream("other")
    session = stream._basin["other"].append_session()
    await (await session.submit(AppendInput(_records(1))))
    await asyncio.sleep(0.1)
    async with asyncio.timeout(5):
        await s2.close()
        with pytest.raises(S2ClientError, match="closed"):
            await waiting
        with pytest.raises(S2ClientError):
            await session.submit(AppendInput(_records(1)))


async def test_a_response_past_the_size_limit_fails_the_request(s2: S2, basin: S2Basin) -> None:
    await basin.create_stream("big-enough")
    s2._account.max_response_bytes = 64  # the listing is larger than that
    with pytest.raises(S2ClientError) as err:
        await s2.list_basins()
    assert "larger than 64 bytes" in str(err.value)


async def test_producer_tickets_are_futures_and_survive_their_waiters(stream: S2Stream) -> None:
    """Tickets gather without wrapping, every way of reading them gives the record's
    IndexedAppendAck, and cancelling a waiter (so the ticket) never cancels the append."""
    async with stream.producer() as producer:
        tickets = [await producer.submit(Record(b"%d" % i)) for i in range(5)]
        assert all(asyncio.isfuture(t) for t in tickets)
        acks = await asyncio.gather(*tickets)
        assert [a.seq_num for a in acks] == [0, 1, 2, 3, 4]
        assert acks[0].batch.end.seq_num == 5
        assert (await tickets[2]).seq_num == 2 and tickets[3].result().seq_num == 3
        seen: list[int] = []
        tickets[4].add_done_callback(lambda t: seen.append(t.result().seq_num))
        await asyncio.sleep(0)
        assert seen == [4] and (await asyncio.shield(tickets[1])).seq_num == 1
        ticket = await producer.submit(Record(b"cancelled waiter"))
        waiter = asyncio.ensure_future(asyncio.wait_for(ticket, 5))
        await asyncio.sleep(0)
        waiter.cancel()
        await producer.flush()
    assert ticket.cancelled()
    batch = await stream.read(start=SeqNum(5))
    assert [r.body for r in batch.records] == [b"cancelled waiter"]


@pytest.mark.parametrize("layout", ["plain", "headers", "plain then headers", "headers then plain"])
async def test_batches_with_and_without_headers_read_back_exactly(
    stream: S2Stream, layout: str
) -> None:
    """Records without headers are decoded on a fast path; a batch that mixes records
    with and without headers (and command records) comes back exactly, by every read."""
    plain = [Record(b"p%d" % i) for i in range(3)]
    headed = [Record(b"h%d" % i, headers=[(b"k", b"%d" % i)]) for i in range(3)]
    records = {
        "plain": plain,
        "headers": headed,
        "plain then headers": [*plain, *headed],
        "headers then plain": [*headed, *plain],
    }[layout]
    await stream.append(AppendInput([*records, CommandRecord.trim(0)]))
    expected = [(r.body, r.headers) for r in records]
    unary = await stream.read(start=SeqNum(0))
    assert [(r.body, r.headers) for r in unary.records][:-1] == expected
    assert unary.records[-1].is_command_record()
    filtered = await stream.read(start=SeqNum(0), ignore_command_records=True)
    assert [(r.body, r.headers) for r in filtered.records] == expected
    size = metered_bytes(records)
    got = []
    async for batch in stream.read_session(start=SeqNum(0), limit=ReadLimit(bytes=size)):
        got += [(r.body, r.headers) for r in batch.records]
    assert got == expected  # the byte limit is met exactly before the command record
