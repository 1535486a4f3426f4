"""Protobuf's base-128 varints, for code that writes or walks protobuf bytes directly (a
client's ``AppendInput``, a server's stored records, a reader locating record bodies)."""

from __future__ import annotations

__all__ = ["read_varint", "varint"]


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


def read_varint(data: bytes | bytearray | memoryview, pos: int) -> tuple[int, int]:
    """The varint at ``data[pos]`` and the position after it.

    Raises:
        IndexError: ``data`` ends inside the varint.
    """
    result = shift = 0
    while True:
        b = data[pos]
        pos += 1
        result |= (b & 0x7F) << shift
        if b < 0x80:
            return result, pos
        shift += 7
