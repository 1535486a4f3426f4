"""A blocking facade over the async client, for code that cannot be async.

Logging handlers, span exporters and Celery backends are synchronous; they use
this module. Every call runs on one per-process background event loop thread
(started lazily, re-created after ``fork``); calls block the calling thread only.

Code that must not block at all starts async work there with :meth:`S2.submit`. The
loop itself (:func:`background`), :func:`on_background_thread` and the fork-aware
:class:`PerProcess` holder are public for components that live on that loop, such as
the s2-logging delivery pump.

Example::

    from s2_sdk import AppendInput, Endpoints, Record
    from s2_sdk.sync import S2

    with S2("token", endpoints=Endpoints.from_env()) as s2:
        stream = s2["my-basin"]["my-stream"]
        stream.append(AppendInput(records=[Record(body=b"hello")]))
        with stream.producer() as producer:
            future = producer.submit(Record(body=b"world"))
        print(future.result().seq_num)
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import functools
import os
import threading
import time
from collections import deque
from collections.abc import AsyncIterator, Callable, Coroutine, Iterator
from datetime import datetime
from types import TracebackType
from typing import Any, Self, TypeVar

from s2_sdk import _append_session, _basin, _client, _producer, _read_session, _stream
from s2_sdk._access import AccessTokenInfo, AccessTokenScope
from s2_sdk._background import Background, background, on_background_thread, started_background
from s2_sdk._batching import record_batches as append_record_batches
from s2_sdk._config import BasinConfig, StreamConfig
from s2_sdk._exceptions import S2ClientError, S2ServerError
from s2_sdk._fork import PerProcess, keep_after_fork
from s2_sdk._info import BasinInfo, EnsuredBasinInfo, EnsuredStreamInfo, LocationInfo, StreamInfo
from s2_sdk._metrics import (
    AccountMetricSet,
    BasinMetricSet,
    Metric,
    StreamMetricSet,
    TimeseriesInterval,
)
from s2_sdk._options import Batching, Compression, Endpoints, Retry, Timeout
from s2_sdk._records import (
    AppendAck,
    AppendInput,
    IndexedAppendAck,
    Page,
    ReadBatch,
    ReadLimit,
    Record,
    SeqNum,
    SequencedRecord,
    StreamPosition,
    TailOffset,
    Timestamp,
)
from s2_sdk.protocol import ErrorCode

__all__ = [
    "AppendSession",
    "Background",
    "PerProcess",
    "Producer",
    "ReadSession",
    "S2",
    "S2Basin",
    "S2Stream",
    "append_record_batches",
    "background",
    "connect",
    "keep_after_fork",
    "on_background_thread",
    "read_records",
]

T = TypeVar("T")


def _run(coro: Coroutine[Any, Any, T], timeout: float | None = None) -> T:
    return background().run(coro, timeout)


class _Closing:
    """A context manager whose exit calls ``close()``."""

    def close(self) -> None:
        raise NotImplementedError

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


class S2(_Closing):
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
            _run(current.close(), timeout)

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
        return _run(self.client().create_basin(name, config=config, location=location))

    def ensure_basin(
        self, name: str, *, config: BasinConfig | None = None, location: str | None = None
    ) -> EnsuredBasinInfo:
        """See :meth:`s2_sdk.S2.ensure_basin`."""
        return _run(self.client().ensure_basin(name, config=config, location=location))

    def list_basins(
        self, *, prefix: str = "", start_after: str = "", limit: int = 1000
    ) -> Page[BasinInfo]:
        """See :meth:`s2_sdk.S2.list_basins`."""
        return _run(self.client().list_basins(prefix=prefix, start_after=start_after, limit=limit))

    def delete_basin(self, name: str, *, ignore_not_found: bool = False) -> None:
        """See :meth:`s2_sdk.S2.delete_basin`."""
        _run(self.client().delete_basin(name, ignore_not_found=ignore_not_found))

    def get_basin_config(self, name: str) -> BasinConfig:
        """See :meth:`s2_sdk.S2.get_basin_config`."""
        return _run(self.client().get_basin_config(name))

    def reconfigure_basin(self, name: str, *, config: BasinConfig) -> BasinConfig:
        """See :meth:`s2_sdk.S2.reconfigure_basin`."""
        return _run(self.client().reconfigure_basin(name, config=config))

    def list_locations(self) -> list[LocationInfo]:
        """See :meth:`s2_sdk.S2.list_locations`."""
        return _run(self.client().list_locations())

    def issue_access_token(
        self,
        id: str,
        *,
        scope: AccessTokenScope,
        expires_at: datetime | None = None,
        auto_prefix_streams: bool = False,
    ) -> str:
        """See :meth:`s2_sdk.S2.issue_access_token`."""
        return _run(
            self.client().issue_access_token(
                id, scope=scope, expires_at=expires_at, auto_prefix_streams=auto_prefix_streams
            )
        )

    def list_access_tokens(
        self, *, prefix: str = "", start_after: str = "", limit: int = 1000
    ) -> Page[AccessTokenInfo]:
        """See :meth:`s2_sdk.S2.list_access_tokens`."""
        return _run(
            self.client().list_access_tokens(prefix=prefix, start_after=start_after, limit=limit)
        )

    def revoke_access_token(self, id: str) -> None:
        """See :meth:`s2_sdk.S2.revoke_access_token`."""
        _run(self.client().revoke_access_token(id))

    def list_all_basins(
        self, *, prefix: str = "", start_after: str = "", include_deleted: bool = False
    ) -> Iterator[BasinInfo]:
        """Every basin, fetched page by page as iterated; see :meth:`s2_sdk.S2.list_all_basins`."""
        return _iterate(
            self.client().list_all_basins(
                prefix=prefix, start_after=start_after, include_deleted=include_deleted
            )
        )

    def list_all_access_tokens(
        self, *, prefix: str = "", start_after: str = ""
    ) -> Iterator[AccessTokenInfo]:
        """Every access token, page by page; see :meth:`s2_sdk.S2.list_all_access_tokens`."""
        return _iterate(
            self.client().list_all_access_tokens(prefix=prefix, start_after=start_after)
        )

    def get_default_location(self) -> LocationInfo:
        """See :meth:`s2_sdk.S2.get_default_location`."""
        return _run(self.client().get_default_location())

    def set_default_location(self, location: str) -> LocationInfo:
        """See :meth:`s2_sdk.S2.set_default_location`."""
        return _run(self.client().set_default_location(location))

    def account_metrics(
        self,
        *,
        set: AccountMetricSet,
        start: int | None = None,
        end: int | None = None,
        interval: TimeseriesInterval | None = None,
    ) -> list[Metric]:
        """See :meth:`s2_sdk.S2.account_metrics`."""
        return _run(self.client().account_metrics(set=set, start=start, end=end, interval=interval))

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
        return _run(
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
        return _run(
            self.client().stream_metrics(
                basin, stream, set=set, start=start, end=end, interval=interval
            )
        )


def _next(items: AsyncIterator[T]) -> T:
    """The next item of an async iterator, fetched on the loop.

    Raises:
        StopIteration: the iterator is exhausted.
    """

    async def step() -> tuple[bool, T | None]:
        try:
            return True, await anext(items)
        except StopAsyncIteration:
            return False, None

    more, item = _run(step())
    if not more:
        raise StopIteration
    return item  # type: ignore[return-value]


def _iterate(items: AsyncIterator[T]) -> Iterator[T]:
    """An async iterator walked from a blocking caller, one item per trip to the loop."""
    try:
        while True:
            try:
                item = _next(items)
            except StopIteration:
                return
            yield item
    finally:
        aclose = getattr(items, "aclose", None)
        if aclose is not None:
            with contextlib.suppress(Exception):
                _run(aclose(), 10.0)


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


class S2Basin:
    """Blocking basin operations; see :class:`s2_sdk.S2Basin`."""

    def __init__(self, client: S2, name: str) -> None:
        self._client = client
        self._name = name

    @property
    def name(self) -> str:
        """The basin's name."""
        return self._name

    def _async(self) -> _basin.S2Basin:
        return self._client.client().basin(self._name)

    def list_all_streams(
        self, *, prefix: str = "", start_after: str = "", include_deleted: bool = False
    ) -> Iterator[StreamInfo]:
        """Every stream, page by page as iterated; see :meth:`s2_sdk.S2Basin.list_all_streams`."""
        return _iterate(
            self._async().list_all_streams(
                prefix=prefix, start_after=start_after, include_deleted=include_deleted
            )
        )

    def stream(self, name: str, *, encryption_key: bytes | str | None = None) -> S2Stream:
        """A blocking :class:`S2Stream`."""
        self._async().stream(name, encryption_key=encryption_key)
        return S2Stream(self, name, encryption_key)

    def __getitem__(self, name: str) -> S2Stream:
        return self.stream(name)

    def create_stream(self, name: str, *, config: StreamConfig | None = None) -> StreamInfo:
        """See :meth:`s2_sdk.S2Basin.create_stream`."""
        result: StreamInfo = _run(self._async().create_stream(name, config=config))
        return result

    def create_stream_if_missing(
        self, name: str, *, config: StreamConfig | None = None, timeout: float = 30.0
    ) -> bool:
        """Create a stream unless it exists (an existing stream keeps its config).

        Waits (up to ``timeout``) while an earlier stream of that name is still being
        deleted. Returns whether this call created the stream.
        """
        deadline = time.monotonic() + timeout
        while True:
            try:
                self.create_stream(name, config=config)
                return True
            except S2ServerError as e:
                if e.code == ErrorCode.RESOURCE_ALREADY_EXISTS:
                    return False
                if e.code != ErrorCode.STREAM_DELETION_PENDING or time.monotonic() >= deadline:
                    raise
            time.sleep(0.1)

    def ensure_stream(self, name: str, *, config: StreamConfig | None = None) -> EnsuredStreamInfo:
        """See :meth:`s2_sdk.S2Basin.ensure_stream`."""
        result: EnsuredStreamInfo = _run(self._async().ensure_stream(name, config=config))
        return result

    def list_streams(
        self, *, prefix: str = "", start_after: str = "", limit: int = 1000
    ) -> Page[StreamInfo]:
        """See :meth:`s2_sdk.S2Basin.list_streams`."""
        result: Page[StreamInfo] = _run(
            self._async().list_streams(prefix=prefix, start_after=start_after, limit=limit)
        )
        return result

    def delete_stream(self, name: str, *, ignore_not_found: bool = False) -> None:
        """See :meth:`s2_sdk.S2Basin.delete_stream`."""
        _run(self._async().delete_stream(name, ignore_not_found=ignore_not_found))

    def get_stream_config(self, name: str) -> StreamConfig:
        """See :meth:`s2_sdk.S2Basin.get_stream_config`."""
        result: StreamConfig = _run(self._async().get_stream_config(name))
        return result

    def reconfigure_stream(self, name: str, *, config: StreamConfig) -> StreamConfig:
        """See :meth:`s2_sdk.S2Basin.reconfigure_stream`."""
        result: StreamConfig = _run(self._async().reconfigure_stream(name, config=config))
        return result


class S2Stream:
    """Blocking stream operations; see :class:`s2_sdk.S2Stream`."""

    def __init__(self, basin: S2Basin, name: str, encryption_key: bytes | str | None) -> None:
        self._basin = basin
        self._name = name
        self._key = encryption_key

    @property
    def name(self) -> str:
        """The stream's name."""
        return self._name

    @property
    def basin(self) -> S2Basin:
        """The basin this stream is in."""
        return self._basin

    def _async(self) -> _stream.S2Stream:
        return self._basin._async().stream(self._name, encryption_key=self._key)

    def append_session(
        self,
        *,
        max_unacked_bytes: int = 5 * 1024 * 1024,
        max_unacked_batches: int | None = None,
        stream_config: StreamConfig | None = None,
    ) -> AppendSession:
        """A blocking :class:`AppendSession`; see :meth:`s2_sdk.S2Stream.append_session`."""
        stream = self._async()

        async def open_session() -> _append_session.AppendSession:
            return stream.append_session(
                max_unacked_bytes=max_unacked_bytes,
                max_unacked_batches=max_unacked_batches,
                stream_config=stream_config,
            )

        return AppendSession(self, _run(open_session()))

    def check_tail(self) -> StreamPosition:
        """See :meth:`s2_sdk.S2Stream.check_tail`."""
        return _run(self._async().check_tail())

    def append(self, inp: AppendInput, *, timeout: float | None = None) -> AppendAck:
        """See :meth:`s2_sdk.S2Stream.append`."""
        return _run(self._async().append(inp), timeout)

    def read(
        self,
        *,
        start: SeqNum | Timestamp | TailOffset,
        limit: ReadLimit | None = None,
        until_timestamp: int | None = None,
        clamp_to_tail: bool = False,
        wait: int | None = None,
        ignore_command_records: bool = False,
        stream_config: StreamConfig | None = None,
    ) -> ReadBatch:
        """See :meth:`s2_sdk.S2Stream.read`."""
        return _run(
            self._async().read(
                start=start,
                limit=limit,
                until_timestamp=until_timestamp,
                clamp_to_tail=clamp_to_tail,
                wait=wait,
                ignore_command_records=ignore_command_records,
                stream_config=stream_config,
            )
        )

    def read_session(
        self,
        *,
        start: SeqNum | Timestamp | TailOffset,
        limit: ReadLimit | None = None,
        until_timestamp: int | None = None,
        clamp_to_tail: bool = False,
        wait: int | None = None,
        ignore_command_records: bool = False,
        stream_config: StreamConfig | None = None,
    ) -> ReadSession:
        """A blocking iterator of :class:`ReadBatch`; see :meth:`s2_sdk.S2Stream.read_session`."""
        stream = self._async()

        async def open_session() -> _read_session.ReadSession:
            return stream.read_session(
                start=start,
                limit=limit,
                until_timestamp=until_timestamp,
                clamp_to_tail=clamp_to_tail,
                wait=wait,
                ignore_command_records=ignore_command_records,
                stream_config=stream_config,
            )

        return ReadSession(self, _run(open_session()))

    def producer(
        self,
        *,
        fencing_token: str | None = None,
        match_seq_num: int | None = None,
        batching: Batching | None = None,
        max_unacked_bytes: int = 5 * 1024 * 1024,
        stream_config: StreamConfig | None = None,
    ) -> Producer:
        """A blocking :class:`Producer`; see :meth:`s2_sdk.S2Stream.producer`."""
        stream = self._async()

        async def open_producer() -> _producer.Producer:
            return stream.producer(
                fencing_token=fencing_token,
                match_seq_num=match_seq_num,
                batching=batching,
                max_unacked_bytes=max_unacked_bytes,
                stream_config=stream_config,
            )

        return Producer(_run(open_producer()))


class AppendSession(_Closing):
    """A blocking append session: ``submit`` waits only while the session is at its
    limits of unacknowledged data, and returns a :class:`concurrent.futures.Future`
    resolving to the batch's :class:`AppendAck` (or failing with its error).
    """

    def __init__(self, stream: S2Stream, session: _append_session.AppendSession) -> None:
        self._stream = stream
        self._session = session

    @property
    def stream(self) -> S2Stream:
        """The stream this session appends to."""
        return self._stream

    @property
    def connected(self) -> bool:
        """See :attr:`s2_sdk.AppendSession.connected`."""
        return self._session.connected

    def submit(
        self, inp: AppendInput, *, timeout: float | None = None
    ) -> concurrent.futures.Future[AppendAck]:
        """Submit a batch; waits (at most ``timeout``) while backpressure holds it back.

        Raises:
            S2ClientError: bad input, the session failed or was closed, or ``timeout``
                passed before the batch was taken.
        """
        future: concurrent.futures.Future[AppendAck] = concurrent.futures.Future()

        async def submit() -> None:
            ticket = await self._session.submit(inp)
            ticket.add_done_callback(functools.partial(_copy_result, future))

        _run(submit(), timeout)
        return future

    def close(self, timeout: float | None = 10.0) -> None:
        """Wait until every submitted batch is acknowledged (or ``timeout``), then close."""
        _run(self._session.close(), timeout)


class ReadSession(_Closing):
    """A blocking iterator over a read session's batches."""

    def __init__(self, stream: S2Stream, session: _read_session.ReadSession) -> None:
        self._stream = stream
        self._session = session

    @property
    def stream(self) -> S2Stream:
        """The stream this session reads."""
        return self._stream

    def __iter__(self) -> Iterator[ReadBatch]:
        return self

    def __next__(self) -> ReadBatch:
        return _next(self._session)

    def is_caught_up(self) -> bool:
        """See :meth:`s2_sdk.ReadSession.is_caught_up`."""
        return self._session.is_caught_up()

    def caught_up(self, timeout: float | None = None) -> StreamPosition:
        """Block until caught up with the live tail; see :meth:`s2_sdk.ReadSession.caught_up`."""
        return _run(self._session.caught_up(), timeout)

    def close(self, timeout: float | None = 10.0) -> None:
        """Stop reading."""
        _run(self._session.close(), timeout)


class Producer(_Closing):
    """A blocking producer: ``submit`` never waits on the network.

    ``submit`` queues the record and returns a :class:`concurrent.futures.Future`
    resolving to its :class:`IndexedAppendAck`. Records are handed to the async
    producer in submission order on the background thread. ``flush`` and ``close`` take
    a timeout. A producer still open at interpreter exit is flushed (bounded).
    """

    def __init__(self, producer: _producer.Producer) -> None:
        self._producer = producer
        self._loop = background()
        self._pending: deque[tuple[Record, concurrent.futures.Future[IndexedAppendAck]]] = deque()
        self._lock = threading.Lock()
        self._scheduled = False
        self._drained = asyncio.Event()
        self._drainer: asyncio.Future[None] | None = None
        self._closed = False
        self._loop.add_finalizer(self)

    def submit(self, record: Record) -> concurrent.futures.Future[IndexedAppendAck]:
        """Queue a record for appending."""
        future: concurrent.futures.Future[IndexedAppendAck] = concurrent.futures.Future()
        with self._lock:
            if self._closed:
                raise S2ClientError("the producer is closed")
            self._pending.append((record, future))
            schedule = not self._scheduled
            self._scheduled = True
        if schedule:
            self._loop.call_soon(self._start_drain)
        return future

    def _start_drain(self) -> None:
        self._drained.clear()
        self._drainer = asyncio.ensure_future(self._drain())

    async def _drain(self) -> None:
        while True:
            with self._lock:
                if not self._pending:
                    self._scheduled = False
                    self._drained.set()
                    return
                items = list(self._pending)
                self._pending.clear()
            for record, future in items:
                try:
                    ticket = await self._producer.submit(record)
                except Exception as e:
                    future.set_exception(e)
                    continue
                ticket.add_done_callback(functools.partial(_copy_result, future))

    async def _flush(self) -> None:
        while self._scheduled:
            await self._drained.wait()
        await self._producer.flush()

    def flush(self, timeout: float | None = 10.0) -> None:
        """Wait until every record submitted so far is acknowledged (or ``timeout``)."""
        _run(self._flush(), timeout)

    async def close_at_exit(self) -> None:
        """Flush and close (the interpreter-exit hook)."""
        with self._lock:
            self._closed = True
        try:
            await self._flush()
            await self._producer.close()
        finally:
            self._loop.remove_finalizer(self)

    def close(self, timeout: float | None = 10.0) -> None:
        """Flush and close; records still pending after ``timeout`` are failed."""
        if self._loop is not started_background():
            return  # a forked child's copy: the parent's producer is not ours to close
        _run(self.close_at_exit(), timeout)


def _copy_result(target: concurrent.futures.Future[T], source: asyncio.Future[T]) -> None:
    if target.done():
        return
    if source.cancelled():
        target.cancel()
    elif (error := source.exception()) is not None:
        target.set_exception(error)
    else:
        target.set_result(source.result())
