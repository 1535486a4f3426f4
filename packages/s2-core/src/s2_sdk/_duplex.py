"""A small full-duplex HTTP/2 client on ``h2`` + asyncio: every byte s2_sdk sends.

Append sessions read acknowledgements while still sending the request body;
unary requests and read sessions share pooled connections (see ``_http``). TLS
with ALPN ``h2`` for ``https``, prior knowledge (h2c) for ``http``. Flow control
is honoured both ways. Failures are :class:`~s2_sdk._exceptions.TransportError` s
(all retryable): RST_STREAM, GOAWAY and malformed responses fail the affected
streams with ``ProtocolError``, a lost connection with ``ConnectionClosedError``,
a retired one with ``ConnectionRetiredError``, and a connection that could not be
opened raises ``ConnectError``.
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl
from collections import deque
from collections.abc import Mapping
from typing import cast
from urllib.parse import urlsplit

import h2.config
import h2.connection
import h2.errors
import h2.events
import h2.exceptions
import h2.settings
from hpack import NeverIndexedHeaderTuple

from s2_sdk._exceptions import (
    ConnectError,
    ConnectionClosedError,
    ConnectionRetiredError,
    ProtocolError,
    TransportError,
)
from s2_sdk.protocol import H2_MAX_FRAME_SIZE, quiet_frames, stateless_headers

__all__ = ["MAX_RESPONSE_BYTES", "DuplexConnection", "DuplexStream", "authority"]

_WINDOW = 10 * 1024 * 1024
# The connection's receive window: large, so that a reader that stops consuming one
# stream (bounded by _WINDOW) cannot stall the other streams sharing the connection.
_CONNECTION_WINDOW = 2**31 - 1
_CLOSE_TIMEOUT = 2.0
MAX_RESPONSE_BYTES = 8 * 1024 * 1024
"""Largest complete response body read, compressed or not: a unary response is at most a
few MiB (a unary read returns at most 1 MiB of records); a server sending more (or an
endless body) fails the call, with what it sent let go before any retry."""
_READ_BUFFER = 256 * 1024
"""The receive buffer each connection reuses for every read from its socket."""


_SENSITIVE = frozenset({"authorization"})
"""Headers sent HPACK never-indexed, so no intermediary's table keeps them."""


def authority(scheme: str, host: str, port: int | None) -> str:
    """The ``:authority`` of an origin: the host, with the port unless it is the default."""
    if ":" in host:
        host = f"[{host}]"
    default = 443 if scheme == "https" else 80
    return host if port is None or port == default else f"{host}:{port}"


class DuplexStream:
    """One request/response exchange on a :class:`DuplexConnection`."""

    def __init__(self, conn: DuplexConnection, stream_id: int) -> None:
        self._conn = conn
        self.stream_id = stream_id
        self._headers: asyncio.Future[tuple[int, dict[str, str]]] = (
            asyncio.get_running_loop().create_future()
        )
        self._chunks: deque[tuple[bytes, int]] = deque()
        self._readable = asyncio.Event()
        self._ended = False
        self._error: BaseException | None = None
        self._window_open = asyncio.Event()
        self.sent_data = False
        """Whether any DATA frame of this stream was written (the request may have had effects)."""

    @property
    def connection(self) -> DuplexConnection:
        """The connection this stream is on."""
        return self._conn

    def retire_connection(self) -> None:
        """Retire the connection this stream is on (see :meth:`DuplexConnection.retire`)."""
        self._conn.retire()

    async def response(self) -> tuple[int, dict[str, str]]:
        """The response status and headers."""
        return await asyncio.shield(self._headers)

    async def send(self, data: bytes, *, end: bool = False) -> None:
        """Send request body bytes, waiting for flow-control window as needed.

        ``end`` half-closes the stream with the last of them.
        """
        conn = self._conn
        view = memoryview(data)
        if not view and end:
            await self.end()
            return
        while view:
            self._raise_if_failed()
            window = conn._h2.local_flow_control_window(self.stream_id)
            if window <= 0:
                self._window_open.clear()
                await self._window_open.wait()
                continue
            size = min(window, conn._h2.max_outbound_frame_size, len(view))
            last = end and size == len(view)
            try:
                conn._h2.send_data(self.stream_id, bytes(view[:size]), end_stream=last)
            except h2.exceptions.ProtocolError:
                self._body_refused()
                return
            self.sent_data = True
            view = view[size:]
            await conn._flush()

    async def end(self) -> None:
        """Half-close: no more request body."""
        self._raise_if_failed()
        try:
            self._conn._h2.end_stream(self.stream_id)
        except h2.exceptions.ProtocolError:
            self._body_refused()
            return
        await self._conn._flush()

    def _body_refused(self) -> None:
        """h2 took no more request body: fine once the response is complete (the server
        wants no more of it); otherwise say why.

        Raises:
            ConnectionRetiredError: the server sent GOAWAY (h2 sends nothing after it);
                the response to what was sent may still come.
            ProtocolError: the server closed the stream.
        """
        if self._ended:
            return
        if self._conn._closed is not None:
            raise ConnectionRetiredError("GOAWAY from the server: no more request body")
        raise ProtocolError("the server closed the stream")

    async def receive(self) -> bytes | None:
        """The next chunk of response body; None at the end of the response."""
        while not self._chunks:
            if self._error is not None:
                raise self._error
            if self._ended:
                return None
            self._readable.clear()
            await self._readable.wait()
        chunk, flow_controlled = self._chunks.popleft()
        self._conn._consumed(self.stream_id, flow_controlled)
        return chunk

    async def read_all(self, limit: int = MAX_RESPONSE_BYTES) -> bytes:
        """The rest of the response body (at most ``limit`` bytes: a larger one fails the
        stream with ``ProtocolError``, and is not kept)."""
        chunks: list[bytes] = []
        size = 0
        while (chunk := await self.receive()) is not None:
            size += len(chunk)
            if size > limit:
                chunks.clear()  # the traceback must not keep them through the retries
                error = ProtocolError(f"response body larger than {limit} bytes")
                self.reset(error)
                raise error
            chunks.append(chunk)
        return b"".join(chunks)

    def reset(
        self,
        error: TransportError | None = None,
        code: h2.errors.ErrorCodes = h2.errors.ErrorCodes.CANCEL,
    ) -> None:
        """Abandon the stream (RST_STREAM ``code``) and forget it; it fails with ``error``."""
        if not self._ended and self._error is None:
            with contextlib.suppress(h2.exceptions.H2Error):
                self._conn._h2.reset_stream(self.stream_id, code)
                self._conn._write_pending()
        self._fail(error or ConnectionClosedError("stream reset by the client"))
        self._conn._streams.pop(self.stream_id, None)

    def _raise_if_failed(self) -> None:
        if self._error is not None:
            raise self._error

    def _fail(self, error: BaseException) -> None:
        if self._error is None:
            self._error = error
        if not self._headers.done():
            self._headers.set_exception(error)
            self._headers.exception()
        self._readable.set()
        self._window_open.set()


class DuplexConnection:
    """An HTTP/2 connection to one origin."""

    def __init__(self, origin: str) -> None:
        parts = urlsplit(origin)
        self._tls = parts.scheme == "https"
        self._host = parts.hostname or ""
        self._port = parts.port or (443 if self._tls else 80)
        self._authority = authority(parts.scheme, self._host, parts.port)
        # made once connected: an H2Connection holds reference cycles, which a failed
        # attempt (say, every retry while a server is down) would leave to the collector
        self._h2: h2.connection.H2Connection
        self._wire: _Wire | None = None
        self._streams: dict[int, DuplexStream] = {}
        self._settings = asyncio.Event()
        self._closed: BaseException | None = None
        self._retired = False
        self._write_lock = asyncio.Lock()

    async def connect(self, timeout: float) -> None:
        """Open TCP (and TLS), send the preface, and wait for the server's SETTINGS."""
        context = None
        if self._tls:
            context = ssl.create_default_context()
            context.set_alpn_protocols(["h2"])
        loop = asyncio.get_running_loop()
        wire = _Wire(self)
        try:
            await asyncio.wait_for(
                loop.create_connection(lambda: wire, self._host, self._port, ssl=context),
                timeout,
            )
        except TimeoutError as e:
            raise ConnectError(f"connecting to {self._authority} timed out") from e
        except OSError as e:
            raise ConnectError(f"connecting to {self._authority} failed: {e}") from e
        if self._tls:
            ssl_object = wire.transport.get_extra_info("ssl_object")
            if ssl_object is None or ssl_object.selected_alpn_protocol() != "h2":
                wire.transport.close()
                raise ConnectError(f"{self._authority} does not speak HTTP/2")
        # Request headers are built from checked parts (constant lowercase names,
        # validated names and token) and the response headers used are parsed where
        # read, so h2's per-header validation and normalisation, about a tenth of a
        # unary call's CPU, are skipped.
        self._h2 = h2.connection.H2Connection(
            h2.config.H2Configuration(
                client_side=True,
                header_encoding=None,  # decoded where read (h2 decoded through generators)
                validate_outbound_headers=False,
                normalize_outbound_headers=False,
                validate_inbound_headers=False,
                normalize_inbound_headers=False,
            )
        )
        self._h2.local_settings = h2.settings.Settings(
            client=True,
            initial_values={
                h2.settings.SettingCodes.INITIAL_WINDOW_SIZE: _WINDOW,
                h2.settings.SettingCodes.ENABLE_PUSH: 0,
                h2.settings.SettingCodes.MAX_FRAME_SIZE: H2_MAX_FRAME_SIZE,
            },
        )
        # h2 takes initial settings as acknowledged but keeps its own inbound limit
        self._h2.max_inbound_frame_size = H2_MAX_FRAME_SIZE
        quiet_frames(self._h2)
        stateless_headers(self._h2)
        self._h2.initiate_connection()
        self._h2.increment_flow_control_window(_CONNECTION_WINDOW - 65535)
        self._wire = wire
        self._write_pending()
        wire.transport.resume_reading()
        settings: asyncio.Future[object] = asyncio.ensure_future(self._settings.wait())
        await asyncio.wait({settings, wire.lost}, timeout=timeout, return_when="FIRST_COMPLETED")
        if not settings.done():
            settings.cancel()
            reason = "closed the connection" if wire.lost.done() else "sent no HTTP/2 SETTINGS"
            await self.close()
            raise ConnectError(f"{self._authority} {reason}")

    @property
    def available(self) -> bool:
        """Open, and below the server's limit of concurrent streams."""
        return (
            self._closed is None
            and not self._retired
            and self._wire is not None
            and (self._h2.open_outbound_streams < self._h2.remote_settings.max_concurrent_streams)
        )

    @property
    def idle(self) -> bool:
        """No stream in progress."""
        return not self._streams

    @property
    def retired(self) -> bool:
        """Retired (see :meth:`retire`) or closed: to be closed once idle."""
        return self._retired or self._closed is not None

    def retire(self) -> None:
        """Take no new requests (the server drains, or the connection misbehaved).

        Requests in progress go on; the pool closes the connection once it is idle.
        """
        self._retired = True

    async def request(
        self,
        method: str,
        path: str,
        headers: Mapping[str, str],
        *,
        end_stream: bool = False,
        flush: bool = True,
    ) -> DuplexStream:
        """Open a stream: send the request headers (the body follows with ``send``).

        ``end_stream`` sends a request without a body; ``flush=False`` leaves the
        headers to go out with the first ``send``.
        """
        if self._closed is not None:
            raise ConnectionClosedError(f"connection closed: {self._closed}")
        if self._retired:
            raise ConnectionRetiredError("the connection is retired")
        stream_id = self._h2.get_next_available_stream_id()
        stream = DuplexStream(self, stream_id)
        self._streams[stream_id] = stream
        pseudo: list[tuple[str, str] | NeverIndexedHeaderTuple] = [
            (":method", method),
            (":scheme", "https" if self._tls else "http"),
            (":authority", self._authority),
            (":path", path),
        ]
        for name, value in headers.items():
            name = name.lower()
            if name in _SENSITIVE:
                pseudo.append(NeverIndexedHeaderTuple(name, value))
            else:
                pseudo.append((name, value))
        self._h2.send_headers(stream_id, pseudo, end_stream=end_stream)
        if flush:
            await self._flush()
        return stream

    async def close(self) -> None:
        """Close the connection (GOAWAY, then the socket)."""
        wire = self._wire
        if wire is not None and self._closed is None:
            with contextlib.suppress(h2.exceptions.H2Error, OSError):
                self._h2.close_connection()
                self._write_pending()
        self._shutdown(ConnectionClosedError("connection closed by the client"))
        if wire is not None:
            wire.transport.close()
            with contextlib.suppress(TimeoutError):
                # bounded: a TLS peer that never answers close_notify must not hold us
                await asyncio.wait_for(asyncio.shield(wire.lost), _CLOSE_TIMEOUT)

    def _write_pending(self) -> None:
        data = self._h2.data_to_send()
        if data and self._wire is not None and not self._wire.transport.is_closing():
            self._wire.transport.write(data)

    async def _flush(self) -> None:
        self._write_pending()
        wire = self._wire
        if wire is None:
            return
        if wire.paused:
            async with self._write_lock:
                await wire.drained()
        if wire.lost.done():
            raise ConnectionClosedError(f"write failed: {self._closed}")

    def _consumed(self, stream_id: int, size: int) -> None:
        with contextlib.suppress(h2.exceptions.H2Error):
            self._h2.acknowledge_received_data(size, stream_id)
            self._write_pending()

    def _shutdown(self, error: BaseException) -> None:
        if self._closed is None:
            self._closed = error
        for stream in self._streams.values():
            stream._fail(error)

    def _received(self, data: memoryview) -> None:
        """Bytes from the socket (a view of the wire's buffer, valid for this call)."""
        try:
            events = self._h2.receive_data(data)
        except h2.exceptions.ProtocolError as e:
            self._lose(ProtocolError(f"HTTP/2 protocol error: {e}"))
            return
        try:
            for event in events:
                self._dispatch(event)
            self._write_pending()
        except TransportError as e:
            self._lose(e)

    def _lose(self, error: TransportError) -> None:
        """Fail every stream with ``error`` and drop the socket."""
        self._shutdown(error)
        if self._wire is not None:
            self._wire.transport.abort()

    def _dispatch(self, event: h2.events.Event) -> None:
        if isinstance(event, h2.events.RemoteSettingsChanged):
            self._settings.set()
            for stream in self._streams.values():
                stream._window_open.set()
            return
        if isinstance(event, h2.events.ConnectionTerminated):
            last = event.last_stream_id or 0
            code = int(event.error_code or 0)
            error: TransportError = ProtocolError(f"GOAWAY from the server (error {code})", code)
            # streams past the last one the server took were never processed: retry
            # them elsewhere, as on a retired connection
            unprocessed = ConnectionRetiredError(f"GOAWAY from the server after stream {last}")
            self._closed = error
            for stream_id, stream in list(self._streams.items()):
                if stream_id > last or code:
                    stream._fail(unprocessed if stream_id > last else error)
                    del self._streams[stream_id]
            self._close_if_done()
            return
        if isinstance(event, h2.events.WindowUpdated):
            for stream_id, stream in self._streams.items():
                if not event.stream_id or stream_id == event.stream_id:
                    stream._window_open.set()
            return
        target = self._streams.get(getattr(event, "stream_id", 0) or 0)
        if target is None:
            return
        self._dispatch_stream(target, event)

    def _dispatch_stream(self, stream: DuplexStream, event: h2.events.Event) -> None:
        if isinstance(event, h2.events.ResponseReceived):
            headers = {
                k.decode("utf-8", "replace"): v.decode("utf-8", "replace")
                for k, v in event.headers or []
            }
            status = headers.pop(":status", "")
            if not (len(status) == 3 and status.isascii() and status.isdigit()):
                error = ProtocolError(f"malformed response status {status!r}")
                stream.reset(error, h2.errors.ErrorCodes.PROTOCOL_ERROR)
            elif not stream._headers.done():
                stream._headers.set_result((int(status), headers))
        elif isinstance(event, h2.events.DataReceived):
            stream._chunks.append((event.data or b"", event.flow_controlled_length or 0))
            stream._readable.set()
        elif isinstance(event, h2.events.StreamEnded):
            stream._ended = True
            stream._readable.set()
            self._streams.pop(stream.stream_id, None)
            self._close_if_done()
        elif isinstance(event, h2.events.StreamReset):
            code = int(event.error_code or 0)
            stream._fail(ProtocolError(f"stream reset by the server (error {code})", code))
            self._streams.pop(stream.stream_id, None)
            self._close_if_done()

    def _close_if_done(self) -> None:
        """After GOAWAY, the last stream's end closes the socket (the pool drops it later)."""
        if self._closed is not None and not self._streams and self._wire is not None:
            self._wire.transport.close()


class _Wire(asyncio.BufferedProtocol):
    """The socket of a :class:`DuplexConnection`: what it receives goes straight to h2,
    read into one buffer reused for every read (no fresh buffer per read, no copy in
    between); writes wait while the transport's buffer is full."""

    def __init__(self, conn: DuplexConnection) -> None:
        self._conn = conn
        self._buffer = memoryview(bytearray(_READ_BUFFER))
        self.transport: asyncio.Transport
        self.lost: asyncio.Future[object] = asyncio.get_running_loop().create_future()
        """Done once the socket is closed."""
        self.paused = False
        self._resumed: asyncio.Future[None] | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)
        self.transport.pause_reading()  # until the connection has its h2 state

    def get_buffer(self, sizehint: int) -> memoryview:
        return self._buffer

    def buffer_updated(self, nbytes: int) -> None:
        self._conn._received(self._buffer[:nbytes])

    def eof_received(self) -> bool:
        self._conn._shutdown(ConnectionClosedError("connection closed by the server"))
        return False  # close the socket

    def connection_lost(self, exc: Exception | None) -> None:
        reason = f": {exc}" if exc is not None else " by the server"
        self._conn._shutdown(ConnectionClosedError(f"connection closed{reason}"))
        if not self.lost.done():
            self.lost.set_result(None)
        self.resume_writing()

    def pause_writing(self) -> None:
        self.paused = True

    def resume_writing(self) -> None:
        self.paused = False
        if self._resumed is not None and not self._resumed.done():
            self._resumed.set_result(None)

    async def drained(self) -> None:
        """Wait until the transport takes writes again (or the socket is closed)."""
        if self.paused:
            self._resumed = asyncio.get_running_loop().create_future()
            await self._resumed
