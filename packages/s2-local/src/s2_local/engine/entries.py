"""How records are stored: as the entries of a protobuf ``ReadBatch``, written directly.

An entry is the ``records`` field of a ``ReadBatch`` (tag ``0x0a``, length, then a
``SequencedRecord``: ``seq_num`` (1), ``timestamp`` (2), ``headers`` (3), ``body`` (4),
zero and empty fields left out as protobuf leaves them out). Appends encode their
records here in the one pass that sequences them: no message object per record and no
second scan to find where each entry ends (:func:`split_entries` is for recovery, where
only the bytes are left).
"""

from __future__ import annotations

from array import array
from collections.abc import Sequence
from typing import Any

from s2_sdk.protocol import MAX_RECORD_METERED_BYTES, ErrorCode, read_varint, varint

from s2_local.errors import ApiError

__all__ = ["encode_plain", "entry", "header_field", "record_fields", "split_entries"]


def header_field(raw: bytes) -> bytes:
    """A ``Header``'s encoding as a ``SequencedRecord.headers`` field."""
    return b"\x1a" + varint(len(raw)) + raw


def record_fields(seq_num: int, timestamp: int, headers: bytes, body: bytes) -> bytes:
    """A ``SequencedRecord``'s encoding; ``headers`` are already encoded fields."""
    out = b"\x08" + varint(seq_num) if seq_num else b""
    if timestamp:
        out += b"\x10" + varint(timestamp)
    out += headers
    if body:
        out += b"\x22" + varint(len(body)) + body
    return out


def entry(fields: bytes) -> bytes:
    """A ``SequencedRecord``'s encoding as a ``ReadBatch.records`` entry."""
    return b"\x0a" + varint(len(fields)) + fields


def encode_plain(
    records: Sequence[Any], first_seq: int, timestamp: int
) -> tuple[bytes, array[int], array[int], int, int]:
    """Encode records as if they had only a body (no header, no timestamp of their own),
    from ``first_seq`` on, all at ``timestamp``: (entries, their byte offsets (n + 1
    values), metered sizes, total metered size, and the size of the records' own encoding
    in an ``AppendInput`` had they only a body). That last size equals their actual encoded
    size only when they have nothing but a body (anything else takes bytes), which tells
    the caller whether the entries are right.

    The hot loop of an append; :func:`record_fields` and :func:`entry` say the same for one
    record (tests/local/test_entries.py holds the two to each other). Within a run of 128
    sequence numbers that share their varint's upper bytes, an entry is a fixed prefix, one
    byte of the sequence number, a fixed suffix (by body length) and the body.

    Raises:
        ApiError: ``invalid`` for a record of 1 MiB or more (metered).
    """
    parts: list[bytes] = []
    push = parts.append
    offsets = array("I", [0])
    mark = offsets.append
    metered = array("I")
    meter = metered.append
    stamp = b"\x10" + varint(timestamp) if timestamp else b""
    seq, i, n, pos, incoming = first_seq, 0, len(records), 0, 0
    while i < n and seq < 128:  # one-byte sequence numbers: no run to share
        body = records[i].body
        _check_size(len(body))
        encoded = entry(record_fields(seq, timestamp, b"", body))
        push(encoded)
        pos += len(encoded)
        mark(pos)
        meter(len(body) + 8)
        incoming += _incoming(len(body))
        seq += 1
        i += 1
    while i < n:
        low = seq & 0x7F
        run = min(n - i, 128 - low)
        upper = varint(seq >> 7)
        shapes: dict[int, tuple[bytes, bytes, int, int]] = {}
        """(prefix, suffix, their length + 1, incoming size) by body length, for this run."""
        for r, low_byte in zip(records[i : i + run], _LOW_BYTES[low : low + run], strict=True):
            body = r.body
            size = len(body)
            shape = shapes.get(size)
            if shape is None:
                shape = shapes[size] = _shape(upper, stamp, size)
            prefix, suffix, fixed, plain = shape
            push(prefix)
            push(low_byte)
            push(suffix)
            push(body)
            pos += fixed + size
            mark(pos)
            meter(size + 8)
            incoming += plain
        seq += run
        i += run
    return b"".join(parts), offsets, metered, sum(metered), incoming


_LOW_BYTES = [bytes((i | 0x80,)) for i in range(128)]
"""The first byte of a varint of 128 or more, by its low 7 bits."""


def _check_size(size: int) -> None:
    if size + 8 > MAX_RECORD_METERED_BYTES:
        raise ApiError(ErrorCode.INVALID, "record must have metered size less than 1 MiB")


def _shape(upper: bytes, stamp: bytes, size: int) -> tuple[bytes, bytes, int, int]:
    """An entry's bytes around the low byte of its sequence number (see :func:`encode_plain`),
    and the size of a record with that body alone in an ``AppendInput``."""
    _check_size(size)
    suffix = upper + stamp + (b"\x22" + varint(size) if size else b"")
    prefix = b"\x0a" + varint(2 + len(suffix) + size) + b"\x08"
    return prefix, suffix, len(prefix) + 1 + len(suffix), _incoming(size)


def _incoming(size: int) -> int:
    """The encoded size of an ``AppendInput.records`` entry whose record has only a body."""
    record = 1 + len(varint(size)) + size if size else 0
    return 1 + len(varint(record)) + record


def split_entries(data: bytes) -> array[int]:
    """Byte offsets of each entry in ``data`` (n + 1 values)."""
    offsets = array("I", [0])
    pos, n = 0, len(data)
    while pos < n:
        length, pos = read_varint(data, pos + 1)
        pos += length
        offsets.append(pos)
    return offsets
