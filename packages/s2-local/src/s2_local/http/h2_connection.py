"""An HTTP/2 connection on ``h2``: each stream an :class:`~s2_local.http.exchange.Exchange`.

- Flow control is back-pressure: a response's body goes out as the client's stream and
  connection windows allow, and the app's ``send`` waits while they are closed; request
  body is credited back to the client as the app takes it. Receive windows are
  :data:`WINDOW` (16 MiB): a client pipelining appends never waits for credit.
- Limits: at most ``max_streams`` requests at once (advertised; a stream beyond it is
  refused with REFUSED_STREAM, the others go on), and a client resetting more than
  ``max_resets`` streams within 10 s gets GOAWAY ENHANCE_YOUR_CALM (rapid reset).
- A request answered before its body was read: the rest of the body is dropped and the
  stream reset with NO_ERROR once the response is out (RFC 9113, 8.1).
- Draining: requests in progress go on; GOAWAY once the last has ended.
- Response headers are encoded by :class:`~s2_sdk.protocol.StatelessEncoder`, without
  h2's per-header checks (the app makes them well-formed); request headers are checked by
  :mod:`~s2_local.http.h2_request` (a malformed request is refused, the connection lives).
"""

from __future__ import annotations

import collections
import contextlib
import logging
from typing import TYPE_CHECKING, Any

import h2.config
import h2.connection
import h2.errors
import h2.events
import h2.exceptions
import h2.settings
from s2_sdk.protocol import H2_MAX_FRAME_SIZE, quiet_frames, stateless_headers

from s2_local.http.connection import Connection
from s2_local.http.exchange import Exchange
from s2_local.http.h2_request import MalformedRequest, request_fields

if TYPE_CHECKING:
    import asyncio

    from s2_local.http.listener import HttpServer

__all__ = ["MAX_HEADER_LIST_SIZE", "PREFACE", "WINDOW", "H2Connection"]

log = logging.getLogger("s2_local.http")

PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
"""What an HTTP/2 client with prior knowledge sends first."""
WINDOW = 16 * 1024 * 1024
"""The receive window of each stream and of the connection."""
MAX_HEADER_LIST_SIZE = 64 * 1024
_RESET_PERIOD = 10.0
_SMALL_WRITE = 16 * 1024
"""Body writes below this size wait for the end of the loop iteration (coalesced)."""
_STATUS = {code: b"%d" % code for code in range(100, 600)}
_Codes = h2.settings.SettingCodes
_CONFIG = h2.config.H2Configuration(
    client_side=False,
    header_encoding=None,
    validate_outbound_headers=False,
    normalize_outbound_headers=False,
    validate_inbound_headers=False,  # h2_request checks them, in one pass
    normalize_inbound_headers=False,
)


class H2Connection(Connection):
    """One HTTP/2 connection (see the module docstring)."""

    http_version = "2"

    def __init__(self, server: HttpServer, transport: asyncio.Transport) -> None:
        super().__init__(server, transport)
        conn = h2.connection.H2Connection(_CONFIG)
        settings = {
            _Codes.MAX_CONCURRENT_STREAMS: self.limits.max_streams,
            _Codes.MAX_HEADER_LIST_SIZE: MAX_HEADER_LIST_SIZE,
            _Codes.INITIAL_WINDOW_SIZE: WINDOW,
            _Codes.MAX_FRAME_SIZE: H2_MAX_FRAME_SIZE,
        }
        conn.local_settings = h2.settings.Settings(client=False, initial_values=settings)
        conn.max_inbound_frame_size = H2_MAX_FRAME_SIZE
        conn.decoder.max_header_list_size = MAX_HEADER_LIST_SIZE
        quiet_frames(conn)
        stateless_headers(conn)
        conn.initiate_connection()
        conn.increment_flow_control_window(WINDOW - 65535)
        # The stream limit is advertised; h2 would end the whole connection when a client
        # went past it, so h2 itself enforces none and the extra stream is refused here.
        settings[_Codes.MAX_CONCURRENT_STREAMS] = 2**31 - 1
        conn.local_settings = h2.settings.Settings(client=False, initial_values=settings)
        self._h2 = conn
        self._resets: collections.deque[float] = collections.deque()
        self._goaway_sent = False
        self.flush()

    def pending_output(self) -> bytes:
        return self._h2.data_to_send()

    # -- input

    def data_received(self, data: bytes | memoryview) -> None:
        if self._goaway_sent:
            with contextlib.suppress(h2.exceptions.H2Error):
                self._h2.receive_data(data)  # only to keep h2's view; nothing is answered
            return
        try:
            events = self._h2.receive_data(data)
        except h2.exceptions.H2Error as e:
            log.debug("closing an HTTP/2 connection from %s: %s", self.client, e)
            self._goaway_sent = True  # h2 queued GOAWAY with the error
            for gone in self.exchanges.values():
                gone.disconnect()
            self.linger()
            return
        for event in events:
            if isinstance(event, h2.events.DataReceived):
                self._data(event)
            elif isinstance(event, h2.events.RequestReceived):
                self._request(event)
            elif isinstance(event, h2.events.StreamEnded):
                exchange = self.exchanges.get(event.stream_id or 0)
                if exchange is not None:
                    exchange.end()
            elif isinstance(event, h2.events.WindowUpdated):
                self._window_updated(event.stream_id or 0)
            elif isinstance(event, h2.events.StreamReset):
                self._reset(event)
            elif isinstance(event, h2.events.RemoteSettingsChanged):
                self._window_updated(0)
            elif isinstance(event, h2.events.ConnectionTerminated):
                self._goaway_received(event.error_code)
            if self.closing:  # GOAWAY sent: nothing more is answered
                break
        self.schedule_flush()

    def _request(self, event: h2.events.RequestReceived) -> None:
        stream_id = event.stream_id or 0
        if len(self.exchanges) >= self.limits.max_streams:
            with contextlib.suppress(h2.exceptions.H2Error):
                self._h2.reset_stream(stream_id, h2.errors.ErrorCodes.REFUSED_STREAM)
            return
        try:
            fields = request_fields(event.headers or [])
        except MalformedRequest as e:
            log.debug("refusing a malformed request from %s: %s", self.client, e)
            with contextlib.suppress(h2.exceptions.H2Error):
                self._h2.reset_stream(stream_id, h2.errors.ErrorCodes.PROTOCOL_ERROR)
            return
        raw_path, _, query = fields.path.partition(b"?")
        method = fields.method.decode("ascii", "replace")
        scope = self.scope(method, raw_path, query, fields.headers)
        self.start_exchange(Exchange(self, stream_id, scope))

    def _data(self, event: h2.events.DataReceived) -> None:
        stream_id = event.stream_id or 0
        exchange = self.exchanges.get(stream_id)
        size = event.flow_controlled_length or 0
        if exchange is None or exchange.gone:
            self._credit(size, stream_id)
        else:
            exchange.feed(event.data or b"", size)

    def _credit(self, size: int, stream_id: int) -> None:
        if size:
            with contextlib.suppress(h2.exceptions.H2Error):
                self._h2.acknowledge_received_data(size, stream_id)

    def _reset(self, event: h2.events.StreamReset) -> None:
        stream_id = event.stream_id or 0
        exchange = self.exchanges.get(stream_id)
        if exchange is not None:
            self._credit(exchange.drop_body(), stream_id)
            exchange.disconnect()
        if event.remote_reset:
            now = self.loop.time()
            resets = self._resets
            resets.append(now)
            while resets[0] < now - _RESET_PERIOD:
                resets.popleft()
            if len(resets) > self.limits.max_resets:
                log.warning("closing a connection from %s: rapid stream resets", self.client)
                self._goaway(h2.errors.ErrorCodes.ENHANCE_YOUR_CALM)

    def _window_updated(self, stream_id: int) -> None:
        if stream_id:
            exchange = self.exchanges.get(stream_id)
            if exchange is not None:
                exchange.window_opened()
        else:
            for exchange in self.exchanges.values():
                exchange.window_opened()

    def _goaway_received(self, code: int | None) -> None:
        """The client will open no more streams: close once those in progress end (at
        once if it reports an error)."""
        self.draining = True
        if code or not self.exchanges:
            self._goaway()

    # -- output (the exchanges' Responder)

    def start_response(self, exchange: Exchange, status: int, headers: list[Any]) -> None:
        try:
            self._h2.send_headers(exchange.stream_id, [(b":status", _STATUS[status]), *headers])
        except h2.exceptions.H2Error:
            exchange.disconnect()  # reset by the client meanwhile
            return
        self.schedule_flush()

    async def send_body(self, exchange: Exchange, data: bytes, end: bool) -> None:
        conn = self._h2
        stream_id = exchange.stream_id
        view = memoryview(data)
        while not exchange.gone and not self.closed:
            try:
                size = min(conn.local_flow_control_window(stream_id), conn.max_outbound_frame_size)
                if len(view) <= size:
                    conn.send_data(stream_id, view, end_stream=end)
                    break
                if size > 0:
                    conn.send_data(stream_id, view[:size])
                    view = view[size:]
            except h2.exceptions.H2Error:
                exchange.disconnect()  # the stream or the connection closed meanwhile
                return
            self.flush()
            await (self.writable() if size > 0 else exchange.wait_window())
        if len(view) >= _SMALL_WRITE:
            self.flush()
            await self.writable()
        else:
            self.schedule_flush()

    def consumed(self, exchange: Exchange, size: int) -> None:
        self._credit(size, exchange.stream_id)
        self.schedule_flush()

    def finished(self, exchange: Exchange) -> None:
        stream_id = exchange.stream_id
        self.exchanges.pop(stream_id, None)
        if not self.closed and not self._goaway_sent:
            self._credit(exchange.drop_body(), stream_id)
            with contextlib.suppress(h2.exceptions.H2Error):
                if not exchange.response_done and not exchange.gone:
                    self._h2.reset_stream(stream_id, h2.errors.ErrorCodes.INTERNAL_ERROR)
                elif not exchange.ended and not exchange.gone:
                    # answered before the request ended: nothing will read the rest
                    self._h2.reset_stream(stream_id, h2.errors.ErrorCodes.NO_ERROR)
            self.schedule_flush()
        if not self.exchanges:
            if self.draining:
                self._goaway()
            else:
                self.idle_in(self.limits.idle_timeout)

    # -- closing

    def _goaway(self, code: h2.errors.ErrorCodes = h2.errors.ErrorCodes.NO_ERROR) -> None:
        """Send GOAWAY (once), then let the client close."""
        if self._goaway_sent or self.closed:
            return
        self._goaway_sent = True
        with contextlib.suppress(h2.exceptions.H2Error):
            self._h2.close_connection(code)
        for exchange in self.exchanges.values():
            exchange.disconnect()
        self.linger()

    def drain(self) -> None:
        super().drain()
        if not self.exchanges:
            self._goaway()

    def on_timeout(self) -> None:
        self._goaway()

    def terminate(self) -> None:
        self._goaway()
        self.close()
