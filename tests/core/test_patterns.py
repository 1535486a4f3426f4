"""s2_sdk.patterns against s2-local: messages of any size, in order, deduplicated, a writer
restart, a reader starting mid-message, drops reported, size limits, a Producer, exactly
once with match_seq_num."""

from __future__ import annotations

import asyncio
import itertools
import logging
import os
import tracemalloc
from datetime import timedelta

import pytest
from s2_sdk import (
    AppendInput,
    Batching,
    CommandRecord,
    ReadLimit,
    Record,
    S2Stream,
    SeqNum,
    SeqNumMismatchError,
)
from s2_sdk._proto import append_input_bytes
from s2_sdk.patterns import (
    DEDUPE_SEQ_HEADER,
    MAX_CHUNK_BODY_BYTES,
    DedupeFilter,
    DeserializingReadSession,
    FrameAssembler,
    FrameSizeError,
    SerializingAppendSession,
    chunk_bytes,
    dedupe_headers,
    frame_headers,
    frame_records,
    json_deserializer,
    json_serializer,
    parse_frame_headers,
)
from s2_sdk.protocol import MAX_RECORD_METERED_BYTES, metered_size


def _identity(payload: bytes) -> bytes:
    return payload


async def _read_all(
    stream: S2Stream, start: int = 0, **kw: object
) -> tuple[list[bytes], DeserializingReadSession[bytes]]:
    session = stream.read_session(start=SeqNum(start), wait=0)
    reader = DeserializingReadSession(session, _identity, **kw)  # type: ignore[arg-type]
    async with reader:
        return [m async for m in reader], reader


def test_a_chunk_with_every_header_fits_a_record() -> None:
    records = frame_records(chunk_bytes(b"x" * (MAX_CHUNK_BODY_BYTES * 2 + 5)))
    records[0].headers += dedupe_headers("w" * 12, 2**63)
    assert [len(r.body) for r in records] == [MAX_CHUNK_BODY_BYTES] * 2 + [5]
    assert metered_size(records[0].headers, records[0].body) == MAX_RECORD_METERED_BYTES
    assert parse_frame_headers(records[0].headers) == (MAX_CHUNK_BODY_BYTES * 2 + 5, 3)
    assert parse_frame_headers(records[1].headers) is None


@pytest.mark.parametrize("dedupe_seq", [None, 0, 2**64 - 4])
def test_the_writers_encoded_records_are_what_plain_records_encode_to(
    dedupe_seq: int | None,
) -> None:
    """The writer encodes its own records' headers (no per-record re-encoding): the bytes
    must be those of the same records as plain :class:`Record`, sizes included."""
    writer = SerializingAppendSession(None, _identity, chunk_size=5, dedupe_seq=dedupe_seq)  # type: ignore[arg-type]
    encoded = writer._built(b"0123456789ab") + writer._built(b"one")  # 3 records, then 1
    plain = [Record(r.body, list(r.headers)) for r in encoded]
    assert [len(r.headers) for r in plain] == ([2, 0, 0, 2] if dedupe_seq is None else [4, 2, 2, 4])
    assert [r.metered for r in encoded] == [metered_size(r.headers, r.body) for r in plain]
    wire = append_input_bytes(AppendInput(encoded))  # type: ignore[arg-type]
    assert wire == append_input_bytes(AppendInput(plain))
    assert writer.dedupe_seq == (None if dedupe_seq is None else dedupe_seq + 4)


async def test_messages_of_any_size_in_order(stream: S2Stream) -> None:
    sizes = [1, 1000, MAX_CHUNK_BODY_BYTES, MAX_CHUNK_BODY_BYTES + 1, 50 * 1024 * 1024, 7]
    messages = [os.urandom(64) * (size // 64) + os.urandom(size % 64) for size in sizes]
    async with SerializingAppendSession(stream.append_session(), _identity) as writer:
        ranges = [await writer.submit(m) for m in messages]
    assert [r.end - r.start for r in ranges] == [1, 1, 1, 2, 51, 1]
    assert all(a.end == b.start for a, b in itertools.pairwise(ranges))
    read, reader = await _read_all(stream)
    assert read == messages
    assert reader.last_seq_num == ranges[-1].start and reader.next_seq_num == ranges[-1].end


async def test_repeated_records_are_dropped_and_a_restarted_writer_is_new(
    stream: S2Stream,
) -> None:
    async with SerializingAppendSession(stream.append_session(), json_serializer) as first:
        await first.submit({"n": 0})
        big = await first.submit({"n": 1, "blob": "z" * 2_500_000})
    limit = ReadLimit(count=big.end - big.start)
    again = [r async for b in stream.read_session(start=SeqNum(big.start), limit=limit)
             for r in b.records]  # fmt: skip
    for r in again:  # a retry, appended again (a record a batch: each is near 1 MiB)
        await stream.append(AppendInput([Record(r.body, list(r.headers))]))
    async with SerializingAppendSession(stream.append_session(), json_serializer) as second:
        await second.submit({"n": 2})  # a new writer id, its sequence starting at 0 again
    session = stream.read_session(start=SeqNum(0), wait=0)
    async with DeserializingReadSession(session, json_deserializer) as reader:
        read = [m["n"] async for m in reader]
    assert read == [0, 1, 2] and reader.duplicates == len(again) and reader.dropped == 0
    plain = DeserializingReadSession(
        stream.read_session(start=SeqNum(0), wait=0), json_deserializer, enable_dedupe=False
    )
    async with plain:
        assert [m["n"] async for m in plain] == [0, 1, 1, 2]  # the repeat, when not deduped


async def test_a_reader_starting_mid_message_skips_to_the_next_whole_one(
    stream: S2Stream, caplog: pytest.LogCaptureFixture
) -> None:
    async with SerializingAppendSession(stream.append_session(), _identity) as writer:
        big = await writer.submit(b"b" * (MAX_CHUNK_BODY_BYTES * 2 + 1))
        small = await writer.submit(b"after")
    with caplog.at_level(logging.WARNING, logger="s2_sdk.patterns"):
        read, reader = await _read_all(stream, start=big.start + 1)
    assert read == [b"after"] and reader.last_seq_num == small.start
    assert reader.dropped == 2
    assert f"sequence numbers {big.start + 1}..{big.start + 1}" in caplog.text
    assert "not part of a message" in caplog.text


def test_incomplete_and_inconsistent_frames_are_dropped_and_counted(
    caplog: pytest.LogCaptureFixture,
) -> None:
    assembler = FrameAssembler()
    first, _ = frame_records([b"ab", b"cd"])
    with caplog.at_level(logging.WARNING, logger="s2_sdk.patterns"):
        assert assembler.push(first.headers, first.body, 10) is None
        restarted = frame_records([b"whole"])[0]  # a new message before "cd" came
        done = assembler.push(restarted.headers, restarted.body, 11)
        assert done is not None and done.payload == b"whole" and done.first_seq_num == 11
        liar = Record(b"abc", [(b"_frame_records", (1).to_bytes(8, "big")),
                               (b"_frame_bytes", (2).to_bytes(8, "big"))])  # fmt: skip
        assert assembler.push(liar.headers, liar.body, 12) is None
    assert assembler.dropped == 2
    assert "sequence numbers 10..10" in caplog.text and "12..12" in caplog.text
    with pytest.raises(FrameSizeError):
        FrameAssembler(max_frame_bytes=4).push(restarted.headers, restarted.body, 13)


def test_the_dedupe_filter_follows_one_writer_at_a_time() -> None:
    seen = DedupeFilter()
    verdicts = [
        seen.accepts(dedupe_headers(writer, seq))
        for writer, seq in [("a", 0), ("a", 1), ("a", 1), ("a", 0), ("b", 0), ("b", 1), ("a", 5)]
    ]
    assert verdicts == [True, True, False, False, True, True, True]
    assert seen.accepts([]) and seen.accepts([(b"other", b"x")])


async def test_sizes_are_refused_on_both_sides(stream: S2Stream) -> None:
    async with SerializingAppendSession(
        stream.append_session(), _identity, max_frame_bytes=10
    ) as writer:
        with pytest.raises(FrameSizeError, match="over max_frame_bytes"):
            await writer.submit(b"x" * 11)
        await writer.submit(b"x" * 10)
    with pytest.raises(FrameSizeError, match="raise max_frame_bytes"):
        await _read_all(stream, max_frame_bytes=9)


async def test_over_a_producer_messages_share_batches(stream: S2Stream) -> None:
    batching = Batching(max_records=100)
    async with stream.producer(batching=batching) as producer:
        writer = SerializingAppendSession(producer, json_serializer)
        ranges = await asyncio.gather(*(writer.submit({"i": i}) for i in range(200)))
    assert sorted(r.start for r in ranges) == list(range(200))
    session = stream.read_session(start=SeqNum(0), wait=0)
    async with DeserializingReadSession(session, json_deserializer) as reader:
        read = [m["i"] async for m in reader]
    assert sorted(read) == list(range(200))
    assert [read.index(i) for i in range(200)] == [r.start for r in ranges]


async def test_concurrent_submits_keep_each_message_whole(stream: S2Stream) -> None:
    blobs = [bytes([i]) * (MAX_CHUNK_BODY_BYTES + 10) for i in range(6)]
    async with SerializingAppendSession(stream.append_session(), _identity) as writer:
        await asyncio.gather(*(writer.submit(b) for b in blobs))
    read, reader = await _read_all(stream)
    assert sorted(read) == sorted(blobs) and reader.dropped == 0


async def test_over_a_producer_concurrent_messages_of_one_and_many_records(
    stream: S2Stream,
) -> None:
    """One-record messages skip the writer's lock when no message is part-way through (a
    Producer places a record as submit is called); mixed with messages of many records,
    from many tasks, through batches that overflow, nothing may be taken for a repeat."""
    sizes = [(i * 37) % 40 + 1 for i in range(300)]  # chunks of 16: one to three records
    messages = [bytes([i % 251]) * n for i, n in enumerate(sizes)]
    batching = Batching(max_bytes=2000, linger=timedelta(0))
    async with stream.producer(batching=batching) as producer:
        writer = SerializingAppendSession(producer, _identity, chunk_size=16)
        tickets = await asyncio.gather(*(writer.write(m) for m in messages))
    ranges = [await t for t in tickets]
    assert sorted(r.end - r.start for r in ranges) == sorted((n + 15) // 16 for n in sizes)
    read, reader = await _read_all(stream)
    assert sorted(read) == sorted(messages)
    assert reader.duplicates == 0 and reader.dropped == 0
    by_start = sorted(zip((r.start for r in ranges), messages, strict=True))
    assert read == [m for _, m in by_start]


async def test_with_match_seq_num_every_batch_states_its_position(stream: S2Stream) -> None:
    await stream.append(AppendInput([Record(b"before")]))
    async with SerializingAppendSession(
        stream.append_session(), _identity, match_seq_num=1, dedupe_seq=None
    ) as writer:
        first = await writer.submit(b"a" * (MAX_CHUNK_BODY_BYTES + 1))
        second = await writer.submit(b"b")
    assert (first.start, first.end, second.start, second.end) == (1, 3, 3, 4)
    stored = (await stream.read(start=SeqNum(1))).records
    assert all(name != b"_dedupe_seq" for r in stored for name, _ in r.headers)
    late = SerializingAppendSession(stream.append_session(), _identity, match_seq_num=1)
    with pytest.raises(SeqNumMismatchError):
        await late.submit(b"too late")
    with pytest.raises(SeqNumMismatchError):
        await late.close()  # the session's error, again


async def test_write_pipelines_messages(stream: S2Stream) -> None:
    async with SerializingAppendSession(stream.append_session(), json_serializer) as writer:
        tickets = [await writer.write({"i": i}) for i in range(100)]
        ranges = [await ticket for ticket in tickets]
    assert [(r.start, r.end) for r in ranges] == [(i, i + 1) for i in range(100)]


async def test_other_headers_commands_and_byte_limits_are_read_alike(stream: S2Stream) -> None:
    """Our read sessions hand the reader each header's encoding (cheaper to take apart);
    headers written some other way, other headers, command records and byte-limited
    sessions (which get pairs) must read the same messages."""

    def message(payload: bytes, writer: str) -> list[Record]:
        first, second = frame_records(chunk_bytes(payload, 1500))
        first.headers = [(b"content-type", b"json"), *first.headers, *dedupe_headers(writer, 0)]
        second.headers = [*dedupe_headers(writer, 1), (b"trace", b"t" * 300)]
        return [first, second]

    payloads = [b"x" * 2000, b"y" * 1600]
    await stream.append(AppendInput(message(payloads[0], "writer-a")))  # ids of 8 characters
    await stream.append(AppendInput([CommandRecord.fence("f")]))
    await stream.append(AppendInput(message(payloads[0], "writer-a")))  # a retry: dropped
    await stream.append(AppendInput([CommandRecord.fence("")]))
    await stream.append(AppendInput(message(payloads[1], "writer-b")))  # a restart: kept
    short = Record(b"hi", [*frame_headers(2, 1), (DEDUPE_SEQ_HEADER, b"\x02")])  # not a u64
    for limit in (None, ReadLimit(bytes=10**6)):
        session = stream.read_session(
            start=SeqNum(0), wait=0, ignore_command_records=True, limit=limit
        )
        async with DeserializingReadSession(session, _identity) as reader:
            assert [m async for m in reader] == payloads
        assert reader.duplicates == 2 and reader.dropped == 0
    await stream.append(AppendInput([short]))
    for limit in (None, ReadLimit(bytes=10**6)):
        session = stream.read_session(start=SeqNum(0), wait=0, limit=limit)
        async with DeserializingReadSession(session, _identity) as reader:
            with pytest.raises(ValueError, match="8 bytes"):
                [m async for m in reader]


async def test_reassembling_holds_one_message_at_a_time(stream: S2Stream) -> None:
    """Memory while reading is bounded by the message being assembled (its parts are views
    of read batches' bytes, each holding at most twice the part): reading 24 messages of
    3 MiB each, taken one at a time, peaks far below what they add up to."""
    size, count = 3 * 1024 * 1024 + 5, 24
    async with SerializingAppendSession(stream.append_session(), _identity) as writer:
        for i in range(count):
            await writer.submit(bytes([i]) * size)
    session = stream.read_session(start=SeqNum(0), wait=0)
    seen = []
    tracemalloc.start()
    try:
        async with DeserializingReadSession(session, _identity) as reader:
            async for message in reader:
                seen.append((len(message), message[0], message[-1]))
                del message
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert seen == [(size, i, i) for i in range(count)]
    assert peak < 8 * size, f"peak {peak / 2**20:.1f} MiB reading {count} x 3 MiB"
