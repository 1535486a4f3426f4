"""Reading the format's four headers off a record: from its ``(name, value)`` pairs, or,
from our read sessions, from its headers' encodings joined (one bytes object: cheaper to
take apart, the writer's headers recognised by their encoded prefixes, all of a record's
at once when they come as our writer puts them; anything else is decoded by protobuf)."""

from __future__ import annotations

import struct
from collections.abc import Iterable
from typing import Any

from s2_sdk.patterns._wire import (
    _WRITER_ID_LENGTH,
    DEDUPE_SEQ_HEADER,
    FRAME_BYTES_HEADER,
    FRAME_RECORDS_HEADER,
    WRITER_ID_HEADER,
    decode_u64,
)
from s2_sdk.protocol import pb

__all__ = ["Fields", "fields_of_headers", "fields_of_joined", "fields_of_pairs"]

Fields = tuple[int | None, bytes | None, int | None, int | None]
"""A record's dedupe sequence number, writer id, frame bytes and frame records (None
where absent).

Raises (the functions giving them):
    ValueError: a sequence number or frame value is not 8 bytes.
"""


def _prefix(name: bytes, length: int = 8) -> bytes:
    """A ``Header`` named ``name`` with a ``length``-byte value, encoded up to that value
    (which protobuf writes last)."""
    return pb.Header(name=name, value=bytes(length)).SerializeToString()[:-length]


_SEQ = _prefix(DEDUPE_SEQ_HEADER)
_WRITER = _prefix(WRITER_ID_HEADER, _WRITER_ID_LENGTH)
_BYTES = _prefix(FRAME_BYTES_HEADER)
_RECORDS = _prefix(FRAME_RECORDS_HEADER)
# the headers of our writer's (and the TypeScript writer's) records, joined: a message's
# first record (frame headers, then dedupe headers), the others (dedupe headers), and a
# message's first record without dedupe headers
_DEDUPED = f"{len(_SEQ)}sQ{len(_WRITER)}s{_WRITER_ID_LENGTH}s"
_FIRST = struct.Struct(f">{len(_RECORDS)}sQ{len(_BYTES)}sQ{_DEDUPED}")
_NEXT = struct.Struct(f">{_DEDUPED}")
_FRAMED = struct.Struct(f">{len(_RECORDS)}sQ{len(_BYTES)}sQ")
_NONE: Fields = (None, None, None, None)


def fields_of_pairs(record: Any) -> Fields:
    """:data:`Fields` of a record with ``(name, value)`` headers."""
    return fields_of_headers(record.headers)


def fields_of_joined(record: Any) -> Fields | None:
    """:data:`Fields` of a :data:`~s2_sdk.protocol.ReadBatchJoined` record; None for
    headers that are not the writer's alone, as it writes them (decode those in full)."""
    joined = record.headers.SerializeToString()
    n = len(joined)
    if n == _FIRST.size:
        r, count, b, size, s, seq, w, writer = _FIRST.unpack(joined)
        if r == _RECORDS and b == _BYTES and s == _SEQ and w == _WRITER:
            return seq, writer, size, count
    elif n == _NEXT.size:
        s, seq, w, writer = _NEXT.unpack(joined)
        if s == _SEQ and w == _WRITER:
            return seq, writer, None, None
    elif n == _FRAMED.size:
        r, count, b, size = _FRAMED.unpack(joined)
        if r == _RECORDS and b == _BYTES:
            return None, None, size, count
    elif not n:
        return _NONE
    return None


def fields_of_headers(headers: Iterable[tuple[bytes, bytes]]) -> Fields:
    """:data:`Fields` of ``(name, value)`` headers (the last of a repeated one counts)."""
    get = dict(headers).get
    seq, size, count = get(DEDUPE_SEQ_HEADER), get(FRAME_BYTES_HEADER), get(FRAME_RECORDS_HEADER)
    return (
        None if seq is None else decode_u64(seq),
        get(WRITER_ID_HEADER),
        None if size is None else decode_u64(size),
        None if count is None else decode_u64(count),
    )
