"""The wire format of framed, deduplicated messages (the TypeScript patterns' format).

A message is serialized to bytes and cut into chunks of at most :data:`MAX_CHUNK_BODY_BYTES`
each, one record per chunk. The first record of a message carries the frame headers,
``_frame_records`` (how many records the message takes) then ``_frame_bytes`` (its size),
each an unsigned 64-bit big-endian integer. With deduplication, every record also carries
``_dedupe_seq`` (a u64, one more for each record the writer appends) and ``_writer_id``
(the writer's id in UTF-8, 12 characters), after any other header.
"""

from __future__ import annotations

import secrets
import string
from collections.abc import Iterable, Sequence

from s2_sdk._records import Record
from s2_sdk.protocol import MAX_RECORD_METERED_BYTES, metered_size

__all__ = [
    "DEDUPE_SEQ_HEADER",
    "DEFAULT_MAX_FRAME_BYTES",
    "FRAME_BYTES_HEADER",
    "FRAME_RECORDS_HEADER",
    "MAX_CHUNK_BODY_BYTES",
    "WRITER_ID_HEADER",
    "chunk_bytes",
    "decode_u64",
    "dedupe_headers",
    "encode_u64",
    "frame_headers",
    "frame_records",
    "new_writer_id",
    "parse_dedupe_headers",
    "parse_frame_headers",
]

FRAME_RECORDS_HEADER = b"_frame_records"
FRAME_BYTES_HEADER = b"_frame_bytes"
DEDUPE_SEQ_HEADER = b"_dedupe_seq"
WRITER_ID_HEADER = b"_writer_id"
_WRITER_ID_LENGTH = 12
_WRITER_ID_ALPHABET = string.ascii_letters + string.digits + "_-"

MAX_CHUNK_BODY_BYTES = MAX_RECORD_METERED_BYTES - metered_size(
    [
        (FRAME_RECORDS_HEADER, bytes(8)),
        (FRAME_BYTES_HEADER, bytes(8)),
        (DEDUPE_SEQ_HEADER, bytes(8)),
        (WRITER_ID_HEADER, bytes(_WRITER_ID_LENGTH)),
    ],
    b"",
)
"""The largest chunk: a record carrying it and every header of the format stays within
S2's 1 MiB record limit (1,048,477 bytes)."""

DEFAULT_MAX_FRAME_BYTES = 100 * 1024 * 1024
"""The largest message a reader assembles (and a writer sends) by default: 100 MiB."""


def encode_u64(value: int) -> bytes:
    """``value`` as 8 big-endian bytes.

    Raises:
        ValueError: ``value`` is not in [0, 2**64).
    """
    if not 0 <= value < 2**64:
        raise ValueError(f"a u64 header value must be in [0, 2**64), not {value}")
    return value.to_bytes(8, "big")


def decode_u64(data: bytes) -> int:
    """The integer in 8 big-endian bytes.

    Raises:
        ValueError: ``data`` is not 8 bytes long.
    """
    if len(data) != 8:
        raise ValueError(f"a u64 header value is 8 bytes, not {len(data)}")
    return int.from_bytes(data, "big")


def new_writer_id() -> str:
    """A fresh writer id: 12 random URL-safe characters."""
    return "".join(secrets.choice(_WRITER_ID_ALPHABET) for _ in range(_WRITER_ID_LENGTH))


def chunk_bytes(data: bytes, max_chunk_size: int = MAX_CHUNK_BODY_BYTES) -> list[bytes]:
    """``data`` cut into chunks of at most ``max_chunk_size`` bytes.

    Raises:
        ValueError: ``max_chunk_size`` is not positive.
    """
    if max_chunk_size <= 0:
        raise ValueError("max_chunk_size must be positive")
    if len(data) <= max_chunk_size:
        return [data] if data else []
    view = memoryview(data)
    return [bytes(view[i : i + max_chunk_size]) for i in range(0, len(data), max_chunk_size)]


def frame_headers(total_bytes: int, records: int) -> list[tuple[bytes, bytes]]:
    """The headers of a message's first record: its record count, then its size."""
    return [
        (FRAME_RECORDS_HEADER, encode_u64(records)),
        (FRAME_BYTES_HEADER, encode_u64(total_bytes)),
    ]


def parse_frame_headers(headers: Iterable[tuple[bytes, bytes]]) -> tuple[int, int] | None:
    """``(total bytes, records)`` of a record that starts a message, else None (the last
    of a repeated header counts).

    Raises:
        ValueError: a frame header's value is not 8 bytes.
    """
    fields = dict(headers)
    size, count = fields.get(FRAME_BYTES_HEADER), fields.get(FRAME_RECORDS_HEADER)
    if size is None or count is None:
        return None
    return decode_u64(size), decode_u64(count)


def frame_records(chunks: Sequence[bytes]) -> list[Record]:
    """One record per chunk of a message, the first carrying the frame headers."""
    if not chunks:
        return []
    total = sum(len(chunk) for chunk in chunks)
    records = [Record(body=chunk) for chunk in chunks]
    records[0].headers = frame_headers(total, len(chunks))
    return records


def dedupe_headers(writer_id: str, seq: int) -> list[tuple[bytes, bytes]]:
    """A record's deduplication headers: its writer's sequence number, then the writer."""
    return [(DEDUPE_SEQ_HEADER, encode_u64(seq)), (WRITER_ID_HEADER, writer_id.encode())]


_LEGACY_WRITER = "__legacy__"
"""The writer of a record with a sequence number but no writer id (the TypeScript
reader's name for it)."""


def parse_dedupe_headers(headers: Iterable[tuple[bytes, bytes]]) -> tuple[str, int] | None:
    """``(writer id, sequence number)`` of a record, else None when it has no sequence
    number (the last of a repeated header counts).

    Raises:
        ValueError: the sequence number is not 8 bytes.
    """
    fields = dict(headers)
    seq = fields.get(DEDUPE_SEQ_HEADER)
    if seq is None:
        return None
    writer = fields.get(WRITER_ID_HEADER)
    name = _LEGACY_WRITER if writer is None else writer.decode("utf-8", "replace")
    return name, decode_u64(seq)
