"""How much a client may take of the server: time, connections, streams, resets."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["Limits"]


@dataclass(frozen=True, slots=True)
class Limits:
    """The server's limits against slow, greedy or malicious clients.

    Attributes:
        header_timeout: Seconds a new connection has to send its first request.
        body_timeout: Longest pause, in seconds, within a request body (or in the middle of
            an append session's frame) before the request fails with 408.
        idle_timeout: Seconds an idle connection (no request in progress) stays open.
        max_connections: Connections served at once; more are closed as they come.
        max_streams: Concurrent requests per HTTP/2 connection (advertised); a stream
            beyond it is refused (REFUSED_STREAM), the others go on.
        max_resets: Streams a client may reset within 10 seconds before its connection is
            closed (ENHANCE_YOUR_CALM: the HTTP/2 rapid-reset attack).
    """

    header_timeout: float = 10.0
    body_timeout: float = 30.0
    idle_timeout: float = 60.0
    max_connections: int = 1024
    max_streams: int = 1000
    max_resets: int = 10_000

    def __post_init__(self) -> None:
        for name in ("header_timeout", "body_timeout", "idle_timeout"):
            if not getattr(self, name) > 0:
                raise ValueError(f"{name} must be positive")
        for name in ("max_connections", "max_streams", "max_resets"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be at least 1")
