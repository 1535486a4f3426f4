"""Protobuf's base-128 varints, for encoders that write protobuf bytes directly (a
client's ``AppendInput``, a server's stored records)."""

from __future__ import annotations

__all__ = ["varint"]


def _encode_varint(value: int) -> bytes:
    out = bytearray()
    while value >= 0x80:
        out.append(value & 0x7F | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


_SMALL = 1 << 14
_VARINTS = [_encode_varint(i) for i in range(_SMALL)]
"""Every one- and two-byte varint, looked up instead of computed."""
_CONTINUED = [bytes((i & 0x7F | 0x80, i >> 7 | 0x80)) for i in range(_SMALL)]
"""The first two bytes of a varint of 2**14 or more, by its low 14 bits."""


def varint(value: int) -> bytes:
    """The protobuf varint encoding of a non-negative int (14 bits per table lookup)."""
    if value < _SMALL:
        return _VARINTS[value]
    return _CONTINUED[value & 0x3FFF] + varint(value >> 14)
