"""Cross-origin requests from browsers (CORS), and refusing the ones not allowed.

By default a web app served from the developer's own machine (``http://localhost:*``,
``http://127.0.0.1:*``, ``http://[::1]:*``, and their ``https`` forms) may call
s2-local from the browser: preflights are answered, the S2 request headers allowed and
the response headers exposed. ``--cors-origin`` adds origins (``*``: any), ``--no-cors``
turns it off.

A request that carries an ``Origin`` that is not allowed (and is not the server's own)
is refused with 403 before it does anything: an unauthenticated local server must be
neither readable nor writable by whatever page the developer happens to visit.
"""

from __future__ import annotations

from collections.abc import Iterable

__all__ = ["LOOPBACK_ORIGINS", "Cors"]

LOOPBACK_ORIGINS = tuple(
    f"{scheme}://{host}:*"
    for scheme in ("http", "https")
    for host in ("localhost", "127.0.0.1", "[::1]")
)
"""The origins allowed by default (``:*``: any port, or none)."""

_METHODS = b"GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS"
_ALLOWED_HEADERS = (
    b"authorization, content-type, content-encoding, accept, accept-encoding, last-event-id, "
    b"s2-basin, s2-format, s2-request-token, s2-encryption-key, s2-stream-config"
)
_EXPOSED_HEADERS = b"content-encoding, content-length, cache-control, retry-after-ms"
_MAX_AGE = b"600"


class Cors:
    """Which origins may call the server, and the headers that tell browsers so.

    ``origins`` are exact origins (``http://app.test:3000``), patterns ending in ``:*``
    (any port), or ``*`` (any origin); an empty list allows none (CORS off).
    """

    def __init__(self, origins: Iterable[str] = LOOPBACK_ORIGINS) -> None:
        self.origins = tuple(origins)
        self._any = "*" in self.origins
        self._exact = {o for o in self.origins if not o.endswith(":*")}
        self._any_port = tuple(o[:-2] for o in self.origins if o.endswith(":*"))

    def allows(self, origin: str) -> bool:
        """Whether a browser page of ``origin`` may call the server."""
        if self._any or origin in self._exact:
            return True
        for prefix in self._any_port:
            if origin == prefix:
                return True
            if origin.startswith(prefix + ":") and origin[len(prefix) + 1 :].isdigit():
                return True
        return False

    def admits(self, origin: str, host: str | None) -> bool:
        """Whether a request from ``origin`` may be served: allowed, or the server's own
        origin (a page served by this server, whose ``Host`` the origin names)."""
        if self.allows(origin):
            return True
        own = origin.split("://", 1)[-1]
        return host is not None and own == host

    def preflight(self, origin: str) -> list[tuple[bytes, bytes]]:
        """Headers of the answer to an allowed preflight (``OPTIONS``)."""
        return [
            *self.response_headers(origin),
            (b"access-control-allow-methods", _METHODS),
            (b"access-control-allow-headers", _ALLOWED_HEADERS),
            (b"access-control-max-age", _MAX_AGE),
        ]

    def response_headers(self, origin: str) -> list[tuple[bytes, bytes]]:
        """Headers letting an allowed origin read a response."""
        return [
            (b"access-control-allow-origin", origin.encode("latin-1")),
            (b"access-control-expose-headers", _EXPOSED_HEADERS),
            (b"vary", b"origin"),
        ]
