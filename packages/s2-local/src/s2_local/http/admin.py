"""Account features beyond s2-lite: access tokens, locations and usage metrics."""

from __future__ import annotations

from s2_sdk.protocol import ErrorCode, access_token_id_error, token_id_prefix_error

from s2_local.engine.account import LOCATIONS, Account
from s2_local.engine.config import STORAGE_CLASSES, SYSTEM_DEFAULTS
from s2_local.engine.usage import ACCOUNT_SETS, BASIN_SETS, STREAM_SETS
from s2_local.errors import ApiError
from s2_local.http.asgi import Request, Send, respond, respond_json
from s2_local.http.control_plane import list_params, path_basin, path_stream

__all__ = ["AdminHandlers"]


def _location_json(name: str) -> dict[str, object]:
    """Every location offers every storage class, with the streams' default as its own."""
    return {
        "name": name,
        "is_private": False,
        "storage_classes": list(STORAGE_CLASSES),
        "default_storage_class": SYSTEM_DEFAULTS.storage_class,
    }


class AdminHandlers:
    """``/v1/access-tokens``, ``/v1/locations`` and ``/v1/metrics`` routes."""

    def __init__(self, account: Account) -> None:
        self.account = account

    # -- access tokens -------------------------------------------------------------

    async def list_tokens(self, req: Request, send: Send) -> None:
        req.principal.authorize("list-access-tokens")
        prefix, start_after, limit = list_params(req, token_id_prefix_error)
        tokens = self.account.tokens
        ids = sorted(
            (i for i in tokens.listed(req.principal) if i.startswith(prefix) and i > start_after),
            key=str.encode,
        )
        page = [tokens.by_id[i].info_json() for i in ids[:limit]]
        self.account.metrics.account_op()
        await respond_json(send, 200, {"access_tokens": page, "has_more": len(ids) > limit})

    async def issue_token(self, req: Request, send: Send) -> None:
        value = await self.account.tokens.issue(req.principal, await req.json())
        self.account.metrics.account_op()
        await respond_json(send, 201, {"access_token": value})

    async def revoke_token(self, req: Request, send: Send, token_id: str) -> None:
        error = access_token_id_error(token_id)
        if error:
            raise ApiError(ErrorCode.BAD_PATH, error)
        await self.account.tokens.revoke(req.principal, token_id)
        self.account.metrics.account_op()
        await respond(send, 204)

    # -- locations -----------------------------------------------------------------

    async def list_locations(self, req: Request, send: Send) -> None:
        req.principal.authorize("list-locations")
        self.account.metrics.account_op()
        await respond_json(send, 200, [_location_json(name) for name in LOCATIONS])

    async def get_default_location(self, req: Request, send: Send) -> None:
        req.principal.authorize("get-default-location")
        self.account.metrics.account_op()
        await respond_json(send, 200, _location_json(self.account.default_location))

    async def set_default_location(self, req: Request, send: Send) -> None:
        req.principal.authorize("set-default-location")
        name = await req.json()
        if not isinstance(name, str):
            raise ApiError(ErrorCode.BAD_JSON, "the body must be a JSON string naming a location")
        self.account.metrics.account_op()
        await respond_json(send, 200, _location_json(await self.account.set_default_location(name)))

    # -- metrics -------------------------------------------------------------------

    async def metrics(self, req: Request, send: Send, *path: str) -> None:
        account = self.account
        names = list(path)
        if not names:
            req.principal.authorize("account-metrics")
            principal = req.principal
            result = account.metrics.query(
                req.query, ACCOUNT_SETS, (), visible=lambda basin: principal.sees("basin", basin)
            )
        elif len(names) == 1:
            basin = path_basin(names[0])
            req.principal.authorize("basin-metrics", basin=basin)
            b = account.basin(basin)
            result = account.metrics.query(
                req.query,
                BASIN_SETS,
                (basin,),
                lambda: float(sum(s.log.stored_bytes() for s in b.streams.values())),
            )
        else:
            basin = path_basin(names[0])
            stream = req.principal.auto_prefix + path_stream(names[1])
            req.principal.authorize("stream-metrics", basin=basin, stream=stream)
            s = account.stream(basin, stream)
            result = account.metrics.query(
                req.query, STREAM_SETS, (basin, stream), lambda: float(s.log.stored_bytes())
            )
        account.metrics.account_op()
        await respond_json(send, 200, result)
