"""Naming rules for basins, streams, access tokens and locations.

Each check returns None when the value is valid, or a message saying what is
wrong, so the client can raise its own error and the server can pick the right
error code for where the value came from (path, query, header or JSON body).
"""

from __future__ import annotations

import re

__all__ = [
    "access_token_id_error",
    "basin_name_error",
    "basin_prefix_error",
    "location_name_error",
    "stream_name_error",
    "stream_prefix_error",
    "token_id_prefix_error",
]

_BASIN_RE = re.compile(r"[a-z0-9]([a-z0-9-]*[a-z0-9])?")
_BASIN_PREFIX_RE = re.compile(r"([a-z0-9][a-z0-9-]*)?")
_LOCATION_RE = re.compile(r"[A-Za-z0-9:.\-]{1,64}")


def basin_name_error(name: str) -> str | None:
    """Basin names: 8–48 bytes of ``[a-z0-9-]``, starting and ending alphanumeric."""
    if not 8 <= len(name) <= 48:
        return f"basin name must be 8-48 characters long, got {len(name)}: {name!r}"
    if not _BASIN_RE.fullmatch(name):
        return (
            "basin name must comprise lowercase letters, numbers and hyphens, "
            f"and cannot begin or end with a hyphen: {name!r}"
        )
    return None


def basin_prefix_error(prefix: str) -> str | None:
    """Basin list prefix / start_after: at most 48 bytes, same characters."""
    if len(prefix) > 48:
        return f"basin prefix must be at most 48 characters: {prefix!r}"
    if not _BASIN_PREFIX_RE.fullmatch(prefix):
        return f"basin prefix must comprise lowercase letters, numbers and hyphens: {prefix!r}"
    return None


def _name_error(kind: str, name: str, max_bytes: int) -> str | None:
    size = len(name.encode())
    if not 1 <= size <= max_bytes:
        return f"{kind} must be 1-{max_bytes} bytes long, got {size}"
    if name in (".", ".."):
        return f"{kind} cannot be {name!r}"
    if "\x00" in name:
        return f"{kind} cannot contain NUL characters"
    return None


def stream_name_error(name: str) -> str | None:
    """Stream names: 1–512 bytes of UTF-8, not ``.`` or ``..``, no NUL."""
    return _name_error("stream name", name, 512)


def stream_prefix_error(prefix: str) -> str | None:
    """Stream list prefix / start_after: at most 512 bytes."""
    if len(prefix.encode()) > 512:
        return "stream prefix must be at most 512 bytes"
    return None


def access_token_id_error(token_id: str) -> str | None:
    """Access token ids: 1–96 bytes of UTF-8, not ``.`` or ``..``, no NUL."""
    return _name_error("access token id", token_id, 96)


def token_id_prefix_error(prefix: str) -> str | None:
    """Access token list prefix / start_after: at most 96 bytes."""
    if len(prefix.encode()) > 96:
        return "access token id prefix must be at most 96 bytes"
    return None


def location_name_error(name: str) -> str | None:
    """Location names: 1–64 characters of ``[A-Za-z0-9:.-]``."""
    if not _LOCATION_RE.fullmatch(name):
        return f"location must be 1-64 characters of letters, digits, ':', '.' or '-': {name!r}"
    return None
