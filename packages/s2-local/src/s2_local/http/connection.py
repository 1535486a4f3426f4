"""What an HTTP/2 and an HTTP/1.1 connection share: the transport, coalesced writes,
back-pressure from the socket, the first-request and idle timers, draining and closing.

Sockets are read into one buffer that the server's connections share (they run on one
thread, and each read's bytes are taken by h2 or h11 before the callback returns): no
fresh buffer per read, which asyncio's own loop would allocate (256 KiB, mapped, faulted
in and unmapped each time).

Writes made within one loop iteration go out in one ``send`` (a unary response's
headers and body, say); large writes go at once, and whoever made them waits while the
socket's buffer is above its high-water mark (:meth:`Connection.writable`). A client
that stops reading its socket therefore holds at most that much of the server's memory
per connection; while that much is waiting, the connection stops reading too, so that
frames the server answers by itself (pings, settings) cannot pile up replies either.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
from collections.abc import MutableMapping
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote

from s2_local.http.exchange import ASGIApp, Exchange, run_exchange
from s2_local.http.limits import Limits

if TYPE_CHECKING:
    from s2_local.http.listener import HttpServer

__all__ = ["ASGI_VERSION", "WRITE_HIGH_WATER", "Connection", "peer"]

log = logging.getLogger("s2_local.http")

ASGI_VERSION = {"version": "3.0", "spec_version": "2.3"}
WRITE_HIGH_WATER = 512 * 1024
"""Bytes a connection's socket buffer may hold before senders wait (asyncio's transport
default is 64 KiB: a 1 MiB read batch would wait on the socket 16 times)."""
_READ_STOP = 4 * WRITE_HIGH_WATER
"""Bytes waiting to be written at which the connection stops reading."""
LINGER = 2.0
"""Seconds a connection waits for its client to close after the last thing it sends
(GOAWAY, a response with ``Connection: close``) before closing itself."""


def peer(address: Any) -> tuple[str, int] | None:
    """An ASGI ``client`` / ``server`` pair from a socket address."""
    if isinstance(address, tuple) and len(address) >= 2:
        return (str(address[0]), int(address[1]))
    return None


class Connection(asyncio.BufferedProtocol):
    """The base of :class:`~s2_local.http.h2_connection.H2Connection` and
    :class:`~s2_local.http.h11_connection.H11Connection`."""

    http_version = ""

    def __init__(self, server: HttpServer, transport: asyncio.Transport) -> None:
        self.server = server
        self.app: ASGIApp = server.app
        self.limits: Limits = server.limits
        self.loop = asyncio.get_running_loop()
        self.transport = transport
        self.client = peer(transport.get_extra_info("peername"))
        self.sockname = peer(transport.get_extra_info("sockname"))
        self.scheme = "https" if transport.get_extra_info("sslcontext") else "http"
        self.exchanges: dict[int, Exchange] = {}
        self.closed = False
        self.draining = False
        self.closing = False
        """Nothing more is sent (a final GOAWAY or a response that closes); waiting for
        the client to close or for :data:`LINGER`."""
        self._paused = False
        self._writable: list[asyncio.Future[None]] = []
        self._flush_scheduled = False
        self._write_shut = False
        self._read_stops: set[str] = set()
        self._deadline = 0.0
        self._timer: asyncio.TimerHandle | None = None
        transport.set_write_buffer_limits(high=WRITE_HIGH_WATER)
        sock = transport.get_extra_info("socket")
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.idle_in(self.limits.header_timeout)

    # -- what the connection kinds provide

    def data_received(self, data: bytes | memoryview) -> None:
        """Bytes from the socket (valid during the call only)."""
        raise NotImplementedError

    def pending_output(self) -> bytes:
        """Bytes to write now (from the protocol library's buffer)."""
        raise NotImplementedError

    def on_timeout(self) -> None:
        """The connection stayed idle past its deadline."""
        self.close()

    def drain(self) -> None:
        """Finish the requests in progress, take no more, then close."""
        self.draining = True

    def terminate(self) -> None:
        """Shut down now: tell the client if the protocol can, then close."""
        self.close()

    # -- scopes

    def scope(
        self, method: str, raw_path: bytes, query: bytes, headers: list[Any]
    ) -> MutableMapping[str, Any]:
        """The ASGI scope of a request on this connection."""
        path = raw_path.decode("latin-1")
        return {
            "type": "http",
            "asgi": ASGI_VERSION,
            "http_version": self.http_version,
            "method": method,
            "scheme": self.scheme,
            "path": unquote(path, errors="replace") if "%" in path else path,
            "raw_path": raw_path,
            "query_string": query,
            "root_path": "",
            "headers": headers,
            "client": self.client,
            "server": self.sockname,
            "extensions": {},
        }

    def start_exchange(self, exchange: Exchange) -> None:
        """Run the app for a new request."""
        self.exchanges[exchange.stream_id] = exchange
        exchange.task = self.loop.create_task(run_exchange(self.app, exchange))

    @property
    def busy(self) -> bool:
        """Whether a request is in progress."""
        return bool(self.exchanges)

    # -- reading into the server's buffer

    def get_buffer(self, sizehint: int) -> memoryview:
        return self.server.receive_buffer

    def buffer_updated(self, nbytes: int) -> None:
        self.data_received(self.server.receive_buffer[:nbytes])

    # -- writing

    def schedule_flush(self) -> None:
        """Write what is pending at the end of this loop iteration."""
        if not self._flush_scheduled:
            self._flush_scheduled = True
            self.loop.call_soon(self.flush)

    def flush(self) -> None:
        """Write what is pending now."""
        self._flush_scheduled = False
        if self.closed:
            return
        data = self.pending_output()
        if data and not self._write_shut:  # after linger() nothing more goes out
            self.transport.write(data)
            if self.transport.get_write_buffer_size() > _READ_STOP:
                self.stop_reading("backlog")

    async def writable(self) -> None:
        """Wait while the socket's buffer is above its high-water mark."""
        while self._paused and not self.closed:
            waiter = self.loop.create_future()
            self._writable.append(waiter)
            await waiter

    def pause_writing(self) -> None:
        self._paused = True

    def resume_writing(self) -> None:
        self._paused = False
        self.start_reading("backlog")
        self._release_writers()

    def _release_writers(self) -> None:
        waiters, self._writable = self._writable, []
        for waiter in waiters:
            if not waiter.done():
                waiter.set_result(None)

    # -- reading

    def stop_reading(self, reason: str) -> None:
        """Stop reading the socket until :meth:`start_reading` with the same reason (and
        every other reason given)."""
        if not self._read_stops and not self.closed:
            self.transport.pause_reading()
        self._read_stops.add(reason)

    def start_reading(self, reason: str) -> None:
        """Undo :meth:`stop_reading` for ``reason``."""
        if reason in self._read_stops:
            self._read_stops.discard(reason)
            if not self._read_stops and not self.closed:
                self.transport.resume_reading()

    # -- timers

    def idle_in(self, seconds: float) -> None:
        """Close the connection if it is still idle ``seconds`` from now."""
        self._deadline = self.loop.time() + seconds
        if self._timer is None and not self.closed:
            self._timer = self.loop.call_at(self._deadline, self._check_idle)

    def _check_idle(self) -> None:
        self._timer = None
        if self.closed or self.busy:
            return  # busy: the end of its last request sets a new deadline
        if self.loop.time() < self._deadline:
            self._timer = self.loop.call_at(self._deadline, self._check_idle)
        else:
            self.on_timeout()

    # -- closing

    def linger(self) -> None:
        """Nothing more will be sent: let the client read it and close, then close.

        The write side is shut (FIN after the data) rather than the socket closed, so
        that what the client sends meanwhile cannot make the kernel reset the connection
        before the client has read our last bytes.
        """
        if self.closing or self.closed:
            return
        self.closing = True
        self.flush()
        if self.transport.can_write_eof():
            self._write_shut = True
            with contextlib.suppress(OSError, RuntimeError):
                self.transport.write_eof()
        self.loop.call_later(LINGER, self.close)

    def close(self) -> None:
        """Close the socket (after writing what is pending)."""
        if not self.closed:
            with contextlib.suppress(Exception):
                self.flush()
            self.transport.close()

    def eof_received(self) -> bool | None:
        if self.closing:
            self.close()
        return None  # the transport closes itself

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        for exchange in self.exchanges.values():
            exchange.disconnect()
        self._release_writers()
        self.server.forget(self)
