"""s2_sdk.sync.patterns: the typed-message writer and reader from blocking code, against
s2-local, on the same wire as the async ones."""

from __future__ import annotations

import itertools
import threading
from collections.abc import Iterator

import pytest
from s2_local.pytest_plugin import S2TestServer
from s2_sdk import AppendInput, Endpoints, ReadLimit, Record, SeqNum
from s2_sdk.patterns import MAX_CHUNK_BODY_BYTES, json_deserializer, json_serializer
from s2_sdk.sync import S2, S2Stream
from s2_sdk.sync.patterns import DeserializingReadSession, SerializingAppendSession
from support.rest import unique_basin


@pytest.fixture
def stream(s2_server: S2TestServer) -> Iterator[S2Stream]:
    endpoints = Endpoints(s2_server.account_endpoint, s2_server.basin_endpoint)
    with S2("t", endpoints=endpoints) as client:
        name = unique_basin()
        client.create_basin(name)
        client[name].create_stream("messages")
        yield client[name]["messages"]
        client.delete_basin(name, ignore_not_found=True)


def _read(stream: S2Stream, start: int = 0) -> tuple[list[dict], DeserializingReadSession]:
    session = stream.read_session(start=SeqNum(start), wait=0)
    with DeserializingReadSession(session, json_deserializer) as reader:
        return list(reader), reader


def test_messages_written_and_read_from_blocking_code(stream: S2Stream) -> None:
    messages = [{"n": i, "text": "t" * size} for i, size in enumerate([3, 3_000_000, 10, 0])]
    with SerializingAppendSession(stream.append_session(), json_serializer) as writer:
        ranges = [writer.submit(m, timeout=30) for m in messages[:2]]
        futures = [writer.write(m) for m in messages[2:]]
        ranges += [f.result(timeout=30) for f in futures]
        assert writer.dedupe_seq == 6 and len(writer.writer_id) == 12
    assert [r.end - r.start for r in ranges] == [1, 3, 1, 1]
    assert all(a.end == b.start for a, b in itertools.pairwise(ranges))
    read, reader = _read(stream)
    assert read == messages
    assert (reader.last_seq_num, reader.next_seq_num) == (ranges[-1].start, ranges[-1].end)
    resumed, _ = _read(stream, start=ranges[1].end)  # a reader resuming after message 1
    assert resumed == messages[2:]


def test_over_a_producer_from_several_threads(stream: S2Stream) -> None:
    with SerializingAppendSession(stream.producer(), json_serializer) as writer:
        results: dict[int, list[int]] = {}

        def work(t: int) -> None:
            futures = [writer.write({"t": t, "i": i}) for i in range(50)]
            results[t] = [f.result(timeout=30).start for f in futures]

        threads = [threading.Thread(target=work, args=(t,)) for t in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    read, reader = _read(stream)
    assert len(read) == 200 and reader.duplicates == 0
    for t in range(4):  # each thread's messages in its order, where its acks said
        mine = [m["i"] for m in read if m["t"] == t]
        assert mine == list(range(50))
        assert results[t] == sorted(results[t])


def test_repeats_are_dropped_and_counted(stream: S2Stream) -> None:
    with SerializingAppendSession(stream.append_session(), json_serializer) as writer:
        writer.submit({"n": 0})
        big = writer.submit({"n": 1, "blob": "z" * (MAX_CHUNK_BODY_BYTES + 10)})
        limit = ReadLimit(count=big.end - big.start)
        with stream.read_session(start=SeqNum(big.start), limit=limit) as session:
            again = [r for batch in session for r in batch.records]
        for r in again:  # a retry, appended again
            stream.append(AppendInput([Record(r.body, list(r.headers))]))
        writer.submit({"n": 2})
    read, reader = _read(stream)
    assert [m["n"] for m in read] == [0, 1, 2]
    assert reader.duplicates == len(again) == 2 and reader.dropped == 0
