"""The shared wire codec: frames, compression, metering, naming rules."""

from __future__ import annotations

import itertools

import pytest
from hpack import Decoder, Encoder, HeaderTuple, NeverIndexedHeaderTuple
from hpack.exceptions import HPACKDecodingError, OversizedHeaderListError
from hypothesis import given
from hypothesis import strategies as st
from s2_sdk import AppendInput, Record
from s2_sdk import protocol as p
from s2_sdk._proto import append_input_bytes, body_spans, read_batch


def test_frame_roundtrip_uncompressed() -> None:
    raw = p.encode_frame(b"hello")
    assert raw == b"\x00\x00\x06\x00hello"
    (frame,) = p.FrameDecoder().feed(raw)
    assert frame == p.Frame(b"hello")


@pytest.mark.parametrize("codec", [p.Codec.ZSTD, p.Codec.GZIP])
def test_frame_compresses_large_payloads_only(codec: p.Codec) -> None:
    small, large = b"x" * 100, b"y" * 5000
    assert p.encode_frame(small, codec)[3] == 0
    raw = p.encode_frame(large, codec)
    assert raw[3] == codec << 5
    assert len(raw) < len(large)
    assert p.FrameDecoder().feed(raw) == [p.Frame(large)]


def test_decoder_handles_split_and_coalesced_input() -> None:
    raw = p.encode_frame(b"a" * 10) + p.encode_frame(b"b" * 3000, p.Codec.ZSTD)
    raw += p.encode_terminal_frame(416, b'{"tail":{"seq_num":1,"timestamp":2}}')
    decoder = p.FrameDecoder()
    frames = []
    for i in range(len(raw)):
        frames += decoder.feed(raw[i : i + 1])
    assert [f.payload for f in frames[:2]] == [b"a" * 10, b"b" * 3000]
    assert frames[2].terminal
    assert frames[2].terminal_error() == (416, b'{"tail":{"seq_num":1,"timestamp":2}}')
    assert decoder.pending == 0


@given(
    payloads=st.lists(st.binary(min_size=1, max_size=300), min_size=1, max_size=6),
    cuts=st.lists(st.integers(min_value=0, max_value=2000), max_size=12),
)
def test_decoder_gives_the_same_frames_however_the_bytes_are_cut(
    payloads: list[bytes], cuts: list[int]
) -> None:
    """Frames cut anywhere (inside a header, a payload, across several frames) decode to
    the payloads sent, in order, with nothing left over."""
    raw = b"".join(p.encode_frame(payload) for payload in payloads)
    bounds = sorted({0, len(raw), *(c for c in cuts if c < len(raw))})
    decoder = p.FrameDecoder()
    frames = []
    for start, end in itertools.pairwise(bounds):
        frames += decoder.feed(raw[start:end])
    assert [f.payload for f in frames] == payloads
    assert all(type(f.payload) is bytes for f in frames)
    assert decoder.pending == 0


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (b"\x00\x00\x00", "flag byte"),
        (b"\x00\x00\x02\x80\x01", "terminal"),
        (b"\x00\x00\x02\x60\x01", "compression"),
        (b"\x20\x00\x01\x00", "exceeds"),
        (b"\x00\x00\x04\x20abc", "zstd"),
    ],
)
def test_decoder_rejects_malformed_frames(raw: bytes, message: str) -> None:
    with pytest.raises(p.FrameError, match=message):
        p.FrameDecoder().feed(raw)


def test_decompress_enforces_the_size_limit() -> None:
    bomb = p.compress(b"\0" * 100_000, p.Codec.ZSTD)
    with pytest.raises(p.CompressionError):
        p.decompress(bomb, p.Codec.ZSTD, max_size=1000)
    assert p.decompress(bomb, p.Codec.ZSTD) == b"\0" * 100_000


def test_accept_encoding_prefers_zstd() -> None:
    assert p.codec_from_accept_encoding("gzip, zstd;q=0.1") is p.Codec.ZSTD
    assert p.codec_from_accept_encoding("gzip") is p.Codec.GZIP
    assert p.codec_from_accept_encoding("br") is p.Codec.NONE
    assert p.codec_from_content_encoding("br") is None


def test_metered_size() -> None:
    assert p.metered_size([], b"") == 8
    assert p.metered_size([(b"ab", b"cde")], b"12345") == 8 + 2 + 5 + 5


@pytest.mark.parametrize(
    ("name", "ok"),
    [
        ("my-basin-1", True),
        ("short", False),
        ("-leading-", False),
        ("Upper-case", False),
        ("a" * 48, True),
        ("a" * 49, False),
    ],
)
def test_basin_names(name: str, ok: bool) -> None:
    assert (p.basin_name_error(name) is None) is ok


@pytest.mark.parametrize(
    ("name", "ok"),
    [("a/b", True), (".", False), ("..", False), ("", False), ("x" * 513, False), ("a\x00", False)],
)
def test_stream_names(name: str, ok: bool) -> None:
    assert (p.stream_name_error(name) is None) is ok


def test_command_record_rules() -> None:
    h = p.pb.Header
    assert p.record_error([h(name=b"", value=b"fence")], b"tok", 20) is None
    assert p.record_error([h(name=b"", value=b"fence")], b"t" * 37, 20) is not None
    assert p.record_error([h(name=b"", value=b"trim")], b"1234567", 20) is not None
    assert p.record_error([h(name=b"", value=b"nope")], b"", 20) == "unknown command"
    assert p.record_error([h(name=b"a", value=b""), h(name=b"", value=b"")], b"", 20) == (
        "invalid header: empty name"
    )


_FIELD_NAMES = st.sampled_from(
    [b":method", b":path", b":authority", b"content-length", b"authorization", b"accept",
     b"s2-format", b"x-custom", b"user-agent", b"a" * 130]
)  # fmt: skip
_FIELDS = st.lists(
    st.tuples(_FIELD_NAMES, st.binary(max_size=300), st.booleans()), min_size=1, max_size=12
)


@given(blocks=st.lists(_FIELDS, min_size=1, max_size=4))
def test_stateless_encoder_roundtrips_through_hpack(
    blocks: list[list[tuple[bytes, bytes, bool]]],
) -> None:
    encoder, decoder = p.StatelessEncoder(), Decoder()
    for i, block in enumerate(blocks):
        if i == 2:
            encoder.header_table_size = 512  # the peer's SETTINGS_HEADER_TABLE_SIZE changed
        fields = [NeverIndexedHeaderTuple(n, v) if s else HeaderTuple(n, v) for n, v, s in block]
        decoded = decoder.decode(encoder.encode(fields), raw=True)
        assert decoded == [(n, v) for n, v, _ in block]
        # sensitive fields stay never-indexed for whoever forwards them
        assert [not h.indexable for h in decoded] == [s for _, _, s in block]
        assert len(decoder.header_table.dynamic_entries) == 0
    assert decoder.header_table.maxsize == 0


def test_stateless_encoder_uses_the_static_table_and_plain_literals() -> None:
    encoder = p.StatelessEncoder()
    block = encoder.encode([(b":method", b"GET"), (b":path", b"/v1/basins")])
    assert block == b"\x20" + b"\x82" + b"\x04\x0a/v1/basins"  # size 0, index 2, literal
    assert encoder.encode([(b":method", b"GET")]) == b"\x82"  # the size is said once
    encoder.header_table_size = 4096
    assert encoder.encode([(b"x-a", b"b")]) == b"\x20\x00\x03x-a\x01b"


@given(blocks=st.lists(_FIELDS, min_size=1, max_size=4), huffman=st.booleans())
def test_plain_block_decoder_agrees_with_hpack(
    blocks: list[list[tuple[bytes, bytes, bool]]], huffman: bool
) -> None:
    """Blocks from hpack's own encoder (dynamic table, Huffman) and from StatelessEncoder
    decode to what hpack's decoder gives, sensitivity included."""
    stateless, indexing = p.StatelessEncoder(), Encoder()
    for encoder in (stateless, indexing):
        ours, theirs = p.PlainBlockDecoder(), Decoder()
        for block in blocks:
            fields = [
                NeverIndexedHeaderTuple(n, v) if s else HeaderTuple(n, v) for n, v, s in block
            ]
            data = (
                indexing.encode(fields, huffman=huffman)
                if encoder is indexing
                else stateless.encode(fields)
            )
            mine, reference = ours.decode(data, raw=True), theirs.decode(data, raw=True)
            assert mine == reference
            assert [h.indexable for h in mine] == [h.indexable for h in reference]
            assert ours.header_table.dynamic_entries == theirs.header_table.dynamic_entries


def test_plain_block_decoder_takes_its_fast_path_and_keeps_hpack_errors() -> None:
    encoder, decoder = p.StatelessEncoder(), p.PlainBlockDecoder()
    decoder.decode(encoder.encode([(b":method", b"GET")]), raw=True)  # the size update: hpack
    calls = []
    original = Decoder.decode

    def spy(self: Decoder, data: bytes, raw: bool = False) -> list[HeaderTuple]:
        calls.append(data)
        return list(original(self, data, raw))

    Decoder.decode = spy  # type: ignore[method-assign]
    try:
        fields = [(b":path", b"/v1/streams/s/records"), (b"authorization", b"Bearer t")]
        assert decoder.decode(encoder.encode(fields), raw=True) == fields
        assert calls == []  # decoded without hpack
        decoder.max_header_list_size = 40
        with pytest.raises(OversizedHeaderListError):
            decoder.decode(encoder.encode(fields), raw=True)
        with pytest.raises(HPACKDecodingError):
            decoder.decode(b"\x00\x7f", raw=True)  # a string longer than the block
    finally:
        Decoder.decode = original  # type: ignore[method-assign]


_U64S = st.sampled_from([0, 1, 127, 128, 16_383, 16_384, 2**21, 2**35, 2**64 - 1])


@given(value=st.one_of(_U64S, st.integers(0, 2**64 - 1)))
def test_varint_is_protobufs(value: int) -> None:
    assert p.varint(value) == p.pb.AppendInput(match_seq_num=value).SerializeToString()[1:]


@given(records=st.lists(st.tuples(
           st.binary(max_size=300) | st.sampled_from([b"", b"x" * 16_400]),
           st.lists(st.tuples(st.binary(max_size=20), st.binary(max_size=40)), max_size=3),
           st.none() | _U64S,
       ), min_size=1, max_size=6),
       match_seq_num=st.none() | _U64S, fencing_token=st.none() | st.sampled_from(["", "f", "é" * 10]))  # fmt: skip
def test_append_inputs_encode_as_protobuf_does(
    records: list[tuple[bytes, list[tuple[bytes, bytes]], int | None]],
    match_seq_num: int | None,
    fencing_token: str | None,
) -> None:
    """Sessions and producers write an AppendInput's bytes directly: they must be exactly
    protobuf's (the published client's requests, byte for byte)."""
    ours = append_input_bytes(
        AppendInput([Record(b, list(h), t) for b, h, t in records], match_seq_num, fencing_token)
    )
    expected = p.pb.AppendInput(match_seq_num=match_seq_num, fencing_token=fencing_token)
    for body, headers, timestamp in records:
        expected.records.add(body=body, timestamp=timestamp,
                             headers=[p.pb.Header(name=n, value=v) for n, v in headers])  # fmt: skip
    assert ours == expected.SerializeToString()


# fields protobuf keeps as unknown: a varint, a fixed64, a length-delimited, a fixed32,
# and a field number past 15 (a two-byte tag)
_UNKNOWN = st.sampled_from([b"", b"\x28\x96\x01", b"\x31" + bytes(8), b"\x3a\x02hi",
                            b"\x45" + bytes(4), b"\x82\x01\x01z"])  # fmt: skip


@given(records=st.lists(st.tuples(
           _U64S,
           st.binary(max_size=300) | st.sampled_from([b"", b"x" * 16_400]),
           st.lists(st.tuples(st.binary(max_size=20), st.binary(max_size=40)), max_size=3),
           st.none() | _U64S, _UNKNOWN, st.booleans(),
       ), max_size=6, unique_by=lambda r: r[0]),
       tail=st.none() | _U64S, unknown=_UNKNOWN)  # fmt: skip
def test_body_spans_find_the_bodies_protobuf_reads(
    records: list[tuple[int, bytes, list[tuple[bytes, bytes]], int | None, bytes, bool]],
    tail: int | None,
    unknown: bytes,
) -> None:
    """A reader takes large bodies as views of a read batch's bytes, found by walking them:
    each must be the body protobuf decodes, whatever else the batch holds (unknown fields,
    a body written twice, of which protobuf keeps the last)."""
    payload = b""
    for seq_num, body, headers, timestamp, extra, twice in records:
        record = p.pb.SequencedRecord(seq_num=seq_num, body=body, timestamp=timestamp,
                                      headers=[p.pb.Header(name=n, value=v) for n, v in headers])  # fmt: skip
        raw = p.pb.SequencedRecord(body=b"first").SerializeToString() if twice else b""
        raw += record.SerializeToString() + extra
        payload += b"\x0a" + p.varint(len(raw)) + raw + unknown
    if tail is not None:
        payload += p.pb.ReadBatch(tail=p.pb.StreamPosition(seq_num=tail)).SerializeToString()
    spans = body_spans(payload)
    decoded = p.pb.ReadBatch.FromString(payload).records
    assert {r.seq_num: r.body for r in decoded} == {
        seq: payload[start:end] for seq, (start, end) in spans.items()
    }
    joined = read_batch(payload, joined_headers=True).batch.records
    for record in joined:
        part = joined.body_part(record)  # type: ignore[attr-defined]
        assert bytes(part) == record.body
        assert isinstance(part, memoryview) == (2 * len(record.body) >= len(payload) > 0)


def test_body_spans_give_up_on_what_they_cannot_tell_apart() -> None:
    twice = p.pb.ReadBatch(records=[p.pb.SequencedRecord(seq_num=3, body=b"a"),
                                    p.pb.SequencedRecord(seq_num=3, body=b"b")])  # fmt: skip
    assert body_spans(twice.SerializeToString()) == {}
    group = b"\x0a\x04\x23\x24\x08\x01"  # a record holding an (empty) group
    assert body_spans(group) == {}
