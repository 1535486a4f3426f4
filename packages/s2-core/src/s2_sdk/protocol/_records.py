"""Record-level rules: metered size, command records and header validation."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Protocol

from s2_sdk.protocol._limits import MAX_FENCING_TOKEN_BYTES, MAX_RECORD_METERED_BYTES

__all__ = [
    "COMMAND_FENCE",
    "COMMAND_TRIM",
    "HeaderLike",
    "command_of",
    "metered_size",
    "record_error",
]

COMMAND_FENCE = b"fence"
COMMAND_TRIM = b"trim"


class HeaderLike(Protocol):
    """A protobuf ``Header``: anything with ``name`` and ``value`` bytes."""

    @property
    def name(self) -> bytes: ...

    @property
    def value(self) -> bytes: ...


def metered_size(headers: Iterable[tuple[bytes, bytes]], body: bytes) -> int:
    """Metered size: ``8 + 2·len(headers) + Σ(len(name) + len(value)) + len(body)``."""
    size = 8 + len(body)
    for name, value in headers:
        size += 2 + len(name) + len(value)
    return size


def command_of(headers: Sequence[HeaderLike]) -> bytes | None:
    """The command (``b"fence"``/``b"trim"``/other) if this is a command record."""
    if len(headers) == 1 and not headers[0].name:
        return headers[0].value
    return None


def record_error(headers: Sequence[HeaderLike], body: bytes, size: int) -> str | None:
    """Why a record may not be appended, or None.

    ``size`` is the record's metered size (see :func:`metered_size`).
    """
    if size > MAX_RECORD_METERED_BYTES:
        return "record must have metered size less than 1 MiB"
    if not headers:
        return None
    command = command_of(headers)
    if command is None:
        if any(not h.name for h in headers):
            return "invalid header: empty name"
        return None
    if command == COMMAND_FENCE:
        try:
            token = body.decode()
        except UnicodeDecodeError:
            return "invalid fence command: fencing token must be UTF-8"
        if len(token.encode()) > MAX_FENCING_TOKEN_BYTES:
            return f"invalid fence command: fencing token exceeds {MAX_FENCING_TOKEN_BYTES} bytes"
        return None
    if command == COMMAND_TRIM:
        if len(body) != 8:
            return "invalid trim command: body must be an 8-byte big-endian sequence number"
        return None
    return "unknown command"
