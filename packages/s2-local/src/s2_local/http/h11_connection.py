"""An HTTP/1.1 connection on ``h11``: requests one after another (keep-alive and pipelining),
responses streamed (chunked when the app gives no length: SSE, the console's live tail).

- A request whose body the app did not read: once its response is out, the rest of the
  body is read and dropped (up to :data:`MAX_DISCARD`, else the connection closes), so
  that the next request on the connection is found.
- Request body waiting for the app holds at most :data:`MAX_BUFFERED` bytes: reading
  stops until the app takes some.
- A malformed request gets ``400`` (or what h11 says fits) and the connection closes; a
  response that says ``Connection: close`` closes it too (a body framed twice, say).
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

import h11

from s2_local.http.connection import Connection
from s2_local.http.exchange import Exchange

if TYPE_CHECKING:
    import asyncio

    from s2_local.http.listener import HttpServer

__all__ = ["MAX_BUFFERED", "MAX_DISCARD", "MAX_HEAD", "H11Connection"]

log = logging.getLogger("s2_local.http")

MAX_HEAD = 64 * 1024
"""Largest request line and headers."""
MAX_BUFFERED = 1024 * 1024
"""Request body bytes held for the app before reading stops."""
MAX_DISCARD = 4 * 1024 * 1024
"""Unread request body read and dropped after a response before the connection closes."""
_SMALL_WRITE = 16 * 1024
_BODY = "body"
_PIPELINED = "pipelined"


class H11Connection(Connection):
    """One HTTP/1.1 connection (see the module docstring)."""

    http_version = "1.1"

    def __init__(self, server: HttpServer, transport: asyncio.Transport) -> None:
        super().__init__(server, transport)
        self._h11 = h11.Connection(h11.SERVER, max_incomplete_event_size=MAX_HEAD)
        self._out: list[bytes] = []
        self._exchange: Exchange | None = None
        self._discarded = 0
        self._head = False

    def pending_output(self) -> bytes:
        if not self._out:
            return b""
        data = b"".join(self._out)
        self._out.clear()
        return data

    # -- input

    def data_received(self, data: bytes | memoryview) -> None:
        self._h11.receive_data(bytes(data))
        self._process()

    def _process(self) -> None:
        conn = self._h11
        while not self.closed and not self.closing:
            try:
                event = conn.next_event()
            except h11.RemoteProtocolError as e:
                self._refuse(e)
                return
            if event is h11.NEED_DATA:
                return
            if event is h11.PAUSED:
                # the next request is here before this response ended: keep it for later
                if len(conn.trailing_data[0]) > MAX_HEAD:
                    self.stop_reading(_PIPELINED)
                return
            exchange = self._exchange
            if isinstance(event, h11.Data):
                if exchange is not None:
                    exchange.feed(event.data, len(event.data))
                    if exchange.buffered > MAX_BUFFERED:
                        self.stop_reading(_BODY)
                else:
                    self._discarded += len(event.data)
                    if self._discarded > MAX_DISCARD:
                        self.close()
            elif isinstance(event, h11.Request):
                self._request(event)
            elif isinstance(event, h11.EndOfMessage):
                if exchange is not None:
                    exchange.end()
                else:
                    self._next_cycle()
            elif isinstance(event, h11.ConnectionClosed):
                self.close()

    def _request(self, event: h11.Request) -> None:
        raw_path, _, query = event.target.partition(b"?")
        headers: list[tuple[bytes, bytes]] = list(event.headers)
        scope = self.scope(event.method.decode("ascii", "replace"), raw_path, query, headers)
        scope["http_version"] = event.http_version.decode("ascii", "replace")
        self._head = event.method == b"HEAD"
        self._discarded = 0
        if self._h11.they_are_waiting_for_100_continue:
            self._out.append(self._h11.send(h11.InformationalResponse(status_code=100, headers=[])))
            self.schedule_flush()
        self._exchange = Exchange(self, 0, scope)
        self.start_exchange(self._exchange)

    def _refuse(self, error: h11.RemoteProtocolError) -> None:
        """Answer a malformed request with its status (if a response can still start), then
        close."""
        log.debug("bad HTTP/1.1 request from %s: %s", self.client, error)
        if self._h11.our_state in (h11.IDLE, h11.SEND_RESPONSE) and self._exchange is None:
            body = b'{"code":"bad_request","message":"%s"}' % str(error).encode(
                "ascii", "replace"
            ).replace(b'"', b"'")
            headers = [
                (b"content-type", b"application/json"),
                (b"content-length", b"%d" % len(body)),
                (b"connection", b"close"),
            ]
            try:
                status = error.error_status_hint
                self._out.append(self._h11.send(h11.Response(status_code=status, headers=headers)))
                self._out.append(self._h11.send(h11.Data(data=body)))
                self._out.append(self._h11.send(h11.EndOfMessage()))
            except h11.LocalProtocolError:
                self._out.clear()
        if self._exchange is not None:
            self._exchange.disconnect()
        self.linger()

    # -- output (the exchange's Responder)

    def start_response(self, exchange: Exchange, status: int, headers: list[Any]) -> None:
        try:
            self._out.append(self._h11.send(h11.Response(status_code=status, headers=headers)))
        except h11.LocalProtocolError as e:
            log.warning("cannot send a %d response: %s", status, e)
            exchange.disconnect()
            self.close()
            return
        self.schedule_flush()

    async def send_body(self, exchange: Exchange, data: bytes, end: bool) -> None:
        conn = self._h11
        try:
            if data and not self._head:
                self._out.extend(conn.send_with_data_passthrough(h11.Data(data=data)) or ())
            if end:
                self._out.append(conn.send(h11.EndOfMessage()))
        except h11.LocalProtocolError as e:
            log.warning("cannot send a response's body: %s", e)
            exchange.disconnect()
            self.close()
            return
        if len(data) >= _SMALL_WRITE:
            self.flush()
            await self.writable()
        else:
            self.schedule_flush()

    def consumed(self, exchange: Exchange, size: int) -> None:
        if exchange.buffered <= MAX_BUFFERED // 2:
            self.start_reading(_BODY)

    def finished(self, exchange: Exchange) -> None:
        self.exchanges.pop(exchange.stream_id, None)
        self._exchange = None
        exchange.drop_body()
        self.start_reading(_BODY)
        if self.closed:
            return
        if not exchange.response_done or exchange.gone:
            self.close()  # the response cannot be completed: only closing ends it
        elif self._h11.our_state is h11.MUST_CLOSE or self.draining:
            self.linger()
        elif self._h11.their_state is h11.DONE:
            self._next_cycle()
        # else: the rest of the request's body is read and dropped, then the next cycle

    def _next_cycle(self) -> None:
        if self.draining or self._h11.our_state is not h11.DONE:
            self.linger()
            return
        self._h11.start_next_cycle()
        self.start_reading(_PIPELINED)
        self.idle_in(self.limits.idle_timeout)
        self.schedule_flush()
        if self._h11.trailing_data[0]:
            self.loop.call_soon(self._process)  # a pipelined request

    # -- closing

    def drain(self) -> None:
        super().drain()
        if self._exchange is None:
            self.linger()
