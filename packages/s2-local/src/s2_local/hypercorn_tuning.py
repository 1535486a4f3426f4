"""Adjustments to hypercorn's HTTP/2 protocol, applied by :func:`apply`.

1. Receive windows: hypercorn keeps h2's default 64 KiB receive window (per
   stream and per connection) and offers no setting for it, so a client
   pipelining appends waits for a WINDOW_UPDATE round trip every 64 KiB; on this
   project's benchmark that halved append throughput. hypercorn is made to
   advertise 16 MiB windows (the S2 Python SDK asks for 10 MiB on its side).
2. Late request data: a client may end its request (an empty DATA frame with
   END_STREAM) after the response already completed; hypercorn then looks the
   closed stream up, fails with a KeyError and drops the whole connection with
   every other stream on it. Data for a stream it already closed is ignored.
3. Idle timer at shutdown: a connection whose task group is already shutting down
   (server stopping with sessions open) still restarts its idle timer; the task
   group refuses the task, and the refusal surfaced as an unhandled error with a
   traceback plus a "coroutine was never awaited" warning. The timer is skipped.
4. Draining: each HTTP/2 connection registers in its server's :class:`Connections`
   (the ``s2_connections`` attribute of the hypercorn config), so a server can drain
   the connections it has: a draining connection sends GOAWAY once its last stream
   ends (hypercorn itself only does so when the whole server stops).

Applied once, at import of :mod:`s2_local.server`; hypercorn is left untouched
if its internals differ from the versions this was written for.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import weakref
from collections.abc import Callable
from typing import Any

import h2.settings

__all__ = ["WINDOW", "Connections", "apply"]

WINDOW = 16 * 1024 * 1024
log = logging.getLogger("s2_local.hypercorn")
_applied = False


def apply() -> None:
    """Patch hypercorn's HTTP/2 protocol to open 16 MiB receive windows (idempotent)."""
    global _applied
    if _applied:
        return
    try:
        from hypercorn.protocol.h2 import H2Protocol
    except ImportError:
        return
    original_init = H2Protocol.__init__
    original_initiate = getattr(H2Protocol, "initiate", None)
    if original_initiate is None:
        log.debug("hypercorn's H2Protocol has no initiate(); keeping default windows")
        return

    def __init__(self: Any, *args: Any, **kwargs: Any) -> None:
        original_init(self, *args, **kwargs)
        config = self.config
        registry = getattr(config, "s2_connections", None)
        if isinstance(registry, Connections):
            registry.add(self)
        self.connection.local_settings = h2.settings.Settings(
            client=False,
            initial_values={
                h2.settings.SettingCodes.MAX_CONCURRENT_STREAMS: config.h2_max_concurrent_streams,
                h2.settings.SettingCodes.MAX_HEADER_LIST_SIZE: config.h2_max_header_list_size,
                h2.settings.SettingCodes.ENABLE_CONNECT_PROTOCOL: 1,
                h2.settings.SettingCodes.INITIAL_WINDOW_SIZE: WINDOW,
            },
        )
        if type(getattr(self, "streams", None)) is dict:
            self.streams = _ClosedStreamsIgnored(self.streams)

    async def initiate(self: Any, *args: Any, **kwargs: Any) -> None:
        await original_initiate(self, *args, **kwargs)
        self.connection.increment_flow_control_window(WINDOW)
        await self._flush()

    original_stream_send = H2Protocol.stream_send

    async def stream_send(self: Any, event: Any) -> None:
        await original_stream_send(self, event)
        if getattr(self, "s2_draining", False):
            await _goaway_if_idle(self)

    H2Protocol.__init__ = __init__  # type: ignore[method-assign]
    H2Protocol.initiate = initiate  # type: ignore[method-assign]
    H2Protocol.stream_send = stream_send  # type: ignore[method-assign]
    _skip_idle_timer_when_closing()
    _applied = True


async def _goaway_if_idle(protocol: Any) -> None:
    """Send GOAWAY once no request is in progress and every response has gone out."""
    if protocol.closed or not protocol.idle or getattr(protocol, "s2_goaway", None):
        return

    async def goaway() -> None:
        # a response's last frames are written by hypercorn's send task after the
        # stream already counts as closed: GOAWAY before them would cut them off
        for _ in range(500):
            if protocol.closed or not protocol.idle:
                protocol.s2_goaway = None  # busy again: the next stream end retries
                return
            if not protocol.stream_buffers:
                break
            await asyncio.sleep(0.01)
        with contextlib.suppress(Exception):  # the connection may be closing meanwhile
            protocol.connection.close_connection()
            await protocol._flush()

    protocol.s2_goaway = asyncio.ensure_future(goaway())


class Connections:
    """The live HTTP/2 connections of one server (hypercorn's protocol objects)."""

    def __init__(self) -> None:
        self._live: weakref.WeakSet[Any] = weakref.WeakSet()

    def add(self, protocol: Any) -> None:
        """Register a connection (called as hypercorn creates it)."""
        self._live.add(protocol)

    def clients(self) -> set[tuple[str, int]]:
        """The peer address of every live connection."""
        return {p.client for p in self._live if p.client is not None and not p.closed}

    async def drain(self) -> set[tuple[str, int]]:
        """Mark every live connection draining: each sends GOAWAY once idle (at once if it
        is idle now). Returns their peer addresses."""
        protocols = [p for p in self._live if not p.closed]
        for protocol in protocols:
            protocol.s2_draining = True
            await _goaway_if_idle(protocol)
        return {p.client for p in protocols if p.client is not None}

    def busy(self) -> int:
        """How many draining connections still have requests in progress."""
        return sum(
            1
            for p in self._live
            if getattr(p, "s2_draining", False) and not p.closed and not p.idle
        )


def _skip_idle_timer_when_closing() -> None:
    try:
        from hypercorn.asyncio.worker_context import AsyncioSingleTask
    except ImportError:
        return
    if not hasattr(AsyncioSingleTask, "restart"):
        return

    async def restart(self: Any, task_group: Any, action: Callable[[], Any]) -> None:
        async with self._lock:
            if self._handle is not None:
                self._handle.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await self._handle
            timer = action()
            try:
                self._handle = task_group._task_group.create_task(timer)
            except RuntimeError:  # the connection's task group is shutting down
                timer.close()
                self._handle = None

    AsyncioSingleTask.restart = restart  # type: ignore[method-assign]


class _ClosedStream:
    """Stands in for a stream hypercorn already closed: events for it are dropped."""

    async def handle(self, event: object) -> None:
        return None


class _ClosedStreamsIgnored(dict[int, Any]):
    """hypercorn's stream table, answering lookups of closed streams with a no-op."""

    def __missing__(self, stream_id: int) -> _ClosedStream:
        return _ClosedStream()
