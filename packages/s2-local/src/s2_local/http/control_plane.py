"""Control-plane handlers: basins and streams (JSON)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from s2_sdk.protocol import (
    MAX_LIST_LIMIT,
    MAX_REQUEST_TOKEN_BYTES,
    ErrorCode,
    basin_name_error,
    basin_prefix_error,
    location_name_error,
    stream_name_error,
    stream_prefix_error,
)

from s2_local.engine.account import Account
from s2_local.engine.config import parse_basin_patch, parse_stream_patch
from s2_local.engine.parsing import parse_uint
from s2_local.errors import ApiError
from s2_local.http.asgi import Request, Send, respond, respond_json

__all__ = ["BasinHandlers", "StreamHandlers", "list_params"]

_PROVISION = "s2-provision-result"


def list_params(req: Request, check: Callable[[str], str | None]) -> tuple[str, str, int]:
    """``prefix``, ``start_after`` and ``limit`` (0 or above 1000 mean 1000)."""
    q = req.query
    prefix, start_after = q.get("prefix", ""), q.get("start_after", "")
    for name, value in (("prefix", prefix), ("start_after", start_after)):
        error = check(value)
        if error:
            raise ApiError(ErrorCode.BAD_QUERY, f"invalid `{name}`: {error}")
    raw = q.get("limit")
    limit = MAX_LIST_LIMIT
    if raw is not None:
        parsed = parse_uint(raw)
        if parsed is None:
            raise ApiError(ErrorCode.BAD_QUERY, f"invalid `limit`: {raw[:40]!r}")
        limit = parsed
        if limit == 0 or limit > MAX_LIST_LIMIT:
            limit = MAX_LIST_LIMIT
    return prefix, start_after, limit


def request_token(req: Request) -> str | None:
    """The ``s2-request-token`` idempotency token, if any."""
    token = req.header("s2-request-token")
    if token is not None and len(token.encode()) > MAX_REQUEST_TOKEN_BYTES:
        raise ApiError(
            ErrorCode.BAD_HEADER, f"s2-request-token exceeds {MAX_REQUEST_TOKEN_BYTES} bytes"
        )
    return token


def path_basin(name: str) -> str:
    """A basin name from the path (``bad_path`` when invalid)."""
    error = basin_name_error(name)
    if error:
        raise ApiError(ErrorCode.BAD_PATH, error)
    return name


def path_stream(name: str) -> str:
    """A stream name from the path (``bad_path`` when invalid)."""
    error = stream_name_error(name)
    if error:
        raise ApiError(ErrorCode.BAD_PATH, error)
    return name


def _location(body: dict[str, Any]) -> str | None:
    location = body.get("location")
    if location is None:
        return None
    if not isinstance(location, str) or location_name_error(location):
        raise ApiError(ErrorCode.BAD_JSON, f"invalid location {location!r}")
    return location


def _object(value: Any, what: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise ApiError(ErrorCode.BAD_JSON, f"{what} must be a JSON object")
    return value


class BasinHandlers:
    """``/v1/basins`` routes."""

    def __init__(self, account: Account) -> None:
        self.account = account

    async def list(self, req: Request, send: Send) -> None:
        req.principal.authorize("list-basins")
        prefix, start_after, limit = list_params(req, basin_prefix_error)
        basins, more = self.account.list_basins(prefix, start_after, limit, req.principal)
        self.account.metrics.account_op()
        await respond_json(
            send,
            200,
            {"basins": [b.info_json() for b in basins], "has_more": more},
            accept_encoding=req.header("accept-encoding"),
        )

    async def create(self, req: Request, send: Send) -> None:
        token = request_token(req)
        body = _object(await req.json(), "create basin request")
        name = body.get("basin")
        if not isinstance(name, str) or basin_name_error(name):
            raise ApiError(
                ErrorCode.BAD_JSON, basin_name_error(str(name)) or "`basin` must be a string"
            )
        req.principal.authorize("create-basin", basin=name)
        self.account.metrics.account_op(name)
        basin, created = await self.account.create_basin(
            name, body.get("config"), _location(body), token
        )
        await respond_json(
            send, 201, basin.info_json(), [(_PROVISION, "created" if created else "noop")]
        )

    async def get(self, req: Request, send: Send, name: str) -> None:
        req.principal.authorize("get-basin-config", basin=path_basin(name))
        self.account.metrics.account_op(name)
        basin = self.account.basin(name)
        await respond_json(send, 200, basin.config.to_json())

    async def ensure(self, req: Request, send: Send, name: str) -> None:
        name = path_basin(name)
        self.account.metrics.account_op(name)
        body = await req.json(optional=True)
        body = {} if body is None else _object(body, "ensure basin request")
        # which permission it takes (create or reconfigure) is decided with the change
        basin, outcome = await self.account.ensure_basin(
            name,
            body.get("config"),
            _location(body),
            lambda op: req.principal.authorize(op, basin=name),
        )
        status = 201 if outcome == "created" else 200
        await respond_json(send, status, basin.info_json(), [(_PROVISION, outcome)])

    async def reconfigure(self, req: Request, send: Send, name: str) -> None:
        name = path_basin(name)
        req.principal.authorize("reconfigure-basin", basin=name)
        self.account.metrics.account_op(name)
        patch = parse_basin_patch(await req.json())
        config = await self.account.reconfigure_basin(name, patch)
        await respond_json(send, 200, config.to_json())

    async def delete(self, req: Request, send: Send, name: str) -> None:
        req.principal.authorize("delete-basin", basin=path_basin(name))
        self.account.metrics.account_op(name)
        await self.account.delete_basin(name)
        await respond(send, 202)


class StreamHandlers:
    """``/v1/streams`` routes (the basin comes from ``s2-basin`` or the host)."""

    def __init__(self, account: Account) -> None:
        self.account = account

    async def list(self, req: Request, send: Send, basin: str) -> None:
        principal = req.principal
        principal.authorize("list-streams", basin=basin)
        self.account.metrics.basin_op(basin)
        prefix, start_after, limit = list_params(req, stream_prefix_error)
        hidden = principal.auto_prefix
        start_after = hidden + start_after if start_after else ""
        streams, more = self.account.list_streams(
            basin, hidden + prefix, start_after, limit, principal
        )
        infos = [{**s.info_json(), "name": s.name[len(hidden) :]} for s in streams]
        await respond_json(
            send,
            200,
            {"streams": infos, "has_more": more},
            accept_encoding=req.header("accept-encoding"),
        )

    async def create(self, req: Request, send: Send, basin: str) -> None:
        token = request_token(req)
        body = _object(await req.json(), "create stream request")
        name = body.get("stream")
        if not isinstance(name, str) or stream_name_error(name):
            raise ApiError(
                ErrorCode.BAD_JSON, stream_name_error(str(name)) or "`stream` must be a string"
            )
        full = req.principal.auto_prefix + name
        req.principal.authorize("create-stream", basin=basin, stream=full)
        self.account.metrics.basin_op(basin)
        stream, created = await self.account.create_stream(basin, full, body.get("config"), token)
        await respond_json(
            send,
            201,
            {**stream.info_json(), "name": name},
            [(_PROVISION, "created" if created else "noop")],
        )

    async def get(self, req: Request, send: Send, basin: str, name: str) -> None:
        name = self._authorized(req, "get-stream-config", basin, name)
        config = self.account.stream_config(basin, name)
        await respond_json(send, 200, config.to_json())

    async def ensure(self, req: Request, send: Send, basin: str, name: str) -> None:
        full = req.principal.auto_prefix + path_stream(name)
        self.account.metrics.basin_op(basin)
        body = await req.json(optional=True)
        # which permission it takes (create or reconfigure) is decided with the change
        stream, outcome = await self.account.ensure_stream(
            basin, full, body, lambda op: req.principal.authorize(op, basin=basin, stream=full)
        )
        status = 201 if outcome == "created" else 200
        info = {**stream.info_json(), "name": name}
        await respond_json(send, status, info, [(_PROVISION, outcome)])

    async def reconfigure(self, req: Request, send: Send, basin: str, name: str) -> None:
        name = self._authorized(req, "reconfigure-stream", basin, name)
        patch = parse_stream_patch(await req.json())
        config = await self.account.reconfigure_stream(basin, name, patch)
        await respond_json(send, 200, config.to_json())

    async def delete(self, req: Request, send: Send, basin: str, name: str) -> None:
        name = self._authorized(req, "delete-stream", basin, name)
        await self.account.delete_stream(basin, name)
        await respond(send, 202)

    def _authorized(self, req: Request, op: str, basin: str, name: str) -> str:
        """Check ``op`` on the stream named in the path; return its full (prefixed) name."""
        full = req.principal.auto_prefix + path_stream(name)
        req.principal.authorize(op, basin=basin, stream=full)
        self.account.metrics.basin_op(basin)
        return full
