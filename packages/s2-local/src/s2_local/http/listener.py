"""s2-local's HTTP server: accepts connections on one port for HTTP/2 (prior knowledge,
or ALPN ``h2`` over TLS) and HTTP/1.1, runs the ASGI app's lifespan, and drains and
closes its connections.

Which protocol a plain connection speaks is told by its first bytes (the HTTP/2
preface, or anything else for HTTP/1.1); over TLS, by ALPN. At most
``max_connections`` are served at once: more are closed as they come.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
import ssl
from collections.abc import MutableMapping
from typing import Any, cast

from s2_local.http.connection import ASGI_VERSION, Connection
from s2_local.http.exchange import ASGIApp, Message
from s2_local.http.h2_connection import PREFACE, H2Connection
from s2_local.http.h11_connection import H11Connection
from s2_local.http.limits import Limits

__all__ = ["HttpServer", "Lifespan", "LifespanError", "tls_context"]

log = logging.getLogger("s2_local.http")

RECEIVE_BUFFER = 256 * 1024
"""Bytes one read from a socket takes at most."""
_CLOSE_WAIT = 2.0
"""Seconds :meth:`HttpServer.close` gives requests to end once their connections are
closed, before it cancels them."""


def tls_context(cert_file: str, key_file: str) -> ssl.SSLContext:
    """A server TLS context offering HTTP/2 and HTTP/1.1 by ALPN."""
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert_file, key_file)
    context.set_alpn_protocols(["h2", "http/1.1"])
    return context


class _Accepting(asyncio.Protocol):
    """A new connection, until it is known which protocol it speaks."""

    def __init__(self, server: HttpServer) -> None:
        self._server = server
        self._transport: asyncio.Transport | None = None
        self._buffer = b""
        self._timer: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # a stream transport, though uvloop's are not subclasses of asyncio.Transport
        transport = cast(asyncio.Transport, transport)
        self._transport = transport
        server = self._server
        if server.count >= server.limits.max_connections:
            log.warning("refusing a connection: %d connections are open", server.count)
            transport.close()
            return
        server.accepting.add(self)
        ssl_object = transport.get_extra_info("ssl_object")
        alpn = ssl_object.selected_alpn_protocol() if ssl_object is not None else None
        if alpn == "h2":
            self._become(H2Connection)
        elif alpn == "http/1.1":
            self._become(H11Connection)
        else:
            loop = asyncio.get_running_loop()
            self._timer = loop.call_later(server.limits.header_timeout, transport.close)

    def data_received(self, data: bytes) -> None:
        self._buffer += data
        head = self._buffer[: len(PREFACE)]
        if head == PREFACE:
            self._become(H2Connection)
        elif not PREFACE.startswith(head):
            self._become(H11Connection)

    def _become(self, kind: type[Connection]) -> None:
        assert self._transport is not None
        if self._timer is not None:
            self._timer.cancel()
        self._server.accepting.discard(self)
        conn = kind(self._server, self._transport)
        self._transport.set_protocol(conn)
        self._server.connections.add(conn)
        if self._buffer:
            conn.data_received(self._buffer)

    def connection_lost(self, exc: Exception | None) -> None:
        if self._timer is not None:
            self._timer.cancel()
        self._server.accepting.discard(self)


class HttpServer:
    """Serves an ASGI app over HTTP/2 and HTTP/1.1 (see the module docstring)."""

    def __init__(self, app: ASGIApp, limits: Limits, tls: ssl.SSLContext | None = None) -> None:
        self.app = app
        self.limits = limits
        self.tls = tls
        self.connections: set[Connection] = set()
        """The connections being served."""
        self.accepting: set[_Accepting] = set()
        self.receive_buffer = memoryview(bytearray(RECEIVE_BUFFER))
        """What every connection's socket is read into (see :class:`Connection`)."""
        self._server: asyncio.Server | None = None

    @property
    def count(self) -> int:
        """Open connections (those whose protocol is not known yet included)."""
        return len(self.connections) + len(self.accepting)

    async def start(self, sock: socket.socket) -> None:
        """Accept connections on the listening ``sock``."""
        loop = asyncio.get_running_loop()
        self._server = await loop.create_server(
            lambda: _Accepting(self), sock=sock, ssl=self.tls, backlog=1024
        )

    def stop_accepting(self) -> None:
        """Accept no more connections (those open go on)."""
        if self._server is not None:
            self._server.close()

    def forget(self, conn: Connection) -> None:
        """``conn`` closed."""
        self.connections.discard(conn)

    def clients(self) -> set[tuple[str, int]]:
        """The peer address of every open connection."""
        return {c.client for c in self.connections if c.client is not None and not c.closed}

    def drain(self) -> None:
        """Drain every open connection: its requests in progress go on, then it closes
        (HTTP/2 after GOAWAY)."""
        for conn in list(self.connections):
            conn.drain()

    def busy(self) -> int:
        """How many draining connections still have requests in progress."""
        return sum(1 for c in self.connections if c.draining and c.busy and not c.closed)

    async def close(self) -> None:
        """Close every connection now; requests still running after a moment are cancelled."""
        self.stop_accepting()
        for pending in list(self.accepting):
            if pending._transport is not None:
                pending._transport.close()
        tasks = [e.task for c in self.connections for e in c.exchanges.values() if e.task]
        for conn in list(self.connections):
            conn.terminate()
        if tasks:
            _, running = await asyncio.wait(tasks, timeout=_CLOSE_WAIT)
            for task in running:
                task.cancel()
            if running:
                await asyncio.wait(running, timeout=_CLOSE_WAIT)
        if self._server is not None:
            self._server.close()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._server.wait_closed(), _CLOSE_WAIT)


class LifespanError(Exception):
    """The app failed to start (its ``lifespan.startup.failed`` message)."""


class Lifespan:
    """The ASGI lifespan protocol, run for one app: ``async with Lifespan(app):``."""

    def __init__(self, app: ASGIApp) -> None:
        self._app = app
        self._to_app: asyncio.Queue[Message] = asyncio.Queue()
        self._from_app: asyncio.Queue[Message] = asyncio.Queue()
        self._task: asyncio.Task[None] | None = None

    async def _run(self) -> None:
        scope: MutableMapping[str, Any] = {"type": "lifespan", "asgi": ASGI_VERSION, "state": {}}
        try:
            await self._app(scope, self._to_app.get, self._send)
        except Exception as e:
            log.exception("the application's lifespan failed")
            await self._from_app.put({"type": "lifespan.startup.failed", "message": str(e)})

    async def _send(self, message: Message) -> None:
        await self._from_app.put(message)

    async def __aenter__(self) -> Lifespan:
        self._task = asyncio.create_task(self._run())
        await self._to_app.put({"type": "lifespan.startup"})
        answer = await self._from_app.get()
        if answer["type"] != "lifespan.startup.complete":
            await self._task
            raise LifespanError(answer.get("message", "the application failed to start"))
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        assert self._task is not None
        if self._task.done():
            return
        await self._to_app.put({"type": "lifespan.shutdown"})
        await self._from_app.get()
        await self._task
