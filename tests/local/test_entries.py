"""Stored entries, written directly, are exactly what protobuf writes; and records crossing
every varint boundary come back through a running server as appended."""

from __future__ import annotations

from types import SimpleNamespace

from hypothesis import given, settings
from hypothesis import strategies as st
from s2_local.engine.entries import encode_plain, entry, header_field, record_fields, split_entries
from s2_sdk import AppendInput, Record
from s2_sdk.protocol import ReadBatchView, pb
from s2_sdk.sync import S2, read_records
from support.rest import Api

_SIZES = st.sampled_from([0, 1, 100, 119, 120, 127, 128, 16_370, 16_383, 16_384, 70_000])
_SEQS = st.sampled_from([0, 1, 126, 127, 128, 16_383, 16_384, 2**21, 2**35, 2**63])


@settings(max_examples=60, deadline=None)
@given(first=_SEQS, timestamp=st.sampled_from([0, 1, 1_795_990_000_000, 2**64 - 1]),
       sizes=st.lists(_SIZES, min_size=1, max_size=140))  # fmt: skip
def test_plain_records_encode_as_protobuf_does(
    first: int, timestamp: int, sizes: list[int]
) -> None:
    records = [SimpleNamespace(body=bytes([i % 251]) * n) for i, n in enumerate(sizes)]
    data, offsets, metered, total, incoming = encode_plain(records, first, timestamp)
    expected = ReadBatchView()
    for i, r in enumerate(records):
        expected.records.add(seq_num=first + i, timestamp=timestamp, body=r.body)
    assert data == expected.SerializeToString()
    sent = pb.AppendInput(records=[pb.AppendRecord(body=r.body) for r in records])
    assert incoming == sent.ByteSize()
    assert list(offsets) == list(split_entries(data))
    assert list(metered) == [8 + n for n in sizes] and total == sum(metered)


@settings(max_examples=60, deadline=None)
@given(seq=_SEQS, timestamp=st.sampled_from([0, 7, 2**40]), body=st.binary(max_size=300),
       headers=st.lists(st.tuples(st.binary(max_size=20), st.binary(max_size=200)), max_size=3))  # fmt: skip
def test_one_record_encodes_as_protobuf_does(
    seq: int, timestamp: int, body: bytes, headers: list[tuple[bytes, bytes]]
) -> None:
    raw = [pb.Header(name=n, value=v).SerializeToString() for n, v in headers]
    fields = b"".join(header_field(h) for h in raw)
    expected = ReadBatchView()
    expected.records.add(seq_num=seq, timestamp=timestamp, headers=raw, body=body)
    assert entry(record_fields(seq, timestamp, fields, body)) == expected.SerializeToString()


def test_records_across_varint_boundaries_read_back(client: S2, basin: str) -> None:
    client[basin].create_stream("s")
    stream = client[basin]["s"]
    bodies = [bytes([i % 256]) * n for i, n in enumerate([0, 1, 127, 128, 16_383, 16_384] * 30)]
    for start in range(0, len(bodies), 50):
        stream.append(AppendInput([Record(body=b) for b in bodies[start : start + 50]]))
    filler = [Record(body=b"f")] * 1000
    for _ in range(17):  # past seq 16,384: three-byte sequence numbers
        stream.append(AppendInput(filler))
    stream.append(AppendInput([Record(body=b"last", headers=[(b"k", b"v")])]))
    got = list(read_records(basin, "s", client=client))
    assert [r.body for r in got[: len(bodies)]] == bodies
    assert [r.seq_num for r in got] == list(range(len(bodies) + 17_001))
    assert (got[-1].body, got[-1].headers) == (b"last", [(b"k", b"v")])
    stamps = [r.timestamp for r in got]
    assert stamps == sorted(stamps) and stamps[0] > 0


def test_batches_that_only_begin_with_bodies_are_stored_whole(api: Api) -> None:
    # The server encodes a batch whose first record has only a body as if all had, then
    # checks: headers, explicit timestamps (0 included) and unknown fields later in the
    # batch must still come back as sent.
    api.create_stream("mixed")
    records = [
        pb.AppendRecord(body=b"a"),
        pb.AppendRecord(body=b"b", headers=[pb.Header(name=b"k", value=b"v")]),
        pb.AppendRecord(body=b"c", timestamp=0),
        pb.AppendRecord(body=b"d", timestamp=5),
        pb.AppendRecord(body=b""),
    ]
    odd = pb.AppendRecord(body=b"e").SerializeToString() + b"\x48\x01"  # unknown field 9
    raw = pb.AppendInput(records=records).SerializeToString() + b"\x0a" + bytes([len(odd)]) + odd
    proto = {"content-type": "application/x-protobuf", "accept": "application/x-protobuf"}
    r = api.request("POST", "/v1/streams/mixed/records", content=raw, headers=proto)
    assert r.status_code == 200, r.text
    got = pb.ReadBatch.FromString(
        api.request(
            "GET", "/v1/streams/mixed/records", params={"seq_num": 0}, headers=proto
        ).content
    ).records
    assert [(x.seq_num, x.body) for x in got] == list(
        enumerate([b"a", b"b", b"c", b"d", b"", b"e"])
    )
    assert [(h.name, h.value) for h in got[1].headers] == [(b"k", b"v")]
    assert [len(x.headers) for x in got] == [0, 1, 0, 0, 0, 0]
    first = got[0].timestamp
    assert [x.timestamp for x in got] == [first] * 6  # 0 and 5 are older: raised to the last
