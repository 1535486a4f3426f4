"""The ASGI application: lifespan, request checks, basin resolution and error handling;
the routes are in :mod:`s2_local.http.routes`."""

from __future__ import annotations

import hmac
import logging
import threading
from collections.abc import Callable
from ipaddress import ip_address

from s2_sdk.protocol import ErrorCode, basin_name_error

from s2_local.engine.account import Account
from s2_local.engine.init_file import InitFile
from s2_local.engine.telemetry import CONTENT_TYPE
from s2_local.errors import ApiError
from s2_local.http.admin import AdminHandlers
from s2_local.http.asgi import (
    Disconnected,
    Message,
    Receive,
    Request,
    Scope,
    Send,
    respond,
    respond_error,
)
from s2_local.http.console import ConsoleHandlers
from s2_local.http.control_plane import BasinHandlers, StreamHandlers
from s2_local.http.cors import Cors
from s2_local.http.data_plane import RecordHandlers
from s2_local.http.drain import Drain
from s2_local.http.limits import Limits
from s2_local.http.routes import Router
from s2_local.storage import CorruptLog

__all__ = ["S2App"]

log = logging.getLogger("s2_local.app")


class S2App:
    """An ASGI application serving the S2 v1 API from an :class:`Account`."""

    def __init__(
        self,
        account: Account,
        on_ready: Callable[[], None] | None = None,
        limits: Limits | None = None,
        init: InitFile | None = None,
        metrics_token: str | None = None,
        cors: Cors | None = None,
    ) -> None:
        self.account = account
        self.init = init
        """Basins and streams to create or reconfigure at start."""
        self.metrics_token = metrics_token
        """The bearer token ``/metrics`` needs (None: open)."""
        self.cors = cors or Cors()
        """The origins whose browser pages may call the server."""
        self.limits = limits or Limits()
        self.ready = threading.Event()
        self.startup_error: Exception | None = None
        """Why the account could not be opened, if it could not."""
        self._on_ready = on_ready
        self.drain = Drain()
        self._router = Router(
            {
                "status": self,
                "basins": BasinHandlers(account),
                "streams": StreamHandlers(account),
                "records": RecordHandlers(account, self.drain),
                "admin": AdminHandlers(account),
                "console": ConsoleHandlers(),
            }
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
        elif scope["type"] == "http":
            await self._http(scope, receive, send)

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                try:
                    await self.account.open()
                    if self.init is not None:
                        await self.init.apply(self.account)
                except Exception as e:
                    self.startup_error = e
                    if not isinstance(e, CorruptLog):  # that one says all there is to say
                        log.exception("s2-local failed to start")
                    await send({"type": "lifespan.startup.failed", "message": str(e)})
                    return
                await send({"type": "lifespan.startup.complete"})
                self.ready.set()
                if self._on_ready is not None:
                    self._on_ready()
            elif message["type"] == "lifespan.shutdown":
                await self.account.close()
                await send({"type": "lifespan.shutdown.complete"})
                return

    async def _http(self, scope: Scope, receive: Receive, send: Send) -> None:
        status = 0
        cors: list[tuple[bytes, bytes]] = []

        async def counted(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                if cors:
                    message["headers"] = [*message.get("headers", ()), *cors]
            await send(message)

        for name, _ in scope["headers"]:
            if name == b"origin":
                route = await self._cross_origin(scope, receive, counted, cors)
                break
        else:
            route = await self._serve(scope, receive, counted)
        self.account.telemetry.answered(route, scope["method"], status)

    async def _cross_origin(
        self,
        scope: Scope,
        receive: Receive,
        send: Send,
        cors: list[tuple[bytes, bytes]],
    ) -> str:
        """A request from a browser page: refused unless its origin is allowed (or is the
        server's own), a preflight answered, else served with the CORS headers."""
        headers = dict(scope["headers"])
        origin = headers[b"origin"].decode("latin-1")
        host = headers.get(b"host")
        if not self.cors.admits(origin, None if host is None else host.decode("latin-1")):
            error = ApiError(ErrorCode.PERMISSION_DENIED, f"origin {origin} is not allowed")
            await respond_error(send, error)
            return "unmatched"
        if self.cors.allows(origin):
            if scope["method"] == "OPTIONS" and b"access-control-request-method" in headers:
                answer = self.cors.preflight(origin)
                await send({"type": "http.response.start", "status": 204, "headers": answer})
                await send({"type": "http.response.body", "body": b""})
                return "preflight"
            cors.extend(self.cors.response_headers(origin))
        return await self._serve(scope, receive, send)

    async def _serve(self, scope: Scope, receive: Receive, send: Send) -> str:
        """Answer a request; returns the path of the route it took (for metrics)."""
        req: Request | None = None
        try:
            req = Request(scope, receive, self.limits.body_timeout)
            if "content-length" in req.headers and "transfer-encoding" in req.headers:
                # RFC 9112, 6.1: a body framed twice may hide a second request (smuggling);
                # refused, and the connection closed so that nothing after it is read
                error = ApiError(
                    ErrorCode.BAD_HEADER, "Content-Length and Transfer-Encoding together"
                )
                await respond(
                    send, 400, error.body(), "application/json", [("connection", "close")]
                )
                return req.route
            if self.drain.is_draining(req.client):
                raise ApiError(ErrorCode.SERVER_DRAINING, "the server is draining this connection")
            await self._route(req, send)
        except Disconnected:
            pass
        except ApiError as e:
            if req is not None:
                await req.discard_body()
            await respond_error(send, e)
        except UnicodeDecodeError:
            await respond_error(send, ApiError(ErrorCode.BAD_PATH, "path is not valid UTF-8"))
        except Exception:
            log.exception("unexpected error on %s %s", scope.get("method"), scope.get("path"))
            await respond_error(send, ApiError(ErrorCode.OTHER, "internal error"))
        return "unmatched" if req is None else req.route

    async def _route(self, req: Request, send: Send) -> None:
        seg = req.segments
        match = self._router.match(req.method, seg)
        req.route = match.path
        if seg[:1] == ["v1"] and len(seg) >= 2:
            req.principal = self.account.tokens.authenticate(req.header("authorization"))
        basin = [self._basin_of(req)] if seg[:2] == ["v1", "streams"] else []
        if match.handler is None:
            await respond(send, match.status)
            return
        await match.handler(req, send, *basin, *match.captured)

    async def ok(self, req: Request, send: Send) -> None:
        """``/health`` and ``/ping``: the server is up."""
        await respond(send, 200, b"OK", "text/plain")

    async def prometheus(self, req: Request, send: Send) -> None:
        """``/metrics``: the server's metrics in Prometheus' text format (behind
        ``metrics_token`` as a bearer token, if one is set)."""
        if self.metrics_token is not None and not hmac.compare_digest(
            (req.header("authorization") or "").encode(), f"Bearer {self.metrics_token}".encode()
        ):
            raise ApiError(ErrorCode.AUTHN, "/metrics needs the metrics token as a bearer token")
        await respond(send, 200, self.account.telemetry.render(), CONTENT_TYPE)

    @staticmethod
    def _basin_of(req: Request) -> str:
        basin = req.header("s2-basin")
        if basin is not None:
            basin = basin.strip()
            if basin_name_error(basin):
                raise ApiError(ErrorCode.BAD_HEADER, f"invalid s2-basin header: {basin!r}")
            return basin
        host = (req.header("host") or "").rsplit(":", 1)[0].strip("[]")
        label = host.split(".", 1)[0]
        if "." in host and not _is_ip(host) and not basin_name_error(label):
            return label
        raise ApiError(ErrorCode.BAD_HEADER, "Missing header `s2-basin`")


def _is_ip(host: str) -> bool:
    try:
        ip_address(host)
    except ValueError:
        return False
    return True
