"""The request/response transport: every use of httpx sits here.

HTTP/2 throughout: ALPN on ``https``, prior knowledge (h2c) on ``http``.
"""

from __future__ import annotations

import asyncio
import json as jsonlib
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import asynccontextmanager
from importlib.metadata import version
from typing import Any

import httpx

from s2_sdk._errors import server_error
from s2_sdk._options import Compression, Retry, Timeout
from s2_sdk._retry import RetryAfter, is_retryable, run_with_retries
from s2_sdk.protocol import compress

__all__ = ["USER_AGENT", "HttpClient", "TransportError"]

USER_AGENT = f"s2-core-python/{version('s2-core')}"


class TransportError(ConnectionError):
    """The connection failed while streaming a response (retryable)."""


class HttpClient:
    """Requests to one origin, with auth, compression, timeouts and retries."""

    def __init__(
        self,
        origin: str,
        access_token: str,
        timeout: Timeout,
        retry: Retry,
        compression: Compression,
    ) -> None:
        self.origin = origin
        self.retry = retry
        self.timeout = timeout
        self.compression = compression
        self.headers = {
            "authorization": f"Bearer {access_token}",
            "user-agent": USER_AGENT,
            "accept-encoding": "identity" if compression is Compression.NONE else compression.value,
        }
        self._client = httpx.AsyncClient(
            base_url=origin,
            http1=origin.startswith("https://"),
            http2=True,
            headers=self.headers,
            timeout=httpx.Timeout(
                timeout.request.total_seconds(), connect=timeout.connection.total_seconds()
            ),
            limits=httpx.Limits(max_keepalive_connections=20, keepalive_expiry=90),
        )

    async def close(self) -> None:
        """Close pooled connections."""
        await self._client.aclose()

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
    ) -> httpx.Response:
        """Send a request, retrying per :class:`Retry`; raise the mapped error for non-2xx."""
        send_headers = dict(headers or {})
        body = content
        if json is not None:
            body = jsonlib.dumps(json, separators=(",", ":")).encode()
            send_headers.setdefault("content-type", "application/json")
        if body is not None and self.compression is not Compression.NONE:
            body = compress(body, self.compression.codec)
            send_headers["content-encoding"] = self.compression.value
        timeout = None
        if extra_timeout:
            t = self.timeout
            timeout = httpx.Timeout(
                t.request.total_seconds() + extra_timeout, connect=t.connection.total_seconds()
            )

        async def attempt() -> httpx.Response:
            resp = await self._client.request(
                method,
                path,
                params=params,
                content=body,
                headers=send_headers,
                timeout=timeout if timeout is not None else httpx.USE_CLIENT_DEFAULT,
            )
            if resp.status_code >= 400:
                error = server_error(resp.status_code, resp.content)
                retry_after = resp.headers.get("retry-after-ms")
                if retry_after and retry_after.isascii() and retry_after.isdigit():
                    raise RetryAfter(error, int(retry_after) / 1000)
                raise error
            return resp

        return await run_with_retries(attempt, self.retry, retry_on)

    @asynccontextmanager
    async def stream(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, str | int] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> AsyncIterator[httpx.Response]:
        """A streaming response (read sessions); raises the mapped error for non-2xx.

        The request timeout bounds the wait for headers; the body is read without one
        (read sessions enforce their own heartbeat deadline).
        """
        t = self.timeout
        timeout = httpx.Timeout(
            connect=t.connection.total_seconds(),
            read=None,
            write=t.request.total_seconds(),
            pool=t.request.total_seconds(),
        )
        request = self._client.build_request(
            method, path, params=params, headers=headers, timeout=timeout
        )
        try:
            resp = await asyncio.wait_for(
                self._client.send(request, stream=True), t.request.total_seconds()
            )
        except httpx.TransportError as e:
            raise TransportError(f"{type(e).__name__}: {e}") from e
        try:
            if resp.status_code >= 400:
                await resp.aread()
                raise server_error(resp.status_code, resp.content)
            yield resp
        except httpx.TransportError as e:
            raise TransportError(f"{type(e).__name__}: {e}") from e
        finally:
            await resp.aclose()
