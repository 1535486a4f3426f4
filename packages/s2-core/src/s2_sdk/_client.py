"""The account-level client, :class:`S2`."""

from __future__ import annotations

import uuid
import weakref
from collections.abc import AsyncIterator
from datetime import datetime
from urllib.parse import quote

from s2_sdk._access import AccessTokenInfo, AccessTokenScope
from s2_sdk._append_session import AppendSession
from s2_sdk._basin import S2Basin, ensure_status
from s2_sdk._closing import AsyncClosing
from s2_sdk._config import BasinConfig
from s2_sdk._exceptions import S2ClientError, S2ServerError, fallible
from s2_sdk._http import HttpClient
from s2_sdk._info import BasinInfo, EnsuredBasinInfo, LocationInfo
from s2_sdk._json import (
    access_token_info,
    basin_config,
    basin_config_json,
    basin_info,
    location_info,
    metrics,
    scope_json,
)
from s2_sdk._metrics import (
    AccountMetricSet,
    BasinMetricSet,
    Metric,
    StreamMetricSet,
    TimeseriesInterval,
)
from s2_sdk._options import Compression, Endpoints, Retry, Timeout
from s2_sdk._query import list_params, paginate
from s2_sdk._read_session import ReadSession
from s2_sdk._records import Page
from s2_sdk._validate import access_token as checked_access_token
from s2_sdk._validate import (
    check_access_token_id,
    check_basin,
    check_location,
    check_retry,
    check_stream,
    check_timeout,
)

__all__ = ["S2"]


@fallible()
class S2(AsyncClosing):
    """Client for S2, an API for unlimited, durable, real-time streams.

    Works with both the cloud and open source, self-hosted versions (s2-lite, s2-local).

    Args:
        access_token: Access token for authenticating with S2.
        endpoints: S2 endpoints. If None, defaults to public cloud endpoints.
        timeout: Timeout configuration. If None, default values are used.
        retry: Retry configuration. If None, default values are used.
        compression: Compression algorithm for requests and responses. Defaults to NONE.

    Raises:
        S2ClientError: ``access_token`` is not a str or holds control characters (it
            could not travel in a header; surrounding whitespace is stripped), or
            ``timeout`` or ``retry`` hold invalid values.

    Tip:
        Use as an async context manager to ensure connections are closed::

            async with S2(token) as s2:
                ...

    Warning:
        If not using a context manager, call :meth:`close` when done.
    """

    def __init__(
        self,
        access_token: str,
        *,
        endpoints: Endpoints | None = None,
        timeout: Timeout | None = None,
        retry: Retry | None = None,
        compression: Compression = Compression.NONE,
    ) -> None:
        self._token = checked_access_token(access_token)
        self._endpoints = endpoints or Endpoints.default()
        self._timeout = timeout or Timeout()
        self._retry = retry or Retry()
        check_timeout(self._timeout)
        check_retry(self._retry)
        self._compression = compression
        self._account = self._http_for(self._endpoints.account)
        self._basins: dict[str, HttpClient] = {}
        self._sessions: weakref.WeakSet[AppendSession | ReadSession] = weakref.WeakSet()
        """Sessions opened through this client (stopped by :meth:`close`)."""

    def _http_for(self, origin: str) -> HttpClient:
        return HttpClient(origin, self._token, self._timeout, self._retry, self._compression)

    @staticmethod
    def _request_token() -> str:
        return uuid.uuid4().hex

    async def close(self) -> None:
        """Close all open connections to S2 service endpoints.

        Sessions still open are stopped: what they have not delivered or had
        acknowledged fails with :class:`S2ClientError`.
        """
        closed = S2ClientError("the client was closed")
        for session in list(self._sessions):
            await session._abort(closed)
        await self._account.close()
        for http in self._basins.values():
            await http.close()
        self._basins.clear()

    def basin(self, name: str) -> S2Basin:
        """Get an :class:`S2Basin` for performing basin-level operations.

        Tip:
            Also available via subscript: ``s2["my-basin"]``.
        """
        check_basin(name)
        origin = self._endpoints.basin(name)
        http = self._basins.get(origin)
        if http is None:
            # setdefault: atomic when the blocking facade calls this from many threads
            http = self._basins.setdefault(origin, self._http_for(origin))
        return S2Basin(self, name, http, self._endpoints.direct)

    def __getitem__(self, name: str) -> S2Basin:
        return self.basin(name)

    # -- basins ------------------------------------------------------------------

    async def create_basin(
        self, name: str, *, config: BasinConfig | None = None, location: str | None = None
    ) -> BasinInfo:
        """Create a basin.

        Args:
            name: Name of the basin: globally unique, 8–48 characters of lowercase
                letters, numbers and hyphens, not beginning or ending with a hyphen.
            config: Configuration for the basin.
            location: Logical location for the basin. If None, the service uses the
                account's default location. Fixed for the lifetime of the basin.

        Returns:
            Information about the created basin.
        """
        check_basin(name)
        if location is not None:
            check_location(location)
        body = {
            "basin": name,
            "config": basin_config_json(config) if config else None,
            "location": location,
        }
        resp = await self._account.request(
            "POST", "/v1/basins", json=body, headers={"s2-request-token": self._request_token()}
        )
        return resp.json(basin_info)

    async def ensure_basin(
        self, name: str, *, config: BasinConfig | None = None, location: str | None = None
    ) -> EnsuredBasinInfo:
        """Ensure a basin exists with exactly this configuration.

        If the basin doesn't exist, it is created. If it exists, its configuration is
        updated to the specified one if different (unset fields take their defaults),
        or left unchanged if the same.

        Returns:
            Information about the ensured basin.
        """
        check_basin(name)
        body = None
        if config is not None or location is not None:
            if location is not None:
                check_location(location)
            body = {
                "config": basin_config_json(config) if config else None,
                "location": location,
            }
        resp = await self._account.request("PUT", f"/v1/basins/{name}", json=body)
        return EnsuredBasinInfo(
            resp.json(basin_info),
            ensure_status(resp.status_code, resp.headers.get("s2-provision-result")),
        )

    async def list_basins(
        self, *, prefix: str = "", start_after: str = "", limit: int = 1000
    ) -> Page[BasinInfo]:
        """List a page of basins.

        Args:
            prefix: Filter to basins whose name starts with this prefix.
            start_after: List basins whose name is lexicographically after this value.
            limit: Maximum number of basins to return per page. Capped at 1000.
        """
        resp = await self._account.request(
            "GET", "/v1/basins", params=list_params(prefix, start_after, limit)
        )
        return resp.json(
            lambda data: Page([basin_info(b) for b in data["basins"]], bool(data["has_more"]))
        )

    async def list_all_basins(
        self, *, prefix: str = "", start_after: str = "", include_deleted: bool = False
    ) -> AsyncIterator[BasinInfo]:
        """List all basins, paginating automatically.

        Args:
            prefix: Filter to basins whose name starts with this prefix.
            start_after: List basins whose name is lexicographically after this value.
            include_deleted: Include basins that are being deleted.
        """
        async for info in paginate(
            lambda after: self.list_basins(prefix=prefix, start_after=after),
            start_after,
            key=lambda b: b.name,
            keep=lambda b: include_deleted or b.deleted_at is None,
        ):
            yield info

    async def delete_basin(self, name: str, *, ignore_not_found: bool = False) -> None:
        """Delete a basin (asynchronous: it may take a while to disappear).

        Args:
            name: Name of the basin to delete.
            ignore_not_found: If True, do not raise on 404.
        """
        check_basin(name)
        try:
            await self._account.request("DELETE", f"/v1/basins/{name}")
        except S2ServerError as e:
            if not (ignore_not_found and e.status_code == 404):
                raise

    async def get_basin_config(self, name: str) -> BasinConfig:
        """Get basin configuration."""
        check_basin(name)
        resp = await self._account.request("GET", f"/v1/basins/{name}")
        return resp.json(basin_config)

    async def reconfigure_basin(self, name: str, *, config: BasinConfig) -> BasinConfig:
        """Reconfigure a basin. Only provided fields are updated.

        Note:
            Modifying ``default_stream_config`` only affects newly created streams.
        """
        check_basin(name)
        resp = await self._account.request(
            "PATCH", f"/v1/basins/{name}", json=basin_config_json(config)
        )
        return resp.json(basin_config)

    # -- locations ---------------------------------------------------------------

    async def list_locations(self) -> list[LocationInfo]:
        """List locations available to the account."""
        resp = await self._account.request("GET", "/v1/locations")
        return resp.json(lambda data: [location_info(x) for x in data])

    async def get_default_location(self) -> LocationInfo:
        """Get the account's default location."""
        resp = await self._account.request("GET", "/v1/locations/default")
        return resp.json(location_info)

    async def set_default_location(self, location: str) -> LocationInfo:
        """Set the account's default location."""
        check_location(location)
        resp = await self._account.request("PUT", "/v1/locations/default", json=location)
        return resp.json(location_info)

    # -- access tokens -----------------------------------------------------------

    async def issue_access_token(
        self,
        id: str,
        *,
        scope: AccessTokenScope,
        expires_at: datetime | None = None,
        auto_prefix_streams: bool = False,
    ) -> str:
        """Issue an access token.

        Args:
            id: Unique identifier for the token (1–96 bytes).
            scope: Permissions scope for the token.
            expires_at: Optional expiration time.
            auto_prefix_streams: Automatically prefix stream names during creation and
                strip the prefix during listing.

        Returns:
            The access token string.
        """
        check_access_token_id(id)
        body = {
            "id": id,
            "scope": scope_json(scope),
            "expires_at": expires_at.isoformat() if expires_at else None,
            "auto_prefix_streams": auto_prefix_streams,
        }
        resp = await self._account.request("POST", "/v1/access-tokens", json=body)
        token: str = resp.json(lambda data: str(data["access_token"]))
        return token

    async def list_access_tokens(
        self, *, prefix: str = "", start_after: str = "", limit: int = 1000
    ) -> Page[AccessTokenInfo]:
        """List a page of access tokens."""
        resp = await self._account.request(
            "GET", "/v1/access-tokens", params=list_params(prefix, start_after, limit)
        )
        return resp.json(
            lambda data: Page(
                [access_token_info(t) for t in data["access_tokens"]], bool(data["has_more"])
            )
        )

    async def list_all_access_tokens(
        self, *, prefix: str = "", start_after: str = ""
    ) -> AsyncIterator[AccessTokenInfo]:
        """List all access tokens, paginating automatically."""
        async for info in paginate(
            lambda after: self.list_access_tokens(prefix=prefix, start_after=after),
            start_after,
            key=lambda t: t.id,
        ):
            yield info

    async def revoke_access_token(self, id: str) -> None:
        """Revoke an access token."""
        check_access_token_id(id)
        await self._account.request("DELETE", f"/v1/access-tokens/{quote(id, safe='')}")

    # -- metrics -----------------------------------------------------------------

    async def _metrics(
        self,
        path: str,
        metric_set: AccountMetricSet | BasinMetricSet | StreamMetricSet,
        start: int | None,
        end: int | None,
        interval: TimeseriesInterval | None,
    ) -> list[Metric]:
        params: dict[str, str | int] = {"set": metric_set.value}
        if start is not None:
            params["start"] = start
        if end is not None:
            params["end"] = end
        if interval is not None:
            params["interval"] = interval.value
        resp = await self._account.request("GET", path, params=params)
        return resp.json(lambda data: metrics(data["values"]))

    async def account_metrics(
        self,
        *,
        set: AccountMetricSet,
        start: int | None = None,
        end: int | None = None,
        interval: TimeseriesInterval | None = None,
    ) -> list[Metric]:
        """Get account metrics (``start``/``end`` in epoch seconds)."""
        return await self._metrics("/v1/metrics", set, start, end, interval)

    async def basin_metrics(
        self,
        basin: str,
        *,
        set: BasinMetricSet,
        start: int | None = None,
        end: int | None = None,
        interval: TimeseriesInterval | None = None,
    ) -> list[Metric]:
        """Get basin metrics (``start``/``end`` in epoch seconds)."""
        check_basin(basin)
        return await self._metrics(f"/v1/metrics/{basin}", set, start, end, interval)

    async def stream_metrics(
        self,
        basin: str,
        stream: str,
        *,
        set: StreamMetricSet,
        start: int | None = None,
        end: int | None = None,
        interval: TimeseriesInterval | None = None,
    ) -> list[Metric]:
        """Get stream metrics (``start``/``end`` in epoch seconds)."""
        check_basin(basin)
        check_stream(stream)
        path = f"/v1/metrics/{basin}/{quote(stream, safe='')}"
        return await self._metrics(path, set, start, end, interval)
