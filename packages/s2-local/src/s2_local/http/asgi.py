"""Minimal ASGI request/response helpers for the s2-local application."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable, Iterable, MutableMapping
from typing import Any
from urllib.parse import parse_qsl, unquote

from s2_sdk.protocol import (
    COMPRESSION_THRESHOLD,
    Codec,
    CompressionError,
    ErrorCode,
    codec_from_accept_encoding,
    codec_from_content_encoding,
    compress,
    decompress,
)

from s2_local.engine.access import ROOT
from s2_local.engine.parsing import parse_json, parse_uint
from s2_local.errors import ApiError

__all__ = [
    "Receive",
    "Request",
    "Scope",
    "Send",
    "query_params",
    "respond",
    "respond_error",
    "respond_json",
]

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

MAX_BODY_BYTES = 4 * 1024 * 1024
"""Largest unary request body accepted (after decompression: 2 MiB of payload)."""


class Disconnected(Exception):
    """The client went away before the request body was read."""


def query_params(text: str) -> dict[str, str]:
    """The parameters of a query string, as ``parse_qsl`` with blank values kept reads
    them (the last value wins); a string without escapes is split directly."""
    if "%" not in text and "+" not in text:
        params = {}
        for field in text.split("&"):
            if field:
                name, _, value = field.partition("=")
                params[name] = value
        return params
    try:
        pairs = parse_qsl(text, keep_blank_values=True, strict_parsing=False, errors="strict")
    except (UnicodeDecodeError, ValueError) as e:
        raise ApiError(ErrorCode.BAD_QUERY, f"invalid query string: {e}") from e
    return dict(pairs)


class Request:
    """An HTTP request: method, decoded path segments, query, headers, body."""

    def __init__(self, scope: Scope, receive: Receive, body_timeout: float = 30.0) -> None:
        self.scope = scope
        self.receive = receive
        self.body_timeout = body_timeout
        """Longest pause within the body before the request fails (408)."""
        self.method: str = scope["method"]
        raw_path: bytes = scope.get("raw_path") or scope["path"].encode()
        path = raw_path.split(b"?", 1)[0].decode("latin-1")
        self.segments = [
            unquote(s, errors="strict") if "%" in s else s for s in path.split("/")[1:]
        ]
        self.headers: dict[str, str] = {}
        for name, value in scope["headers"]:
            key = name.decode("latin-1").lower()
            text = value.decode("latin-1")
            self.headers[key] = f"{self.headers[key]},{text}" if key in self.headers else text
        self._query: dict[str, str] | None = None
        self._body_read = False
        self.principal = ROOT
        self.route = "unmatched"
        """The path of the route the request took (the route table's, for metrics)."""
        client = scope.get("client")
        self.client: tuple[str, int] | None = (client[0], client[1]) if client else None
        """The connection's peer address."""

    @property
    def query(self) -> dict[str, str]:
        """Query parameters (the last value wins)."""
        if self._query is None:
            self._query = query_params(self.scope["query_string"].decode("latin-1"))
        return self._query

    def header(self, name: str) -> str | None:
        """A request header value (names are case-insensitive)."""
        return self.headers.get(name)

    def media_type(self, header: str) -> str:
        """The first media type in ``Content-Type`` or ``Accept``, lowercased, no parameters."""
        value = self.headers.get(header, "")
        return value.split(",")[0].split(";")[0].strip().lower()

    async def body(self, bad_code: ErrorCode = ErrorCode.BAD_JSON) -> bytes:
        """The whole request body, decompressed per ``Content-Encoding``.

        Raises:
            ApiError: ``bad_code`` when the body is too large or cannot be decompressed.
        """
        chunks: list[bytes] = []
        size = 0
        self._body_read = True
        while True:
            message = await self.next_chunk()
            if message["type"] == "http.disconnect":
                raise Disconnected
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > MAX_BODY_BYTES:
                raise ApiError(bad_code, f"request body exceeds {MAX_BODY_BYTES} bytes")
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        data = b"".join(chunks)
        codec = codec_from_content_encoding(self.headers.get("content-encoding"))
        if codec is None:
            raise ApiError(ErrorCode.BAD_HEADER, "unsupported Content-Encoding (use zstd or gzip)")
        try:
            return decompress(data, codec, MAX_BODY_BYTES)
        except CompressionError as e:
            raise ApiError(bad_code, f"request body could not be decompressed: {e}") from e

    async def next_chunk(self) -> Message:
        """The next message of the body, within :attr:`body_timeout`.

        Raises:
            ApiError: 408 ``request_timeout`` when the client pauses longer.
        """
        try:
            async with asyncio.timeout(self.body_timeout):
                return await self.receive()
        except TimeoutError:
            raise ApiError(
                ErrorCode.REQUEST_TIMEOUT, f"no request body for {self.body_timeout:g} seconds"
            ) from None

    async def discard_body(self) -> None:
        """Read and drop an unread body of known, bounded length before an early error.

        An HTTP/1.1 connection can only be reused once the request body was consumed;
        without this, a client that pipelines its next request on it sees a reset.
        Streaming bodies (no ``Content-Length``) are left alone.
        """
        length = parse_uint(self.headers.get("content-length", ""))
        if length is None or self._body_read or length > MAX_BODY_BYTES:
            return
        self._body_read = True
        while True:
            message = await self.next_chunk()
            if message["type"] == "http.disconnect" or not message.get("more_body", False):
                return

    async def json(self, *, optional: bool = False) -> Any:
        """The body as JSON; with ``optional``, an absent body (or no Content-Type) is None."""
        content_type = self.media_type("content-type")
        is_json = content_type == "application/json" or (
            content_type.startswith("application/") and content_type.endswith("+json")
        )
        data = await self.body()
        if optional and (not data.strip() or not content_type):
            return None
        if not is_json:
            raise ApiError(
                ErrorCode.BAD_JSON, "Expected request with `Content-Type: application/json`"
            )
        return parse_json(data, ErrorCode.BAD_JSON, "JSON body")


async def respond(
    send: Send,
    status: int,
    body: bytes = b"",
    content_type: str | None = None,
    headers: Iterable[tuple[str, str]] = (),
    accept_encoding: str | None = None,
) -> None:
    """Send a complete response, compressing bodies over 1 KiB if the client accepts it."""
    raw_headers = [(k.encode(), v.encode()) for k, v in headers]
    if content_type is not None:
        raw_headers.append((b"content-type", content_type.encode()))
    if accept_encoding and len(body) > COMPRESSION_THRESHOLD:
        codec = codec_from_accept_encoding(accept_encoding)
        if codec is not Codec.NONE:
            body = compress(body, codec)
            raw_headers.append((b"content-encoding", str(codec.content_encoding).encode()))
    raw_headers.append((b"content-length", str(len(body)).encode()))
    await send({"type": "http.response.start", "status": status, "headers": raw_headers})
    await send({"type": "http.response.body", "body": body})


async def respond_json(
    send: Send,
    status: int,
    value: Any,
    headers: Iterable[tuple[str, str]] = (),
    accept_encoding: str | None = None,
) -> None:
    """Send a JSON response."""
    body = json.dumps(value, separators=(",", ":")).encode()
    await respond(send, status, body, "application/json", headers, accept_encoding)


async def respond_error(send: Send, error: ApiError) -> None:
    """Send an API error with its status and JSON body."""
    await respond(send, error.status, error.body(), "application/json")
