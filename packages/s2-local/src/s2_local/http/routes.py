"""The route table: every path s2-local serves, its methods and their handlers.

A path is matched segment by segment (segments are percent-decoded, so a stream name
may hold ``/``); ``{name}`` captures a segment and passes it to the handler. A path that
matches no route is 404; a matching path without the method is 405. Requests under
``/v1/`` are authenticated before routing; those under ``/v1/streams`` name their basin
(``s2-basin`` header or the host's first label), which is resolved before routing too
and passed to the handler first.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

__all__ = ["ROUTES", "Match", "Route", "Router"]

Handler = Callable[..., Awaitable[None]]


@dataclass(frozen=True, slots=True)
class Route:
    """``method path`` is served by ``handler``: ``group.method`` of the app's handlers."""

    method: str
    path: str
    handler: str


ROUTES = (
    Route("GET", "/health", "status.ok"),
    Route("HEAD", "/health", "status.ok"),
    Route("GET", "/ping", "status.ok"),
    Route("HEAD", "/ping", "status.ok"),
    Route("GET", "/metrics", "status.prometheus"),
    Route("GET", "/", "console.root"),
    Route("GET", "/console", "console.page"),
    Route("GET", "/console/static/{file}", "console.asset"),  # before: not a basin name
    Route("GET", "/console/{basin}", "console.page"),
    Route("GET", "/console/{basin}/{stream}", "console.page"),
    Route("GET", "/console/{basin}/{stream}/{seq_num}", "console.page"),
    Route("GET", "/v1/basins", "basins.list"),
    Route("POST", "/v1/basins", "basins.create"),
    Route("GET", "/v1/basins/{basin}", "basins.get"),
    Route("PUT", "/v1/basins/{basin}", "basins.ensure"),
    Route("PATCH", "/v1/basins/{basin}", "basins.reconfigure"),
    Route("DELETE", "/v1/basins/{basin}", "basins.delete"),
    Route("GET", "/v1/streams", "streams.list"),
    Route("POST", "/v1/streams", "streams.create"),
    Route("GET", "/v1/streams/{stream}", "streams.get"),
    Route("PUT", "/v1/streams/{stream}", "streams.ensure"),
    Route("PATCH", "/v1/streams/{stream}", "streams.reconfigure"),
    Route("DELETE", "/v1/streams/{stream}", "streams.delete"),
    Route("GET", "/v1/streams/{stream}/records", "records.read"),
    Route("POST", "/v1/streams/{stream}/records", "records.append"),
    Route("GET", "/v1/streams/{stream}/records/tail", "records.tail"),
    Route("GET", "/v1/access-tokens", "admin.list_tokens"),
    Route("POST", "/v1/access-tokens", "admin.issue_token"),
    Route("DELETE", "/v1/access-tokens/{id}", "admin.revoke_token"),
    Route("GET", "/v1/locations", "admin.list_locations"),
    Route("GET", "/v1/locations/default", "admin.get_default_location"),
    Route("PUT", "/v1/locations/default", "admin.set_default_location"),
    Route("GET", "/v1/metrics", "admin.metrics"),
    Route("GET", "/v1/metrics/{basin}", "admin.metrics"),
    Route("GET", "/v1/metrics/{basin}/{stream}", "admin.metrics"),
)

_Pattern = tuple[str | None, ...]
"""A path's segments, None where a segment is captured."""


class Router:
    """The route table compiled against handler groups (built once, at start)."""

    def __init__(self, groups: dict[str, Any], routes: tuple[Route, ...] = ROUTES) -> None:
        self._by_length: dict[int, list[tuple[_Pattern, str, dict[str, Handler]]]] = {}
        for route in routes:
            group, method = route.handler.split(".")
            handler = getattr(groups[group], method)
            pattern = tuple(
                None if s.startswith("{") else s for s in route.path.strip("/").split("/")
            )
            candidates = self._by_length.setdefault(len(pattern), [])
            for known, _, methods in candidates:
                if known == pattern:
                    methods[route.method] = handler
                    break
            else:
                candidates.append((pattern, route.path, {route.method: handler}))

    def match(self, method: str, segments: list[str]) -> Match:
        """The route a request takes (its handler None, and status 404 or 405, if none)."""
        status, path = 404, "unmatched"
        for pattern, path_of, methods in self._by_length.get(len(segments), ()):
            for p, s in zip(pattern, segments, strict=True):
                if p is not None and p != s:
                    break
            else:
                handler = methods.get(method)
                if handler is not None:
                    captured = [s for p, s in zip(pattern, segments, strict=True) if p is None]
                    return Match(handler, captured, path_of, 200)
                status, path = 405, path_of
        return Match(None, [], path, status)


@dataclass(frozen=True, slots=True)
class Match:
    """Where a request goes: the handler and the segments it captured, the route's path
    (for metrics), and the status to answer when there is no handler."""

    handler: Handler | None
    captured: list[str]
    path: str
    status: int
