"""Protobuf mapping of records, batches and acknowledgements."""

from __future__ import annotations

from typing import TypeVar

from google.protobuf.message import DecodeError, Message

from s2_sdk._exceptions import S2ClientError
from s2_sdk._records import (
    AppendAck,
    AppendInput,
    ReadBatch,
    SequencedRecord,
    StreamPosition,
)
from s2_sdk.protocol import pb

__all__ = ["append_ack", "append_input_pb", "parse", "read_batch"]

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
                rec.MergeFromString(_header_block(r.headers))
    except (TypeError, ValueError) as e:
        raise S2ClientError(
            f"record bodies, header names and header values must be bytes ({e})"
        ) from e
    if inp.match_seq_num is not None:
        out.match_seq_num = inp.match_seq_num
    if inp.fencing_token is not None:
        out.fencing_token = inp.fencing_token
    return out


def _position(p: pb.StreamPosition) -> StreamPosition:
    return StreamPosition(p.seq_num, p.timestamp)


def append_ack(ack: pb.AppendAck) -> AppendAck:
    """An AppendAck from protobuf."""
    return AppendAck(_position(ack.start), _position(ack.end), _position(ack.tail))


def read_batch(batch: pb.ReadBatch, ignore_command_records: bool = False) -> ReadBatch:
    """A ReadBatch from protobuf (optionally without command records)."""
    make = SequencedRecord
    records: list[SequencedRecord] = []
    append = records.append
    for r in batch.records:
        hs = r.headers
        if hs:
            headers = [(h.name, h.value) for h in hs]
            if ignore_command_records and len(headers) == 1 and not headers[0][0]:
                continue
            append(make(r.seq_num, r.body, headers, r.timestamp))
        else:
            append(make(r.seq_num, r.body, [], r.timestamp))
    tail = _position(batch.tail) if batch.HasField("tail") else None
    return ReadBatch(records, tail)
