"""Protobuf's base-128 varints, for encoders that write protobuf bytes directly (a
client's ``AppendInput``, a server's stored records)."""

from __future__ import annotations

__all__ = ["varint"]


_SMALL = 1 << 14
_VARINTS = [bytes((i,)) for i in range(0x80)] + [
    bytes((i & 0x7F | 0x80, i >> 7)) for i in range(0x80, _SMALL)
]
"""Every one- and two-byte varint, looked up instead of computed (built at import)."""
_CONTINUED = [bytes((i & 0x7F | 0x80, i >> 7 | 0x80)) for i in range(_SMALL)]
"""The first two bytes of a varint of 2**14 or more, by its low 14 bits."""


def varint(value: int) -> bytes:
    """The protobuf varint encoding of a non-negative int (14 bits per table lookup)."""
    if value < _SMALL:
        return _VARINTS[value]
    return _CONTINUED[value & 0x3FFF] + varint(value >> 14)
