"""One request and its response, between a connection (HTTP/2 stream or HTTP/1.1 cycle)
and the ASGI application: the app's ``receive`` and ``send``.

The request body is queued as it arrives and handed to the app chunk by chunk; the
connection is told what the app took (HTTP/2 then gives the client its flow-control
credit back, HTTP/1.1 resumes reading). Response messages go to the connection, whose
``send_body`` waits while the client's windows are closed or the socket's buffer is
full: what the app sends is never buffered beyond that.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any, Protocol

__all__ = ["ASGIApp", "Exchange", "Responder", "run_exchange"]

Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[MutableMapping[str, Any], Receive, Send], Awaitable[None]]

log = logging.getLogger("s2_local.http")

_DISCONNECT: Message = {"type": "http.disconnect"}


class Responder(Protocol):
    """What an exchange needs of its connection."""

    def start_response(self, exchange: Exchange, status: int, headers: list[Any]) -> None:
        """Send the status line / HEADERS frame."""

    async def send_body(self, exchange: Exchange, data: bytes, end: bool) -> None:
        """Send body bytes (``end``: the last of them), waiting for flow-control credit and
        room in the socket's buffer."""

    def consumed(self, exchange: Exchange, size: int) -> None:
        """The app took ``size`` bytes of request body (flow control)."""

    def finished(self, exchange: Exchange) -> None:
        """The app returned: clean up after the exchange."""


class Exchange:
    """A request being answered by the app (see the module docstring)."""

    __slots__ = (
        "_chunks",
        "_final_given",
        "_waiter",
        "_window",
        "buffered",
        "conn",
        "ended",
        "gone",
        "response_done",
        "scope",
        "started",
        "stream_id",
        "task",
    )

    def __init__(self, conn: Responder, stream_id: int, scope: MutableMapping[str, Any]) -> None:
        self.conn = conn
        self.stream_id = stream_id
        self.scope = scope
        self.task: asyncio.Task[None] | None = None
        self.started = False
        """Whether the app sent its response's start."""
        self.response_done = False
        """Whether the app sent its response's last body message."""
        self.ended = False
        """Whether the client ended its request body."""
        self.gone = False
        """Whether the client went away (reset the stream, closed the connection)."""
        self.buffered = 0
        """Request body bytes received and not yet taken by the app."""
        self._chunks: deque[tuple[bytes, int]] = deque()
        self._final_given = False
        self._waiter: asyncio.Future[None] | None = None
        self._window: asyncio.Future[None] | None = None

    # -- from the connection

    def feed(self, data: bytes, size: int) -> None:
        """Request body arrived (``size``: what it counts against flow control)."""
        self._chunks.append((data, size))
        self.buffered += size
        self._wake()

    def end(self) -> None:
        """The client ended its request."""
        self.ended = True
        self._wake()

    def disconnect(self) -> None:
        """The client went away: ``receive`` tells the app, ``send`` stops waiting."""
        self.gone = True
        self._wake()
        self.window_opened()

    def drop_body(self) -> int:
        """Forget the request body the app did not take; its flow-controlled size."""
        size = self.buffered
        self._chunks.clear()
        self.buffered = 0
        return size

    def window_opened(self) -> None:
        """The client gave credit, or the socket drained: a waiting ``send`` goes on."""
        window = self._window
        if window is not None and not window.done():
            window.set_result(None)

    async def wait_window(self) -> None:
        """Wait until :meth:`window_opened` or :meth:`disconnect`."""
        if self.gone:
            return
        self._window = asyncio.get_running_loop().create_future()
        try:
            await self._window
        finally:
            self._window = None

    def _wake(self) -> None:
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    # -- the app's side (ASGI)

    async def receive(self) -> Message:
        """The next ASGI message of the request (``http.request``, then ``http.disconnect``
        once the client is gone or the response is complete)."""
        while True:
            chunks = self._chunks
            if chunks:
                data, size = chunks.popleft()
                self.buffered -= size
                more = bool(chunks) or not self.ended
                if not more:
                    self._final_given = True
                if size:
                    self.conn.consumed(self, size)
                return {"type": "http.request", "body": data, "more_body": more}
            if self.ended and not self._final_given:
                self._final_given = True
                return {"type": "http.request", "body": b"", "more_body": False}
            if self.gone or (self.response_done and self._final_given):
                return _DISCONNECT
            self._waiter = asyncio.get_running_loop().create_future()
            try:
                await self._waiter
            finally:
                self._waiter = None

    async def send(self, message: Message) -> None:
        """An ASGI message of the response. Once the client is gone, messages are dropped."""
        kind = message["type"]
        if kind == "http.response.body":
            if not self.started:
                raise RuntimeError("http.response.body before http.response.start")
            if self.response_done:
                raise RuntimeError("http.response.body after the response's last body")
            end = not message.get("more_body", False)
            if end:
                self.response_done = True
            if not self.gone:
                await self.conn.send_body(self, message.get("body", b""), end)
            if end:
                self._wake()  # a receive() waiting for the end of the exchange
        elif kind == "http.response.start":
            if self.started:
                raise RuntimeError("http.response.start sent twice")
            self.started = True
            if not self.gone:
                self.conn.start_response(self, message["status"], message.get("headers", []))
        else:
            raise RuntimeError(f"unexpected ASGI message {kind!r}")


async def run_exchange(app: ASGIApp, exchange: Exchange) -> None:
    """Run the app for ``exchange``; answer 500 if it fails before it responded; tell the
    connection when it is done."""
    try:
        await app(exchange.scope, exchange.receive, exchange.send)
    except asyncio.CancelledError:
        pass  # the connection is being closed
    except Exception:
        log.exception(
            "the application failed on %s %s", exchange.scope["method"], exchange.scope["path"]
        )
        if not exchange.started and not exchange.gone:
            body = b'{"code":"other","message":"internal error"}'
            exchange.started = True
            exchange.conn.start_response(
                exchange,
                500,
                [(b"content-type", b"application/json"), (b"content-length", b"%d" % len(body))],
            )
            exchange.response_done = True
            try:
                await exchange.conn.send_body(exchange, body, True)
            except Exception:  # the connection went meanwhile
                log.debug("could not send the 500", exc_info=True)
    finally:
        exchange.conn.finished(exchange)
