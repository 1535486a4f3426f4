"""The request/response transport: unary requests and streamed responses over HTTP/2.

Requests go over pooled :class:`~s2_sdk._duplex.DuplexConnection` s (h2 on
asyncio): ALPN on ``https``, prior knowledge (h2c) on ``http``. A connection is
shared by concurrent requests up to the server's stream limit; another is opened
beyond it, and a failed one is replaced on the next request. A connection whose
server drains (503 ``server_draining``, GOAWAY) or on which a request timed out is
retired: it takes no new requests and is closed once its last one ends.
"""

from __future__ import annotations

import asyncio
import json as jsonlib
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from importlib.metadata import version
from typing import Any, TypeVar
from urllib.parse import urlencode

from s2_sdk._duplex import MAX_RESPONSE_BYTES, DuplexConnection, DuplexStream
from s2_sdk._exceptions import ReadTimeoutError, S2ClientError, ServerDrainingError, server_error
from s2_sdk._options import Compression, Retry, Timeout
from s2_sdk._retry import is_retryable, run_with_retries
from s2_sdk.protocol import (
    CompressionError,
    codec_from_content_encoding,
    compress,
    decompress,
)

__all__ = ["USER_AGENT", "HttpClient", "Response"]

T = TypeVar("T")

USER_AGENT = f"s2-core-python/{version('s2-core')}"


@dataclass(frozen=True, slots=True)
class Response:
    """A complete response: status, headers (lower-case names) and decoded body."""

    status_code: int
    headers: dict[str, str]
    content: bytes

    def json(self, convert: Callable[[Any], T]) -> T:
        """The body parsed as JSON and converted by ``convert``.

        Raises:
            S2ClientError: the body is not JSON, or not of the shape ``convert`` expects.
        """
        try:
            data = jsonlib.loads(self.content)
        except ValueError as e:
            raise S2ClientError(f"malformed JSON from the server: {e}") from e
        try:
            return convert(data)
        except (KeyError, IndexError, TypeError, ValueError, AttributeError) as e:
            raise S2ClientError(
                f"unexpected response from the server ({type(e).__name__}: {e})"
            ) from e


class HttpClient:
    """Requests to one origin, with auth, compression, timeouts and retries."""

    max_response_bytes = MAX_RESPONSE_BYTES
    """Largest response body read in full (larger ones fail the request)."""

    def __init__(
        self,
        origin: str,
        access_token: str,
        timeout: Timeout,
        retry: Retry,
        compression: Compression,
    ) -> None:
        self.origin = origin.rstrip("/")
        self.retry = retry
        self.timeout = timeout
        self.compression = compression
        self.headers = {"authorization": f"Bearer {access_token}", "user-agent": USER_AGENT}
        if compression is not Compression.NONE:  # as the published client: only when set
            self.headers["accept-encoding"] = compression.value
        self._connections: list[DuplexConnection] = []
        self._connecting = asyncio.Lock()

    async def close(self) -> None:
        """Close pooled connections."""
        connections, self._connections = self._connections, []
        for conn in connections:
            await conn.close()

    async def _open(
        self, method: str, path: str, headers: dict[str, str], body: bytes | None
    ) -> DuplexStream:
        """Send a request on a pooled connection; the stream to read its response from."""
        headers = {**self.headers, **headers}
        if body is not None:
            headers["content-length"] = str(len(body))
        stream = None
        conn = await self._connection()
        try:
            bodyless = body is None
            stream = await conn.request(method, path, headers, end_stream=bodyless, flush=bodyless)
            if body is not None:
                await stream.send(body, end=True)
        except BaseException:
            if stream is not None:
                stream.reset()
            raise
        return stream

    async def _connection(self) -> DuplexConnection:
        for conn in self._connections:
            if conn.available:
                return conn
        async with self._connecting:
            for conn in self._connections:
                if conn.available:
                    return conn
            for conn in [c for c in self._connections if c.idle]:
                await self._release(conn)  # closed or full, with nothing left to finish
            conn = DuplexConnection(self.origin)
            await conn.connect(self.timeout.connection.total_seconds())
            self._connections.append(conn)
            return conn

    async def _release(self, conn: DuplexConnection) -> None:
        """Close ``conn`` if it is retired and idle (or, from ``_connection``, just idle)."""
        if conn in self._connections:
            self._connections.remove(conn)
            await conn.close()

    async def _done(self, stream: DuplexStream) -> None:
        conn = stream.connection
        if conn.retired and conn.idle:
            await self._release(conn)

    async def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, str | int] | None = None,
        json: Any = None,
        content: bytes | None = None,
        headers: Mapping[str, str] | None = None,
        extra_timeout: float = 0.0,
        retry_on: Callable[[BaseException], bool] = is_retryable,
        track_uncertainty: bool = False,
    ) -> Response:
        """Send a request, retrying per :class:`Retry`; raise the mapped error for non-2xx.

        Each attempt is bounded by the request timeout plus ``extra_timeout``. With
        ``track_uncertainty`` (appends), see :func:`~s2_sdk._retry.run_with_retries`.
        """
        send_headers = dict(headers or {})
        body = content
        if json is not None:
            body = jsonlib.dumps(json, separators=(",", ":")).encode()
            send_headers.setdefault("content-type", "application/json")
        if body is not None and self.compression is not Compression.NONE:
            body = compress(body, self.compression.codec)
            send_headers["content-encoding"] = self.compression.value
        target = _target(path, params)
        timeout = self.timeout.request.total_seconds() + extra_timeout

        async def attempt() -> Response:
            stream: DuplexStream | None = None
            try:
                async with asyncio.timeout(timeout):
                    stream = await self._open(method, target, send_headers, body)
                    status, resp_headers = await stream.response()
                    raw = await stream.read_all(self.max_response_bytes)
                    content = _decoded(raw, resp_headers)
                if status < 400:
                    return Response(status, resp_headers, content)
                error = server_error(status, content, resp_headers.get("retry-after-ms"))
                if isinstance(error, ServerDrainingError):
                    stream.retire_connection()
                raise error
            except TimeoutError as e:
                if stream is not None:
                    stream.retire_connection()  # a wedged connection must take no more
                    stream.reset()
                raise ReadTimeoutError(f"no response within {timeout:g} s") from e
            except BaseException:
                if stream is not None:
                    stream.reset()
                raise
            finally:
                if stream is not None:
                    await self._done(stream)

        return await run_with_retries(
            attempt, self.retry, retry_on, track_uncertainty=track_uncertainty
        )

    @asynccontextmanager
    async def stream(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, str | int] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> AsyncIterator[DuplexStream]:
        """A streamed response (read sessions): read its body with ``receive``.

        Raises the mapped error for non-2xx. The request timeout bounds the wait for
        the response headers; the body is read without one (read sessions enforce
        their own heartbeat deadline). Connection failures raise a
        :class:`~s2_sdk._exceptions.TransportError`.
        """
        timeout = self.timeout.request.total_seconds()
        stream: DuplexStream | None = None
        try:
            try:
                async with asyncio.timeout(timeout):
                    stream = await self._open(
                        method, _target(path, params), dict(headers or {}), None
                    )
                    status, _ = await stream.response()
                    if status >= 400:
                        error = server_error(status, await stream.read_all())
                        if isinstance(error, ServerDrainingError):
                            stream.retire_connection()
                        raise error
            except TimeoutError as e:
                if stream is not None:
                    stream.retire_connection()
                raise ReadTimeoutError(f"no response within {timeout:g} s") from e
            yield stream
        finally:
            if stream is not None:
                stream.reset()
                await self._done(stream)


def _target(path: str, params: Mapping[str, str | int] | None) -> str:
    return f"{path}?{urlencode(params)}" if params else path


def _decoded(content: bytes, headers: Mapping[str, str]) -> bytes:
    """The body without its ``content-encoding`` (zstd or gzip)."""
    encoding = headers.get("content-encoding")
    codec = codec_from_content_encoding(encoding)
    if codec is None:
        raise S2ClientError(f"unsupported content-encoding in the response: {encoding!r}")
    try:
        return decompress(content, codec, MAX_RESPONSE_BYTES) if content else content
    except CompressionError as e:
        raise S2ClientError(f"undecodable response body: {e}") from e
