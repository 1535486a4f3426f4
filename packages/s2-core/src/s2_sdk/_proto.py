"""Protobuf mapping of records, batches and acknowledgements."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, TypeVar

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
from s2_sdk.protocol import ReadBatchProbe, ReadBatchView, metered_size, pb

__all__ = ["Delivery", "append_ack", "append_input_pb", "parse", "read_batch"]

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
    source), and merging a cached block costs a third of adding each header.
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


def append_input_pb(inp: AppendInput) -> pb.AppendInput:
    """An AppendInput as protobuf."""
    out = pb.AppendInput()
    add = out.records.add
    try:
        for r in inp.records:
            rec = (
                add(body=r.body) if r.timestamp is None else add(body=r.body, timestamp=r.timestamp)
            )
            if r.headers:
                rec.MergeFromString(
                    r.header_block if type(r) is EncodedRecord else _header_block(r.headers)
                )
    except (TypeError, ValueError) as e:
        raise S2ClientError(
            f"record bodies, header names and header values must be bytes ({e})"
        ) from e
    if inp.match_seq_num is not None:
        out.match_seq_num = inp.match_seq_num
    if inp.fencing_token is not None:
        out.fencing_token = inp.fencing_token
    return out


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
    raw_headers: bool = False,
) -> Delivery:
    """Decode a ``ReadBatch`` payload (optionally without command records); with
    ``metered``, add up the metered size of its records.

    Records without headers are decoded from :data:`~s2_sdk.protocol.ReadBatchProbe`
    (no headers container each, a tenth of a read's CPU); a batch with headers in full.
    With ``raw_headers`` (not with ``metered``), records carry each header as the bytes of
    its ``Header`` encoding instead of a ``(name, value)`` pair (for :mod:`s2_sdk.patterns`,
    which recognises its own headers by their encodings).

    Raises:
        S2ClientError: the payload is not a ``ReadBatch``.
    """
    if raw_headers and not metered:
        return _read_batch_raw(payload, ignore_command_records)
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


def _read_batch_raw(payload: bytes, ignore_command_records: bool) -> Delivery:
    """:func:`read_batch` with each header as its encoding's bytes: the records are the
    parsed ``SequencedRecordView`` messages themselves (same attribute names as
    :class:`SequencedRecord`), not copies."""
    view = parse(ReadBatchView, payload)
    received = view.records
    records: Any = received
    if ignore_command_records:
        records = [
            r for r in received if len(r.headers) != 1 or pb.Header.FromString(r.headers[0]).name
        ]
    return _delivered(view, records, received, 0)


def _delivered(raw: Any, records: list[SequencedRecord], received: Any, size: int) -> Delivery:
    tail = _position(raw.tail) if raw.HasField("tail") else None
    last = received[-1].seq_num if received else -1
    return Delivery(ReadBatch(records, tail), len(received), last, size)
