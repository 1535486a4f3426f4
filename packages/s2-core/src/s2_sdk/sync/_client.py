"""The blocking client, how plugins build one from their configuration, and their record reader."""

from __future__ import annotations

import concurrent.futures
import contextlib
import functools
import os
from collections.abc import Callable, Coroutine, Iterator
from datetime import datetime
from typing import Any, TypeVar

from s2_sdk import _client
from s2_sdk._access import AccessTokenInfo, AccessTokenScope
from s2_sdk._background import background
from s2_sdk._closing import Closing
from s2_sdk._config import BasinConfig
from s2_sdk._exceptions import S2ClientError
from s2_sdk._fork import PerProcess
from s2_sdk._info import BasinInfo, EnsuredBasinInfo, LocationInfo
from s2_sdk._metrics import (
    AccountMetricSet,
    BasinMetricSet,
    Metric,
    StreamMetricSet,
    TimeseriesInterval,
)
from s2_sdk._options import Compression, Endpoints, Retry, Timeout
from s2_sdk._records import (
    Page,
    SeqNum,
    SequencedRecord,
    TailOffset,
    Timestamp,
)
from s2_sdk.sync._basin import S2Basin
from s2_sdk.sync._bridge import iterate, run

T = TypeVar("T")


class S2(Closing):
    """Blocking client; same arguments and methods as :class:`s2_sdk.S2`."""

    def __init__(
        self,
        access_token: str,
        *,
        endpoints: Endpoints | None = None,
        timeout: Timeout | None = None,
        retry: Retry | None = None,
        compression: Compression = Compression.NONE,
    ) -> None:
        self._async = PerProcess(
            functools.partial(
                _client.S2,
                access_token,
                endpoints=endpoints,
                timeout=timeout,
                retry=retry,
                compression=compression,
            )
        )
        self.client()

    def client(self) -> _client.S2:
        """The async client for this process (built anew after ``fork``), for
        coroutines run on the background loop."""
        return self._async.get()

    def submit(
        self, fn: Callable[[_client.S2], Coroutine[Any, Any, T]]
    ) -> concurrent.futures.Future[T]:
        """Start ``fn(client)`` on the background loop with this process's async client,
        without waiting; the returned future resolves with its result.

        Example::

            future = s2.submit(lambda c: c["my-basin"].create_stream("events"))

        Raises:
            S2ClientError: the background loop was shut down (interpreter exit).
        """
        return background().submit(fn(self.client()))

    def close(self, timeout: float | None = 10.0) -> None:
        """Close connections."""
        current = self._async.peek()
        if current is not None:
            run(current.close(), timeout)

    def basin(self, name: str) -> S2Basin:
        """A blocking :class:`S2Basin`."""
        self.client().basin(name)
        return S2Basin(self, name)

    def __getitem__(self, name: str) -> S2Basin:
        return self.basin(name)

    def create_basin(
        self, name: str, *, config: BasinConfig | None = None, location: str | None = None
    ) -> BasinInfo:
        """See :meth:`s2_sdk.S2.create_basin`."""
        return run(self.client().create_basin(name, config=config, location=location))

    def ensure_basin(
        self, name: str, *, config: BasinConfig | None = None, location: str | None = None
    ) -> EnsuredBasinInfo:
        """See :meth:`s2_sdk.S2.ensure_basin`."""
        return run(self.client().ensure_basin(name, config=config, location=location))

    def list_basins(
        self, *, prefix: str = "", start_after: str = "", limit: int = 1000
    ) -> Page[BasinInfo]:
        """See :meth:`s2_sdk.S2.list_basins`."""
        return run(self.client().list_basins(prefix=prefix, start_after=start_after, limit=limit))

    def delete_basin(self, name: str, *, ignore_not_found: bool = False) -> None:
        """See :meth:`s2_sdk.S2.delete_basin`."""
        run(self.client().delete_basin(name, ignore_not_found=ignore_not_found))

    def get_basin_config(self, name: str) -> BasinConfig:
        """See :meth:`s2_sdk.S2.get_basin_config`."""
        return run(self.client().get_basin_config(name))

    def reconfigure_basin(self, name: str, *, config: BasinConfig) -> BasinConfig:
        """See :meth:`s2_sdk.S2.reconfigure_basin`."""
        return run(self.client().reconfigure_basin(name, config=config))

    def list_locations(self) -> list[LocationInfo]:
        """See :meth:`s2_sdk.S2.list_locations`."""
        return run(self.client().list_locations())

    def issue_access_token(
        self,
        id: str,
        *,
        scope: AccessTokenScope,
        expires_at: datetime | None = None,
        auto_prefix_streams: bool = False,
    ) -> str:
        """See :meth:`s2_sdk.S2.issue_access_token`."""
        return run(
            self.client().issue_access_token(
                id, scope=scope, expires_at=expires_at, auto_prefix_streams=auto_prefix_streams
            )
        )

    def list_access_tokens(
        self, *, prefix: str = "", start_after: str = "", limit: int = 1000
    ) -> Page[AccessTokenInfo]:
        """See :meth:`s2_sdk.S2.list_access_tokens`."""
        return run(
            self.client().list_access_tokens(prefix=prefix, start_after=start_after, limit=limit)
        )

    def revoke_access_token(self, id: str) -> None:
        """See :meth:`s2_sdk.S2.revoke_access_token`."""
        run(self.client().revoke_access_token(id))

    def list_all_basins(
        self, *, prefix: str = "", start_after: str = "", include_deleted: bool = False
    ) -> Iterator[BasinInfo]:
        """Every basin, fetched page by page as iterated; see :meth:`s2_sdk.S2.list_all_basins`."""
        return iterate(
            self.client().list_all_basins(
                prefix=prefix, start_after=start_after, include_deleted=include_deleted
            )
        )

    def list_all_access_tokens(
        self, *, prefix: str = "", start_after: str = ""
    ) -> Iterator[AccessTokenInfo]:
        """Every access token, page by page; see :meth:`s2_sdk.S2.list_all_access_tokens`."""
        return iterate(self.client().list_all_access_tokens(prefix=prefix, start_after=start_after))

    def get_default_location(self) -> LocationInfo:
        """See :meth:`s2_sdk.S2.get_default_location`."""
        return run(self.client().get_default_location())

    def set_default_location(self, location: str) -> LocationInfo:
        """See :meth:`s2_sdk.S2.set_default_location`."""
        return run(self.client().set_default_location(location))

    def account_metrics(
        self,
        *,
        set: AccountMetricSet,
        start: int | None = None,
        end: int | None = None,
        interval: TimeseriesInterval | None = None,
    ) -> list[Metric]:
        """See :meth:`s2_sdk.S2.account_metrics`."""
        return run(self.client().account_metrics(set=set, start=start, end=end, interval=interval))

    def basin_metrics(
        self,
        basin: str,
        *,
        set: BasinMetricSet,
        start: int | None = None,
        end: int | None = None,
        interval: TimeseriesInterval | None = None,
    ) -> list[Metric]:
        """See :meth:`s2_sdk.S2.basin_metrics`."""
        return run(
            self.client().basin_metrics(basin, set=set, start=start, end=end, interval=interval)
        )

    def stream_metrics(
        self,
        basin: str,
        stream: str,
        *,
        set: StreamMetricSet,
        start: int | None = None,
        end: int | None = None,
        interval: TimeseriesInterval | None = None,
    ) -> list[Metric]:
        """See :meth:`s2_sdk.S2.stream_metrics`."""
        return run(
            self.client().stream_metrics(
                basin, stream, set=set, start=start, end=end, interval=interval
            )
        )


def connect(
    access_token: str | None = None,
    account_endpoint: str | None = None,
    basin_endpoint: str | None = None,
    **options: Any,
) -> S2:
    """A blocking client configured from arguments, falling back to the environment.

    The token comes from ``access_token`` or ``S2_ACCESS_TOKEN``; endpoints from the
    arguments or ``S2_ACCOUNT_ENDPOINT`` / ``S2_BASIN_ENDPOINT`` (a basin endpoint
    defaults to the account endpoint), else the S2 cloud. ``options`` go to :class:`S2`.
    This is how plugins built from plain configuration (dictConfig, environment
    variables, URLs) get a client.

    Raises:
        S2ClientError: no access token was given or set.
    """
    token = access_token or os.environ.get("S2_ACCESS_TOKEN")
    if not token:
        raise S2ClientError("no S2 access token: pass one or set S2_ACCESS_TOKEN")
    account = account_endpoint or os.environ.get("S2_ACCOUNT_ENDPOINT")
    basin = basin_endpoint or os.environ.get("S2_BASIN_ENDPOINT") or account
    endpoints = Endpoints(account, basin) if account and basin else Endpoints.default()
    return S2(token, endpoints=endpoints, **options)


def read_records(
    basin: str,
    stream: str,
    *,
    start: SeqNum | Timestamp | TailOffset | None = None,
    follow: bool = False,
    ignore_command_records: bool = False,
    client: S2 | None = None,
) -> Iterator[SequencedRecord]:
    """A stream's records from ``start`` (default: the first) to its tail, or on, live,
    with ``follow``.

    Without ``client``, one is made by :func:`connect` and closed, with its
    connections, when the iteration ends. This is how plugins' readers walk a stream.
    """
    with contextlib.ExitStack() as owned:
        if client is None:
            client = owned.enter_context(connect())
        session = client[basin][stream].read_session(
            start=start or SeqNum(0),
            clamp_to_tail=True,
            wait=None if follow else 0,
            ignore_command_records=ignore_command_records,
        )
        with session:
            for batch in session:
                yield from batch.records
