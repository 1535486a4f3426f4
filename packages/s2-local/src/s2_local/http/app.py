"""The ASGI application: routing, basin resolution and error handling."""

from __future__ import annotations

import logging
import threading
from collections.abc import Awaitable, Callable
from ipaddress import ip_address
from typing import Any

from s2_sdk.protocol import ErrorCode, basin_name_error

from s2_local.engine.account import Account
from s2_local.errors import ApiError
from s2_local.http.admin import AdminHandlers
from s2_local.http.asgi import Disconnected, Receive, Request, Scope, Send, respond, respond_error
from s2_local.http.control_plane import BasinHandlers, StreamHandlers
from s2_local.http.data_plane import RecordHandlers
from s2_local.http.drain import Drain
from s2_local.http.limits import Limits
from s2_local.storage import CorruptLog

__all__ = ["S2App"]

log = logging.getLogger("s2_local.app")

Handler = Callable[..., Awaitable[None]]


class S2App:
    """An ASGI application serving the S2 v1 API from an :class:`Account`."""

    def __init__(
        self,
        account: Account,
        on_ready: Callable[[], None] | None = None,
        limits: Limits | None = None,
    ) -> None:
        self.account = account
        self.limits = limits or Limits()
        self.ready = threading.Event()
        self.startup_error: Exception | None = None
        """Why the account could not be opened, if it could not."""
        self._on_ready = on_ready
        self.drain = Drain()
        self._basins = BasinHandlers(account)
        self._streams = StreamHandlers(account)
        self._records = RecordHandlers(account, self.drain)
        self._admin = AdminHandlers(account)

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
                return
            if self.drain.is_draining(req.client):
                raise ApiError(ErrorCode.SERVER_DRAINING, "the server is draining this connection")
            await self._route(req, send)
        except Disconnected:
            return
        except ApiError as e:
            if req is not None:
                await req.discard_body()
            await respond_error(send, e)
        except UnicodeDecodeError:
            await respond_error(send, ApiError(ErrorCode.BAD_PATH, "path is not valid UTF-8"))
        except Exception:
            log.exception("unexpected error on %s %s", scope.get("method"), scope.get("path"))
            await respond_error(send, ApiError(ErrorCode.OTHER, "internal error"))

    async def _route(self, req: Request, send: Send) -> None:
        seg = req.segments
        method = req.method
        if seg in (["health"], ["ping"]) and method in ("GET", "HEAD"):
            await respond(send, 200, b"OK", "text/plain")
            return
        if len(seg) < 2 or seg[0] != "v1":
            await respond(send, 404)
            return
        req.principal = self.account.tokens.authenticate(req.header("authorization"))
        resource, rest = seg[1], seg[2:]
        if resource == "basins":
            await self._dispatch(
                req,
                send,
                method,
                rest,
                {
                    (0, "GET"): self._basins.list,
                    (0, "POST"): self._basins.create,
                    (1, "GET"): self._basins.get,
                    (1, "PUT"): self._basins.ensure,
                    (1, "PATCH"): self._basins.reconfigure,
                    (1, "DELETE"): self._basins.delete,
                },
            )
        elif resource == "streams":
            basin = self._basin_of(req)
            if len(rest) >= 2 and rest[1] == "records":
                records: dict[tuple[str, str], Handler] = {
                    ("records", "GET"): self._records.read,
                    ("records", "POST"): self._records.append,
                    ("records/tail", "GET"): self._records.tail,
                }
                handler = records.get(("/".join(rest[1:]), method))
                if handler is None:
                    await respond(
                        send, 405 if "/".join(rest[1:]) in ("records", "records/tail") else 404
                    )
                    return
                await handler(req, send, basin, rest[0])
                return
            await self._dispatch(
                req,
                send,
                method,
                rest,
                {
                    (0, "GET"): self._streams.list,
                    (0, "POST"): self._streams.create,
                    (1, "GET"): self._streams.get,
                    (1, "PUT"): self._streams.ensure,
                    (1, "PATCH"): self._streams.reconfigure,
                    (1, "DELETE"): self._streams.delete,
                },
                basin,
            )
        elif resource == "access-tokens":
            await self._dispatch(
                req,
                send,
                method,
                rest,
                {
                    (0, "GET"): self._admin.list_tokens,
                    (0, "POST"): self._admin.issue_token,
                    (1, "DELETE"): self._admin.revoke_token,
                },
            )
        elif resource == "locations":
            routes: dict[tuple[str, str], Handler] = {
                ("", "GET"): self._admin.list_locations,
                ("default", "GET"): self._admin.get_default_location,
                ("default", "PUT"): self._admin.set_default_location,
            }
            handler = routes.get(("/".join(rest), method))
            if handler is None:
                await respond(send, 405 if rest in ([], ["default"]) else 404)
                return
            await handler(req, send)
        elif resource == "metrics" and len(rest) <= 2 and method == "GET":
            await self._admin.metrics(req, send, *rest)
        else:
            await respond(send, 404)

    async def _dispatch(
        self,
        req: Request,
        send: Send,
        method: str,
        rest: list[str],
        routes: dict[tuple[int, str], Handler],
        *prefix: Any,
    ) -> None:
        if len(rest) > 1:
            await respond(send, 404)
            return
        handler = routes.get((len(rest), method))
        if handler is None:
            await respond(send, 405)
            return
        await handler(req, send, *prefix, *rest)

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
