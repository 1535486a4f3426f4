"""Adjustments to hypercorn's HTTP/2 protocol for the servers s2-local starts (:func:`tune`).

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
4. Unread request bodies: a request answered without reading all of its body (an
   early error, a body over the limit) used to wedge the whole connection: the rest of
   the body filled the app's queue, hypercorn's reader waited for room forever, and so
   did the app's own disconnect message. When the exchange ends, its unread body is
   dropped, and once the response is out the stream is reset with NO_ERROR so that the
   client stops sending it (RFC 9113, section 8.1).
5. Limits (:class:`~s2_local.limits.Limits`, from the ``s2_limits`` attribute of the
   hypercorn config): a new connection must send a request within ``header_timeout``;
   at most ``max_connections`` are served; a stream beyond ``max_streams`` is refused
   with REFUSED_STREAM (hypercorn's priority tree and h2 used to drop the whole
   connection at 1,000 streams); a client resetting more than ``max_resets`` streams in
   10 s is sent GOAWAY (ENHANCE_YOUR_CALM) and closed.
6. Draining: each HTTP/2 connection registers in its server's :class:`Connections`
   (the ``s2_connections`` attribute of the hypercorn config), so a server can drain
   the connections it has: a draining connection sends GOAWAY once its last stream
   ends (hypercorn itself only does so when the whole server stops).
7. Less work per response: the small writes of a connection within two loop iterations
   go out in one ``send`` (a unary response took three), a body's last frame carries
   END_STREAM (hypercorn sent an empty frame for it), and response headers are encoded
   by s2_sdk's :class:`~s2_sdk.protocol.StatelessEncoder` without h2's per-header checks
   (the app and hypercorn make them well-formed).

:func:`tune` marks a hypercorn ``Config`` as s2-local's. The first call patches
hypercorn's classes; every patched method serves other configs exactly as hypercorn
does, so an application serving its own hypercorn app in the same process is not
affected, and importing s2-local changes nothing. The patches follow hypercorn's
internals of the versions in :data:`HYPERCORN_VERSIONS` (the package pins that range);
on any other version :func:`tune` raises instead of serving untuned.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import importlib.metadata
import logging
import time
import weakref
from collections.abc import Callable
from typing import Any

import h2.errors
import h2.events
import h2.exceptions
import h2.settings
import h2.stream
import hypercorn.events
from hypercorn.asyncio.worker_context import AsyncioSingleTask
from priority.priority import PriorityTree, TooManyStreamsError
from s2_sdk.protocol import H2_MAX_FRAME_SIZE, quiet_frames, stateless_headers

from s2_local.http.limits import Limits

__all__ = ["HYPERCORN_VERSIONS", "WINDOW", "Connections", "check_version", "tune"]

WINDOW = 16 * 1024 * 1024
HYPERCORN_VERSIONS = ("0.18",)
"""The hypercorn releases (major.minor) whose internals these patches follow."""
log = logging.getLogger("s2_local.hypercorn")
_applied = False


def tune(config: Any) -> None:
    """Serve ``config`` with s2-local's HTTP/2 tuning (patching hypercorn on first use).

    Raises:
        RuntimeError: the installed hypercorn is not one of :data:`HYPERCORN_VERSIONS`.
    """
    check_version(importlib.metadata.version("hypercorn"))
    config.s2_tuned = True
    _apply()


def check_version(version: str) -> None:
    """Refuse a hypercorn whose internals the patches were not written for.

    Raises:
        RuntimeError: ``version`` is not one of :data:`HYPERCORN_VERSIONS`.
    """
    if ".".join(version.split(".")[:2]) not in HYPERCORN_VERSIONS:
        raise RuntimeError(
            f"s2-local's HTTP/2 tuning is written for hypercorn {', '.join(HYPERCORN_VERSIONS)}.x,"
            f" not {version}: install a supported one (pip install 'hypercorn>=0.18,<0.19')"
        )


def _tuned(config: Any) -> bool:
    return getattr(config, "s2_tuned", False) is True


def _apply() -> None:
    """Patch hypercorn's classes once; the patches act only for tuned configs."""
    global _applied
    if _applied:
        return
    from hypercorn.protocol.h2 import H2Protocol

    original_init = H2Protocol.__init__
    original_initiate = H2Protocol.initiate

    def __init__(self: Any, *args: Any, **kwargs: Any) -> None:
        original_init(self, *args, **kwargs)
        config = self.config
        if not _tuned(config):
            return
        registry = getattr(config, "s2_connections", None)
        if isinstance(registry, Connections):
            registry.add(self)
        limits = _limits(config)
        self.s2_resets = collections.deque()
        self.priority = PriorityTree(maximum_streams=4 * limits.max_streams + 16)
        self.connection.local_settings = h2.settings.Settings(
            client=False,
            initial_values={
                h2.settings.SettingCodes.MAX_CONCURRENT_STREAMS: limits.max_streams,
                h2.settings.SettingCodes.MAX_HEADER_LIST_SIZE: config.h2_max_header_list_size,
                h2.settings.SettingCodes.ENABLE_CONNECT_PROTOCOL: 1,
                h2.settings.SettingCodes.INITIAL_WINDOW_SIZE: WINDOW,
                h2.settings.SettingCodes.MAX_FRAME_SIZE: H2_MAX_FRAME_SIZE,
            },
        )
        self.connection.max_inbound_frame_size = H2_MAX_FRAME_SIZE
        quiet_frames(self.connection)
        stateless_headers(self.connection)
        # response headers come from s2-local's app (lower-case names, checked values)
        # and hypercorn: h2's per-header checks of them are skipped
        self.connection.config.validate_outbound_headers = False
        self.connection.config.normalize_outbound_headers = False
        if type(getattr(self, "streams", None)) is dict:
            self.streams = _ClosedStreamsIgnored(self.streams)

    async def initiate(self: Any, *args: Any, **kwargs: Any) -> None:
        await original_initiate(self, *args, **kwargs)
        if not _tuned(self.config):
            return
        self.connection.increment_flow_control_window(WINDOW)
        await self._flush()
        # The limit is advertised; h2 would end the whole connection when a client goes
        # past it, so h2 itself is given no limit and _create_stream refuses the stream.
        self.connection.local_settings._settings[
            h2.settings.SettingCodes.MAX_CONCURRENT_STREAMS
        ] = collections.deque([2**31 - 1])

    original_create_stream = H2Protocol._create_stream

    async def _create_stream(self: Any, request: Any) -> None:
        if not _tuned(self.config):
            await original_create_stream(self, request)
            return
        limit = _limits(self.config).max_streams
        if len(self.streams) >= limit:
            _refuse(self, request.stream_id)
            return
        try:
            await original_create_stream(self, request)
        except TooManyStreamsError:
            _refuse(self, request.stream_id)

    original_handle_events = H2Protocol._handle_events

    async def _handle_events(self: Any, events: list[Any]) -> None:
        if not _tuned(self.config):
            await original_handle_events(self, events)
            return
        resets = [e for e in events if isinstance(e, h2.events.StreamReset) and e.remote_reset]
        if resets and _too_many_resets(self, len(resets)):
            log.warning("closing a connection from %s: rapid stream resets", self.client)
            with contextlib.suppress(Exception):
                self.connection.close_connection(h2.errors.ErrorCodes.ENHANCE_YOUR_CALM)
                await self._flush()
            await self.send(hypercorn.events.Closed())
            return
        await original_handle_events(self, events)

    original_stream_send = H2Protocol.stream_send

    async def stream_send(self: Any, event: Any) -> None:
        await original_stream_send(self, event)
        if not _tuned(self.config):
            return
        if type(event).__name__ == "StreamClosed":
            _reset_when_answered(self, event.stream_id)
        if getattr(self, "s2_draining", False):
            await _goaway_if_idle(self)

    original_send_data = H2Protocol._send_data

    async def _send_data(self: Any, stream_id: int) -> None:
        if not _tuned(self.config):
            await original_send_data(self, stream_id)
            return
        # as hypercorn's, but the last of a body goes with END_STREAM in its frame
        # rather than in an empty frame of its own (a frame less per response)
        try:
            buffer = self.stream_buffers[stream_id]
            size = min(
                self.connection.local_flow_control_window(stream_id),
                self.connection.max_outbound_frame_size,
            )
            data = await buffer.pop(max(0, size))
            if buffer.complete:
                self.connection.send_data(stream_id, data, end_stream=True)
                await self._flush()
                del self.stream_buffers[stream_id]
                self.priority.remove_stream(stream_id)
            elif data:
                self.connection.send_data(stream_id, data)
                await self._flush()
            else:
                self.priority.block(stream_id)
        except (h2.exceptions.StreamClosedError, KeyError, h2.exceptions.ProtocolError):
            # the stream or connection closed meanwhile, as in hypercorn
            await self.stream_buffers[stream_id].close()
            del self.stream_buffers[stream_id]
            self.priority.remove_stream(stream_id)

    H2Protocol.__init__ = __init__  # type: ignore[method-assign]
    H2Protocol._send_data = _send_data  # type: ignore[method-assign]
    H2Protocol.initiate = initiate  # type: ignore[method-assign]
    H2Protocol._create_stream = _create_stream  # type: ignore[method-assign]
    H2Protocol._handle_events = _handle_events  # type: ignore[method-assign]
    H2Protocol.stream_send = stream_send  # type: ignore[method-assign]
    _drop_body_after_the_app()
    _tune_tcp_server()
    _applied = True


def _limits(config: Any) -> Limits:
    limits = getattr(config, "s2_limits", None)
    return limits if isinstance(limits, Limits) else Limits()


def _refuse(protocol: Any, stream_id: int) -> None:
    with contextlib.suppress(h2.exceptions.H2Error):
        protocol.connection.reset_stream(stream_id, h2.errors.ErrorCodes.REFUSED_STREAM)


_RESET_WINDOW = 10.0


def _too_many_resets(protocol: Any, n: int) -> bool:
    """Count ``n`` resets by the client; whether it went past the limit in the window."""
    now = time.monotonic()
    resets: collections.deque[float] = protocol.s2_resets
    resets.extend([now] * n)
    while resets and resets[0] < now - _RESET_WINDOW:
        resets.popleft()
    return len(resets) > _limits(protocol.config).max_resets


def _tune_tcp_server() -> None:
    """At most ``max_connections`` served at once; a new connection has ``header_timeout``
    seconds to start its first request, then ``idle_timeout`` applies between requests;
    writes are coalesced (:func:`_coalesced_write`)."""
    from hypercorn.asyncio.tcp_server import TCPServer

    original_run = TCPServer.run
    original_protocol_send = TCPServer.protocol_send
    original_idle_timeout = TCPServer._idle_timeout
    original_close = TCPServer._close
    open_counts: dict[int, int] = {}

    async def run(self: Any) -> None:
        if not _tuned(self.config):
            await original_run(self)
            return
        self.idle_task = _IdleTimer()
        key, limit = id(self.config), _limits(self.config).max_connections
        if open_counts.get(key, 0) >= limit:
            log.warning("refusing a connection: %d connections are open", limit)
            self.writer.close()
            with contextlib.suppress(Exception):
                await self.writer.wait_closed()
            return
        open_counts[key] = open_counts.get(key, 0) + 1
        self.s2_out, self.s2_out_size = [], 0  # small writes held (_coalesced_write)
        try:
            await original_run(self)
        finally:
            open_counts[key] -= 1
            if not open_counts[key]:
                del open_counts[key]

    async def protocol_send(self: Any, event: Any) -> None:
        if _tuned(self.config):
            if isinstance(event, hypercorn.events.RawData):
                await _coalesced_write(self, event.data)
                return
            _write_out(self)
            if isinstance(event, hypercorn.events.Updated) and not event.idle:
                self.s2_started = True  # a request came
        await original_protocol_send(self, event)

    async def _idle_timeout(self: Any) -> None:
        if not _tuned(self.config) or getattr(self, "s2_started", False):
            await original_idle_timeout(self)
            return
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(
                self.context.terminated.wait(), _limits(self.config).header_timeout
            )
        await asyncio.shield(self._initiate_server_close())

    async def _close(self: Any) -> None:
        if _tuned(self.config):
            _write_out(self)
        await original_close(self)

    TCPServer.run = run  # type: ignore[method-assign]
    TCPServer._close = _close  # type: ignore[method-assign]
    TCPServer.protocol_send = protocol_send  # type: ignore[method-assign]
    TCPServer._idle_timeout = _idle_timeout  # type: ignore[method-assign]


_SMALL_WRITE = 16 * 1024
"""Writes below this size are coalesced; larger ones (read sessions' batches) go at once."""
_COALESCE_TICKS = 2
"""Loop iterations a small write is held for: hypercorn writes a response's headers from
the app's task and its body from its send task one or two iterations later."""


async def _coalesced_write(server: Any, data: bytes) -> None:
    """Write ``data`` to the socket; small writes are held so that what a connection
    writes within :data:`_COALESCE_TICKS` loop iterations goes out in one ``send``.

    hypercorn wrote every HTTP/2 frame batch as it came: a unary response's headers, body
    and end of stream in three system calls, read by the client in three wake-ups.
    """
    out: list[bytes] = server.s2_out
    out.append(data)
    server.s2_out_size += len(data)
    transport = server.writer.transport
    if server.s2_out_size >= _SMALL_WRITE:
        _write_out(server)
    else:
        if len(out) == 1:
            asyncio.get_running_loop().call_soon(_write_later, server, _COALESCE_TICKS - 1)
        if transport.get_write_buffer_size() <= transport.get_write_buffer_limits()[1]:
            return
    try:
        await server.writer.drain()  # back-pressure, as hypercorn applies it
    except (ConnectionError, RuntimeError):
        await server.protocol.handle(hypercorn.events.Closed())


def _write_later(server: Any, ticks: int) -> None:
    if ticks > 0:
        asyncio.get_running_loop().call_soon(_write_later, server, ticks - 1)
    else:
        _write_out(server)


def _write_out(server: Any) -> None:
    """Write what :func:`_coalesced_write` holds (before anything else happens to the
    connection: closing it, for one)."""
    out: list[bytes] = server.s2_out
    if not out:
        return
    data = b"".join(out)
    out.clear()
    server.s2_out_size = 0
    if not server.writer.is_closing():
        server.writer.write(data)


def _drop_body_after_the_app() -> None:
    from hypercorn.protocol.events import StreamClosed
    from hypercorn.protocol.http_stream import HTTPStream

    original_handle = HTTPStream.handle

    async def handle(self: Any, event: Any) -> None:
        if isinstance(event, StreamClosed) and _tuned(self.config):
            # the exchange is over: body the app did not read never will be; dropping it
            # releases hypercorn's reader if it waits to queue more, and makes room for
            # the disconnect message (hypercorn drops body arriving after this itself)
            queue = getattr(getattr(self, "app_put", None), "__self__", None)
            if isinstance(queue, asyncio.Queue):
                while not queue.empty():
                    queue.get_nowait()
        await original_handle(self, event)

    HTTPStream.handle = handle  # type: ignore[method-assign]


def _reset_when_answered(protocol: Any, stream_id: int) -> None:
    """Once the response to ``stream_id`` is fully out, reset the stream (NO_ERROR) if the
    client is still sending its request: nothing will read the rest."""

    async def reset() -> None:
        for _ in range(500):
            if protocol.closed or stream_id not in protocol.stream_buffers:
                break
            await asyncio.sleep(0.01)
        stream = protocol.connection.streams.get(stream_id)
        if protocol.closed or stream is None or stream.closed:
            return
        with contextlib.suppress(Exception):  # the stream or connection may close meanwhile
            protocol.connection.reset_stream(stream_id, h2.errors.ErrorCodes.NO_ERROR)
            await protocol._flush()

    stream = protocol.connection.streams.get(stream_id)
    if stream is not None and stream.state_machine.state in _STILL_SENDING:
        task = asyncio.ensure_future(reset())
        _background.add(task)
        task.add_done_callback(_background.discard)


_background: set[asyncio.Future[None]] = set()
"""Resets in progress (the loop keeps only weak references to tasks)."""


_STILL_SENDING = (h2.stream.StreamState.OPEN, h2.stream.StreamState.HALF_CLOSED_LOCAL)
"""States of a stream whose client has not ended its request."""


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


class _IdleTimer(AsyncioSingleTask):
    """A connection's idle timer that is not restarted once its task group shuts down."""

    async def restart(self, task_group: Any, action: Callable[[], Any]) -> None:
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


class _ClosedStream:
    """Stands in for a stream hypercorn already closed: events for it are dropped."""

    async def handle(self, event: object) -> None:
        return None


class _ClosedStreamsIgnored(dict[int, Any]):
    """hypercorn's stream table, answering lookups of closed streams with a no-op."""

    def __missing__(self, stream_id: int) -> _ClosedStream:
        return _ClosedStream()
