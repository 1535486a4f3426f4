"""An HTTP/2 request's header block, checked in one pass (RFC 9113, 8.2 and 8.3).

h2 can check received headers itself, through a chain of generators that each header
passes in turn: 15% of s2-local's instructions per unary request. :func:`request_fields`
makes the same checks of a request in one loop, and a malformed request is refused as a
stream error (RST_STREAM PROTOCOL_ERROR) instead of ending the whole connection.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = ["MalformedRequest", "RequestFields", "request_fields"]

_NAME = re.compile(rb"[!-9;-@\[-~]+")
"""A field name: no control characters, space, colon, upper case or bytes over 0x7e."""
_BAD_VALUE = re.compile(rb"[\0\r\n]|\A[ \t]|[ \t]\Z")
_PSEUDO = frozenset({b":method", b":scheme", b":authority", b":path"})
_CONNECTION_SPECIFIC = frozenset(
    {b"connection", b"proxy-connection", b"keep-alive", b"transfer-encoding", b"upgrade"}
)


class MalformedRequest(Exception):
    """The header block breaks a rule of HTTP/2."""


@dataclass(slots=True)
class RequestFields:
    """A request's pseudo-header fields, and its other fields (``host`` from
    ``:authority`` added when the client sent no ``host``)."""

    method: bytes
    path: bytes
    headers: list[tuple[bytes, bytes]]


_CHECKED: set[tuple[bytes, bytes]] = set()
"""Fields that passed :func:`_check_field` lately (clients repeat most of theirs)."""
_MAX_CHECKED = 4096


def _check_field(name: bytes, value: bytes) -> None:
    if value and _BAD_VALUE.search(value):
        raise MalformedRequest(f"bad characters in the value of {name!r}")
    if name[:1] == b":":
        if name not in _PSEUDO:
            raise MalformedRequest(f"unknown pseudo-header {name!r}")
        return
    if not _NAME.fullmatch(name):
        raise MalformedRequest(f"bad header name {name!r}")
    if name in _CONNECTION_SPECIFIC:
        raise MalformedRequest(f"connection-specific header {name!r}")
    if name == b"te" and value != b"trailers":
        raise MalformedRequest("te other than trailers")


def request_fields(block: list[tuple[bytes, bytes]]) -> RequestFields:
    """Check a request's header block and split it.

    Raises:
        MalformedRequest: the block breaks a rule, which the message names.
    """
    pseudo: dict[bytes, bytes] = {}
    headers: list[tuple[bytes, bytes]] = []
    host: bytes | None = None
    checked = _CHECKED
    for field in block:
        name, value = field
        if field not in checked:
            _check_field(name, value)
            if name != b":path":  # paths seldom repeat
                if len(checked) >= _MAX_CHECKED:
                    checked.clear()
                checked.add((name, value))
        if name[:1] == b":":
            if headers:
                raise MalformedRequest(f"pseudo-header {name!r} after a regular header")
            if name in pseudo:
                raise MalformedRequest(f"pseudo-header {name!r} repeated")
            pseudo[name] = value
            continue
        if name == b"host":
            if host is not None:
                raise MalformedRequest("more than one host header")
            host = value
        headers.append((name, value))
    method = pseudo.get(b":method")
    if not method:
        raise MalformedRequest("no :method")
    path = pseudo.get(b":path", b"")
    if method != b"CONNECT" and (not path or b":scheme" not in pseudo):
        raise MalformedRequest("no :scheme or :path")
    authority = pseudo.get(b":authority")
    if authority is None and host is None:
        raise MalformedRequest("neither :authority nor host")
    if authority is not None:
        if host is None:
            headers.append((b"host", authority))
        elif host != authority:
            raise MalformedRequest(":authority and host differ")
    return RequestFields(method, path, headers)
