"""Protobuf mapping of records, batches and acknowledgements."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, TypeVar, cast

from google.protobuf.message import DecodeError, Message

from s2_sdk._exceptions import S2ClientError
from s2_sdk._records import (
    AppendAck,
    AppendInput,
    EncodedRecord,
    ReadBatch,
    SequencedRecord,
    StreamPosition,
)
from s2_sdk.protocol import (
    ReadBatchJoined,
    ReadBatchProbe,
    metered_size,
    pb,
    read_varint,
    varint,
)

__all__ = [
    "Delivery",
    "JoinedRecords",
    "append_ack",
    "append_input_bytes",
    "body_spans",
    "parse",
    "read_batch",
]

M = TypeVar("M", bound=Message)


def parse(message: type[M], data: bytes) -> M:
    """Decode a protobuf message the server sent; :class:`S2ClientError` if it is not one."""
    try:
        return message.FromString(data)
    except DecodeError as e:
        raise S2ClientError(f"malformed {message.__name__} from the server: {e}") from e


_HEADER_BLOCKS: dict[tuple[tuple[bytes, bytes], ...], bytes] = {}
_MAX_HEADER_BLOCKS = 256


def _header_block(headers: list[tuple[bytes, bytes]]) -> bytes:
    """``headers`` serialized as an AppendRecord holding only them, cached by value.

    Records of one producer tend to repeat a few header sets (content type, level,
    source): each set is encoded once.
    """
    key = tuple(headers)
    try:
        block = _HEADER_BLOCKS.get(key)
        cacheable = True
    except TypeError:  # pairs given as lists: fine, but not a cache key
        block, cacheable = None, False
    if block is None:
        record = pb.AppendRecord(headers=[pb.Header(name=n, value=v) for n, v in headers])
        block = record.SerializeToString()
        if cacheable:
            if len(_HEADER_BLOCKS) >= _MAX_HEADER_BLOCKS:
                _HEADER_BLOCKS.clear()
            _HEADER_BLOCKS[key] = block
    return block


def append_input_bytes(inp: AppendInput) -> bytes:
    """An AppendInput's protobuf encoding, written directly (what protobuf writes for it,
    field by field, at a fifth of the CPU of building the message: the per-record hot path
    of sessions and producers).

    Raises:
        S2ClientError: a body, header name or value is not bytes.
    """
    parts: list[bytes] = []
    add = parts.append
    try:
        for r in inp.records:
            body, timestamp = r.body, r.timestamp
            if type(r) is EncodedRecord:
                fields = r.header_block
            else:
                fields = _header_block(r.headers) if r.headers else b""
            if timestamp is not None:
                fields = b"\x08" + varint(timestamp) + fields
            n = len(body)
            if n:
                fields += b"\x1a" + varint(n)
            add(b"\x0a" + varint(len(fields) + n) + fields)
            add(body)
        if inp.match_seq_num is not None:
            add(b"\x10" + varint(inp.match_seq_num))
        if inp.fencing_token is not None:
            token = inp.fencing_token.encode()
            add(b"\x1a" + varint(len(token)) + token)
        return b"".join(parts)
    except (TypeError, ValueError, AttributeError) as e:
        raise S2ClientError(
            f"record bodies, header names and header values must be bytes ({e})"
        ) from e


def _position(p: Any) -> StreamPosition:
    return StreamPosition(p.seq_num, p.timestamp)


def append_ack(ack: pb.AppendAck) -> AppendAck:
    """An AppendAck from protobuf."""
    return AppendAck(_position(ack.start), _position(ack.end), _position(ack.tail))


@dataclass(slots=True)
class Delivery:
    """A batch as received: its records (command records left out if asked) and tail,
    and what the records received add up to, before any was left out."""

    batch: ReadBatch
    count: int
    last_seq: int
    metered: int


def read_batch(
    payload: bytes,
    ignore_command_records: bool = False,
    metered: bool = False,
    joined_headers: bool = False,
) -> Delivery:
    """Decode a ``ReadBatch`` payload (optionally without command records); with
    ``metered``, add up the metered size of its records.

    Records without headers are decoded from :data:`~s2_sdk.protocol.ReadBatchProbe`
    (no headers container each, a tenth of a read's CPU); a batch with headers in full.
    With ``joined_headers`` (not with ``metered``), records are those of
    :data:`~s2_sdk.protocol.ReadBatchJoined`: their headers one message whose
    serialization is the headers' encodings joined (for :mod:`s2_sdk.patterns`, which
    recognises its own headers by their encodings).

    Raises:
        S2ClientError: the payload is not a ``ReadBatch``.
    """
    if joined_headers and not metered:
        return _read_batch_joined(payload, ignore_command_records)
    make = SequencedRecord
    records: list[SequencedRecord] = []
    append = records.append
    size = 0
    probe = parse(ReadBatchProbe, payload)
    raw_records = probe.records
    if raw_records and not raw_records[0].HasField("headers"):
        for r in raw_records:
            if r.HasField("headers"):  # a batch that mixes: decode it in full after all
                records.clear()
                size = 0
                break
            body = r.body
            append(make(r.seq_num, body, [], r.timestamp))
            if metered:
                size += metered_size((), body)
        else:
            return _delivered(probe, records, raw_records, size)
    full = parse(pb.ReadBatch, payload)
    for r in full.records:
        headers = [(h.name, h.value) for h in r.headers]
        body = r.body
        if metered:
            size += metered_size(headers, body)
        if ignore_command_records and len(headers) == 1 and not headers[0][0]:
            continue
        append(make(r.seq_num, body, headers, r.timestamp))
    return _delivered(full, records, full.records, size)


def _read_batch_joined(payload: bytes, ignore_command_records: bool) -> Delivery:
    """:func:`read_batch` with ``joined_headers``: the records are the parsed
    ``ReadBatchJoined`` records themselves (same attribute names as
    :class:`SequencedRecord`), not copies, in a :class:`JoinedRecords`."""
    view = parse(ReadBatchJoined, payload)
    received = view.records
    records = JoinedRecords(payload)
    if ignore_command_records:
        records.extend(r for r in received if not records.is_command(r))
    else:
        records.extend(received)
    return _delivered(view, records, received, 0)


class JoinedRecords(list[Any]):
    """The records of a :data:`~s2_sdk.protocol.ReadBatchJoined`; the headers of any of
    them as ``(name, value)`` pairs, for a reader that cannot take their joined encodings
    apart (protobuf decodes the batch again, once, for those); and a large body as a view
    of the batch's bytes, for a reader that copies it into something larger anyway."""

    __slots__ = ("_bodies", "_pairs", "_payload")

    def __init__(self, payload: bytes) -> None:
        super().__init__()
        self._payload = payload
        self._pairs: dict[int, list[tuple[bytes, bytes]]] | None = None
        self._bodies: dict[int, tuple[int, int]] | None = None

    def body_part(self, record: Any) -> bytes | memoryview:
        """The body of ``record`` (one of these): a view of the batch's bytes if it is at
        least half of them (no copy; the view keeps the batch's bytes alive, at most
        twice the body), else ``record.body``."""
        bodies = self._bodies
        if bodies is None:
            bodies = self._bodies = body_spans(self._payload)
        start, end = bodies.get(record.seq_num, (0, 0))
        if 2 * (end - start) < len(self._payload) or end == 0:
            return cast(bytes, record.body)
        return memoryview(self._payload)[start:end]

    def header_pairs(self, record: Any) -> list[tuple[bytes, bytes]]:
        """The headers of ``record`` (one of these) as pairs."""
        if self._pairs is None:
            self._pairs = {
                r.seq_num: [(h.name, h.value) for h in r.headers]
                for r in pb.ReadBatch.FromString(self._payload).records
            }
        return self._pairs[record.seq_num]

    def is_command(self, record: Any) -> bool:
        """Whether ``record`` is a command record (one header, unnamed)."""
        if not record.HasField("headers"):
            return False
        joined = record.headers.SerializeToString()
        if joined[:1] == b"\n" and joined[1:2] != b"\x00":
            return False  # its first header is named (protobuf writes the name first)
        headers = self.header_pairs(record)
        return len(headers) == 1 and not headers[0][0]


_RECORDS_TAG, _SEQ_NUM_TAG, _BODY_TAG = 0x0A, 0x08, 0x22
"""``ReadBatch.records``, ``SequencedRecord.seq_num`` and ``SequencedRecord.body``."""


def body_spans(payload: bytes) -> dict[int, tuple[int, int]]:
    """Where each record's body lies in ``payload``, a ``ReadBatch`` protobuf decoded
    already: ``{seq_num: (start, end)}``, found by walking its fields (what protobuf
    would take, the last of a repeated field included); empty for a batch whose records'
    sequence numbers repeat or whose encoding this walk does not expect (groups)."""
    spans: dict[int, tuple[int, int]] = {}
    try:
        pos, n = 0, len(payload)
        while pos < n:
            tag, pos = read_varint(payload, pos)
            if tag != _RECORDS_TAG:
                pos = _skipped(payload, pos, tag)
                continue
            length, pos = read_varint(payload, pos)
            end = pos + length
            seq, body = 0, (end, end)  # absent: 0 and empty, as protobuf reads them
            while pos < end:
                tag, pos = read_varint(payload, pos)
                if tag == _SEQ_NUM_TAG:
                    seq, pos = read_varint(payload, pos)
                elif tag == _BODY_TAG:
                    length, pos = read_varint(payload, pos)
                    body = (pos, pos + length)
                    pos += length
                else:
                    pos = _skipped(payload, pos, tag)
            if seq in spans:
                return {}
            spans[seq] = body
            pos = end
    except (IndexError, ValueError):
        return {}
    return spans


def _skipped(payload: bytes, pos: int, tag: int) -> int:
    """The position after the value of a field with ``tag`` that starts at ``pos``.

    Raises:
        ValueError: a group (a wire type this walk does not take).
    """
    wire = tag & 7
    if wire == 0:
        return read_varint(payload, pos)[1]
    if wire == 1:
        return pos + 8
    if wire == 2:
        length, pos = read_varint(payload, pos)
        return pos + length
    if wire == 5:
        return pos + 4
    raise ValueError(f"wire type {wire}")


def _delivered(raw: Any, records: list[SequencedRecord], received: Any, size: int) -> Delivery:
    tail = _position(raw.tail) if raw.HasField("tail") else None
    last = received[-1].seq_num if received else -1
    return Delivery(ReadBatch(records, tail), len(received), last, size)
