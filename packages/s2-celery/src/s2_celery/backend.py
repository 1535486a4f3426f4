"""``S2Backend``: Celery results stored in S2, one small stream per task or group.

``result_backend = "s2://:TOKEN@BASIN/PREFIX"`` (the token sits in the password
slot, so Celery masks it; without it ``S2_ACCESS_TOKEN`` is used). Endpoints come
from the URL query (``account_endpoint``, ``basin_endpoint``), then
``result_backend_transport_options``, then the ``S2_*`` environment variables.

Each key (``celery-task-meta-<id>``…) is the stream ``PREFIX/<key>``; every state
change appends a record whose ``state`` header names the state. A SUCCESS is never
overwritten: writes are conditional appends (``match_seq_num``) that re-check the
last state on conflict. ``AsyncResult.get()`` waits with S2 long-poll reads instead
of polling every half second.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import functools
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from celery import states
from celery.exceptions import BackendStoreError, ImproperlyConfigured
from celery.exceptions import TimeoutError as CeleryTimeoutError
from celery.utils.log import get_logger
from s2_sdk import S2 as AsyncS2
from s2_sdk import (
    AppendInput,
    ReadUnwrittenError,
    Record,
    S2ClientError,
    S2Error,
    S2ServerError,
    SeqNum,
    SeqNumMismatchError,
    StreamConfig,
    TailOffset,
    is_retryable,
)
from s2_sdk.protocol import MAX_RECORD_METERED_BYTES, ErrorCode
from s2_sdk.sync import S2, PerProcess, background, connect

from s2_celery.chords import ChordCounting, ChordParts

__all__ = ["S2Backend"]

logger = get_logger(__name__)

_MAX_VALUE = MAX_RECORD_METERED_BYTES - 256
_clients: dict[tuple[str | None, str | None, str | None], PerProcess[S2]] = {}
_clients_lock = threading.Lock()
_LONG_POLL = 20
_MAX_KNOWN_STREAMS = 10_000
_MGET_CONCURRENCY = 64


class _KnownStreams:
    """Names of streams known to exist, the most recent ``_MAX_KNOWN_STREAMS`` (thread-safe)."""

    def __init__(self) -> None:
        self._names: dict[str, None] = {}
        self._lock = threading.Lock()

    def __contains__(self, name: object) -> bool:
        return name in self._names

    def add(self, name: str) -> None:
        with self._lock:
            self._names[name] = None
            if len(self._names) > _MAX_KNOWN_STREAMS:
                del self._names[next(iter(self._names))]

    def discard(self, name: str) -> None:
        with self._lock:
            self._names.pop(name, None)


_GONE = (ErrorCode.STREAM_NOT_FOUND, ErrorCode.STREAM_DELETION_PENDING)


@dataclass(frozen=True)
class _Creation:
    """Whether a basin creates a missing stream when it is appended to, and when read."""

    on_append: bool
    on_read: bool


_creations: dict[tuple[str | None, ...], _Creation] = {}
"""What each basin does, by client configuration and basin name (asked once per process)."""


class S2Backend(ChordCounting):
    """Celery result backend on S2 streams."""

    supports_autoexpire = True
    #: ``result_failure_expires`` sets the retention of failed tasks' streams.
    supports_failure_expires = True
    supports_native_join = True
    persistent = True
    implements_incr = True

    def __init__(self, app: Any = None, url: str | None = None, **kwargs: Any) -> None:
        super().__init__(app=app, url=url, **kwargs)
        self.url = url or self.app.conf.result_backend or "s2://"
        parts = urlsplit(self.url)
        if parts.scheme != "s2":
            raise ImproperlyConfigured(f"S2Backend needs an s2:// URL, not {self.url!r}")
        options = dict(self.app.conf.get("result_backend_transport_options") or {})
        query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
        basin = parts.hostname or options.get("basin") or os.environ.get("S2_CELERY_BASIN")
        if not basin:
            raise ImproperlyConfigured("S2Backend needs a basin: s2://BASIN/PREFIX")
        self.basin: str = str(basin)
        self.prefix = (unquote(parts.path).strip("/") or "celery").rstrip("/")
        token = unquote(parts.password) if parts.password else options.get("access_token")
        self._token = str(token) if token else None
        self._account = query.get("account_endpoint") or options.get("account_endpoint")
        self._basin_endpoint = query.get("basin_endpoint") or options.get("basin_endpoint")
        self._client: PerProcess[S2] | None = None
        self._created = _KnownStreams()
        self._chord_parts = ChordParts()
        self.apply_chord = self._save_chord  # the size goes with the group
        failure_expires = self.app.conf.get("result_failure_expires")
        self.failure_expires = (
            self.expires
            if failure_expires is None
            else self.prepare_expires(failure_expires, type=int)
        )

    def __reduce__(self, args: tuple[Any, ...] = (), kwargs: dict[str, Any] | None = None) -> Any:
        return super().__reduce__(args, {**(kwargs or {}), "url": self.url})

    # -- connection ------------------------------------------------------------------

    @property
    def client(self) -> S2:
        """The process-wide blocking client for this configuration (anew after fork).

        Celery builds a backend per thread; they all share one client and its
        connections rather than opening their own.
        """
        if self._client is None:
            key = self._client_key
            with _clients_lock:
                holder = _clients.get(key)
                if holder is None:
                    holder = _clients[key] = PerProcess(lambda: connect(*key))
            self._client = holder
        return self._client.get()

    @property
    def _client_key(self) -> tuple[str | None, str | None, str | None]:
        """What :func:`~s2_sdk.sync.connect` will use, so that different settings never
        share a client."""
        return (
            self._token or os.environ.get("S2_ACCESS_TOKEN"),
            self._account or os.environ.get("S2_ACCOUNT_ENDPOINT"),
            self._basin_endpoint or os.environ.get("S2_BASIN_ENDPOINT"),
        )

    @property
    def _creation(self) -> _Creation:
        """How the basin creates streams, asked once per process and configuration.

        With ``create_stream_on_append`` a result is stored with one append that creates
        its stream (with the retention the task needs, sent along); with
        ``create_stream_on_read`` too, a ``get()`` that comes first creates it and waits.
        Without them, each task's stream is created as the task is sent: one more request
        per task, and a warning says what to configure.
        """
        key = (*self._client_key, self.basin)
        creation = _creations.get(key)
        if creation is None:
            try:
                config = self.client.get_basin_config(self.basin)
                creation = _Creation(
                    bool(config.create_stream_on_append), bool(config.create_stream_on_read)
                )
            except S2Error as e:
                logger.warning("s2-celery: cannot read basin %r's config: %s", self.basin, e)
                creation = _Creation(on_append=False, on_read=False)
            if not creation.on_append:
                logger.warning(
                    "s2-celery: basin %r does not create streams on append, so every task costs"
                    " one more request to S2 (its result stream is created as the task is sent)."
                    " Reconfigure the basin with create_stream_on_append and"
                    " create_stream_on_read set to true (S2.reconfigure_basin, or the s2 CLI).",
                    self.basin,
                )
            _creations[key] = creation
        return creation

    def _name(self, key: bytes | str) -> str:
        text = key.decode() if isinstance(key, bytes) else key
        return f"{self.prefix}/{text}"

    def _stream_config(self, expires: Any) -> StreamConfig:
        """A result stream's config: retention ``expires`` (seconds or a timedelta; falsy:
        forever), deleted a minute after it empties."""
        seconds = int(expires.total_seconds()) if hasattr(expires, "total_seconds") else expires
        if not seconds:
            return StreamConfig(retention_policy="infinite")
        return StreamConfig(retention_policy=int(seconds), delete_on_empty_min_age=60)

    @functools.cached_property
    def _usual_config(self) -> StreamConfig:
        """The config of result streams (``result_expires``)."""
        return self._stream_config(self.expires)

    @property
    def _read_config(self) -> StreamConfig | None:
        """What reads send as ``s2-stream-config``: where the basin creates streams on read,
        a stream a read creates gets the usual config (None elsewhere)."""
        return self._usual_config if self._creation.on_read else None

    def _ensure(self, name: str, config: StreamConfig | None = None) -> bool:
        """Create the stream unless known to exist; whether this call created it.

        Its config is ``config``, else :attr:`_usual_config`.
        """
        if name in self._created:
            return False
        config = config or self._usual_config
        created = self.client[self.basin].create_stream_if_missing(name, config=config)
        self._created.add(name)
        return created

    def on_task_call(self, producer: Any, task_id: str) -> dict[str, Any]:
        """As a task is sent, create its result stream in the background, unless the
        basin creates streams on append (see :attr:`_creation`).

        The worker then stores the result with a single append, and a client that
        waits finds the stream there to long-poll. Best effort: sending never waits
        for it or fails because of it (the worker creates the stream if need be).
        """
        if self._creation.on_append:
            return {}  # the worker's append creates it
        name = self._name(self.get_key_for_task(task_id))
        if name in self._created:
            return {}
        config = self._usual_config
        try:
            creating = self.client.submit(
                lambda s2: s2[self.basin].create_stream(name, config=config)
            )
        except Exception:
            return {}

        def created(future: concurrent.futures.Future[Any]) -> None:
            error = None if future.cancelled() else future.exception()
            if error is None or getattr(error, "code", None) == ErrorCode.RESOURCE_ALREADY_EXISTS:
                self._created.add(name)

        creating.add_done_callback(created)
        return {}

    def exception_safe_to_retry(self, exc: BaseException) -> bool:
        """Transient S2 failures may be retried (``result_backend_always_retry``): those
        :func:`s2_sdk.is_retryable` names, not bad input."""
        return is_retryable(exc)

    # -- key/value primitives --------------------------------------------------------

    async def _read_last(self, s2: AsyncS2, name: str, config: StreamConfig | None) -> Any:
        """The last record of a stream (None when it is empty or missing); ``config`` is
        :attr:`_read_config` (asked for on the caller's thread: it may make a request)."""
        stream = s2[self.basin][name]
        try:
            batch = await stream.read(start=TailOffset(1), stream_config=config)
        except ReadUnwrittenError:
            return None
        except S2ServerError as e:
            if e.code in _GONE:
                return None
            raise
        return batch.records[-1] if batch.records else None

    def _last(self, name: str) -> Any:
        return background().run(self._read_last(self.client.client(), name, self._read_config))

    def get(self, key: bytes | str) -> bytes | None:
        """The latest value stored under ``key`` (None when there is none)."""
        record = self._last(self._name(key))
        return None if record is None else record.body

    def mget(self, keys: list[bytes | str]) -> list[bytes | None]:
        """Values for several keys, in order: read concurrently (``_MGET_CONCURRENCY`` at a
        time) over the process's connections, as Redis answers an ``MGET`` in one command."""
        names = [self._name(k) for k in keys]
        config = self._read_config

        async def values(s2: AsyncS2) -> list[bytes | None]:
            limit = asyncio.Semaphore(_MGET_CONCURRENCY)

            async def value(name: str) -> bytes | None:
                async with limit:
                    record = await self._read_last(s2, name, config)
                return None if record is None else record.body

            return list(await asyncio.gather(*(value(n) for n in names)))

        return background().run(values(self.client.client()))

    def set(self, key: bytes | str, value: bytes | str) -> None:
        """Store a value (as a SUCCESS-state record)."""
        self._set_with_state(key, value, states.SUCCESS)

    def _store_result(
        self,
        task_id: str | bytes,
        result: Any,
        state: str,
        traceback: Any = None,
        request: Any = None,
        **kwargs: Any,
    ) -> Any:
        """Store a task's state without first reading it back.

        Celery's key/value backends read the current state before every write so as
        not to overwrite a SUCCESS; here the write itself is conditional (see
        :meth:`_set_with_state`), which closes that race instead of narrowing it and
        saves a round trip per state change.
        """
        meta = self._get_result_meta(
            result=result, state=state, traceback=traceback, request=request
        )
        meta["task_id"] = task_id.decode() if isinstance(task_id, bytes) else task_id
        try:
            self._set_with_state(self.get_key_for_task(task_id), self.encode(meta), state)
        except BackendStoreError as e:
            raise BackendStoreError(str(e), state=state, task_id=task_id) from e
        return result

    def _set_with_state(self, key: bytes | str, value: bytes | str, state: str) -> None:
        body = _as_bytes(value)
        if len(body) > _MAX_VALUE:
            raise BackendStoreError(
                f"result of {len(body)} bytes exceeds S2's 1 MiB record limit", state=state
            )
        name = self._name(key)
        failed = state == states.FAILURE and self.failure_expires != self.expires
        config = self._stream_config(self.failure_expires) if failed else self._usual_config
        group = key_is_group(key)
        # Where the basin creates streams on append, the append creates it (with ``config``);
        # elsewhere a task's stream was usually created as the task was sent (on_task_call).
        creates = self._creation.on_append
        created = self._ensure(name, config) if group and not creates else False
        record = Record(body=body, headers=[(b"state", state.encode())])

        def unless_succeeded(last: Any) -> Record | None:
            if last is not None and dict(last.headers).get(b"state") == b"SUCCESS":
                return None  # never overwrite a success
            return record

        def append() -> bool:
            # The stream is usually empty here (a task's first state is also its last, a
            # group is saved once), and where the append creates it, it does so with
            # ``config`` (a check-tail first would create it with the basin's defaults).
            return self._compare_and_append(
                name,
                unless_succeeded,
                read_last=not group,
                tail=0,
                config=config if creates else None,
            )

        try:
            appended = append()
        except S2ServerError as e:
            if e.code not in _GONE or (group and not creates):
                raise
            created = self._ensure(name, config)
            appended = append()
        if appended and failed and not created:  # it may have begun with the usual retention
            self.client[self.basin].reconfigure_stream(name, config=config)

    def _compare_and_append(
        self,
        name: str,
        build: Callable[[Any], Record | None],
        *,
        read_last: bool = True,
        tail: int | None = None,
        config: StreamConfig | None = None,
    ) -> bool:
        """Append ``build(last record)`` only at the tail it was built from, retrying races.

        ``build`` sees the stream's last record (None when empty, or when ``read_last``
        is False) and returns None to append nothing. ``tail`` is a guess to try first
        (0: the stream is most likely empty), saving a read when right and costing one
        rejected append when wrong. ``config`` goes with the append, for the basin to
        create the stream with. Returns whether it appended.
        """
        stream = self.client[self.basin][name]
        last = None
        while True:
            if tail is None:
                if read_last:
                    last = self._last(name)
                    tail = 0 if last is None else last.seq_num + 1
                else:
                    tail = stream.check_tail().seq_num
            record = build(last)
            if record is None:
                return False
            try:
                stream.append(AppendInput([record], match_seq_num=tail, stream_config=config))
                return True
            except SeqNumMismatchError:
                tail = None

    def delete(self, key: bytes | str) -> None:
        """Forget a key (its stream goes)."""
        name = self._name(key)
        self.client[self.basin].delete_stream(name, ignore_not_found=True)
        self._created.discard(name)

    def expire(self, key: bytes | str, value: int) -> None:
        """Expiry is the stream's retention, set when it is created."""

    # -- waiting ---------------------------------------------------------------------

    def wait_for(
        self,
        task_id: str,
        timeout: float | None = None,
        interval: float = 0.5,
        no_ack: bool = True,
        on_interval: Any = None,
    ) -> dict[str, Any]:
        """Wait for a task's result with long-poll reads (no interval polling).

        The first read starts at the stream's first record: it answers at once with
        the states stored so far, or waits for the first one, in one request.
        """
        self._ensure_not_eager()
        cached = self._cache.get(task_id)
        if cached is not None:
            return cached  # type: ignore[no-any-return]
        deadline = None if timeout is None else time.monotonic() + timeout
        name = self._name(self.get_key_for_task(task_id))
        meta: dict[str, Any] = {"status": states.PENDING, "result": None}
        position = 0  # the next record to wait for
        missing = False  # the stream is known not to exist yet
        config = self._read_config  # where reads create streams, the first read creates it
        while meta["status"] not in states.READY_STATES:
            if on_interval:
                on_interval()
            remaining = _LONG_POLL if deadline is None else deadline - time.monotonic()
            if remaining <= 0:
                raise CeleryTimeoutError("The operation timed out.")
            wait = max(1, min(int(remaining), _LONG_POLL))
            try:
                if missing:
                    self._ensure(name)  # so that the read below can wait on it
                    missing = False
                batch = self.client[self.basin][name].read(
                    start=SeqNum(position), clamp_to_tail=True, wait=wait, stream_config=config
                )
            except (S2ServerError, S2ClientError) as e:
                if isinstance(e, S2ServerError) and e.code in _GONE:
                    self._created.discard(name)  # not created yet, or forgotten meanwhile
                    position, missing = 0, True
                    continue
                if not (self.always_retry and self.exception_safe_to_retry(e)):
                    raise
                time.sleep(interval)  # S2 unreachable: wait it out, as configured
                continue
            if batch.records:
                position = batch.records[-1].seq_num + 1
                meta = self.decode_result(batch.records[-1].body)
        if meta["status"] == states.SUCCESS:
            self._cache[task_id] = meta
        return meta


def _as_bytes(value: bytes | str) -> bytes:
    return value.encode() if isinstance(value, str) else value


def key_is_group(key: bytes | str) -> bool:
    """Group metadata may be replaced (``save_group`` on an existing group)."""
    text = key.decode() if isinstance(key, bytes) else key
    return "taskset-meta" in text
