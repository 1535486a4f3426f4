"""Protobuf mapping of records, batches and acknowledgements."""

from __future__ import annotations

from typing import TypeVar

from google.protobuf.message import DecodeError, Message

from s2_sdk._errors import S2ClientError
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


def append_input_pb(inp: AppendInput) -> pb.AppendInput:
    """An AppendInput as protobuf."""
    out = pb.AppendInput()
    records = out.records
    try:
        for r in inp.records:
            rec = records.add(body=r.body)
            if r.timestamp is not None:
                rec.timestamp = r.timestamp
            for name, value in r.headers:
                rec.headers.add(name=name, value=value)
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
    make = SequencedRecord._make
    records: list[SequencedRecord] = []
    append = records.append
    for r in batch.records:
        hs = r.headers
        if hs:
            headers = [(h.name, h.value) for h in hs]
            if ignore_command_records and len(headers) == 1 and not headers[0][0]:
                continue
            append(make((r.seq_num, r.body, headers, r.timestamp)))
        else:
            append(make((r.seq_num, r.body, [], r.timestamp)))
    tail = _position(batch.tail) if batch.HasField("tail") else None
    return ReadBatch(records, tail)
