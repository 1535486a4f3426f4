"""Reading the format's four headers off a record, from ``(name, value)`` pairs or from
the raw ``Header`` encodings a read session can deliver instead (cheaper to take apart:
the writer's headers are recognised by their encoded prefixes, anything else is decoded
by protobuf)."""

from __future__ import annotations

from collections.abc import Sequence

from s2_sdk.patterns._wire import (
    _WRITER_ID_LENGTH,
    DEDUPE_SEQ_HEADER,
    FRAME_BYTES_HEADER,
    FRAME_RECORDS_HEADER,
    WRITER_ID_HEADER,
)
from s2_sdk.protocol import pb

__all__ = ["Fields", "fields_of_encodings", "fields_of_pairs"]

Fields = tuple[bytes | None, bytes | None, bytes | None, bytes | None]
"""A record's dedupe sequence number, writer id, frame bytes and frame records (raw
values; None where absent)."""


def _prefix(name: bytes, length: int = 8) -> bytes:
    """A ``Header`` named ``name`` with a ``length``-byte value, encoded up to that value
    (which protobuf writes last)."""
    return pb.Header(name=name, value=bytes(length)).SerializeToString()[:-length]


_SEQ = _prefix(DEDUPE_SEQ_HEADER)
_WRITER = _prefix(WRITER_ID_HEADER, _WRITER_ID_LENGTH)
_BYTES = _prefix(FRAME_BYTES_HEADER)
_RECORDS = _prefix(FRAME_RECORDS_HEADER)
_SEQ_LEN, _BYTES_LEN, _RECORDS_LEN = len(_SEQ) + 8, len(_BYTES) + 8, len(_RECORDS) + 8
_WRITER_LEN = len(_WRITER) + _WRITER_ID_LENGTH


def fields_of_pairs(headers: Sequence[tuple[bytes, bytes]]) -> Fields:
    """:data:`Fields` of ``(name, value)`` headers (the last of a repeated one counts)."""
    get = dict(headers).get
    return (
        get(DEDUPE_SEQ_HEADER),
        get(WRITER_ID_HEADER),
        get(FRAME_BYTES_HEADER),
        get(FRAME_RECORDS_HEADER),
    )


def fields_of_encodings(headers: Sequence[bytes]) -> Fields:
    """:data:`Fields` of headers given as their ``Header`` encodings (the last of a
    repeated one counts)."""
    seq = writer = size = count = None
    for h in headers:
        n = len(h)
        if n == _SEQ_LEN and h.startswith(_SEQ):
            seq = h[-8:]
        elif n == _WRITER_LEN and h.startswith(_WRITER):
            writer = h[-_WRITER_ID_LENGTH:]
        elif n == _BYTES_LEN and h.startswith(_BYTES):
            size = h[-8:]
        elif n == _RECORDS_LEN and h.startswith(_RECORDS):
            count = h[-8:]
        else:  # another header, or one of ours written some other way
            header = pb.Header.FromString(h)
            name, value = header.name, header.value
            if name == DEDUPE_SEQ_HEADER:
                seq = value
            elif name == WRITER_ID_HEADER:
                writer = value
            elif name == FRAME_BYTES_HEADER:
                size = value
            elif name == FRAME_RECORDS_HEADER:
                count = value
    return seq, writer, size, count
