"""Blocking sessions: appending, reading, producing."""

from __future__ import annotations

import asyncio
import concurrent.futures
import functools
import threading
from collections import deque
from collections.abc import Iterator
from typing import TYPE_CHECKING, TypeVar

from s2_sdk import _append_session, _producer, _read_session
from s2_sdk._background import background, started_background
from s2_sdk._closing import Closing
from s2_sdk._exceptions import S2ClientError
from s2_sdk._records import (
    AppendAck,
    AppendInput,
    IndexedAppendAck,
    ReadBatch,
    Record,
    StreamPosition,
)
from s2_sdk.sync._bridge import copy_result, next_item, run

if TYPE_CHECKING:
    from s2_sdk.sync._stream import S2Stream

T = TypeVar("T")


class AppendSession(Closing):
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
            ticket.add_done_callback(functools.partial(copy_result, future))

        run(submit(), timeout)
        return future

    def close(self, timeout: float | None = 10.0) -> None:
        """Wait until every submitted batch is acknowledged (or ``timeout``), then close."""
        run(self._session.close(), timeout)


class ReadSession(Closing):
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
        return next_item(self._session)

    def is_caught_up(self) -> bool:
        """See :meth:`s2_sdk.ReadSession.is_caught_up`."""
        return self._session.is_caught_up()

    def caught_up(self, timeout: float | None = None) -> StreamPosition:
        """Block until caught up with the live tail; see :meth:`s2_sdk.ReadSession.caught_up`."""
        return run(self._session.caught_up(), timeout)

    def close(self, timeout: float | None = 10.0) -> None:
        """Stop reading."""
        run(self._session.close(), timeout)


class Producer(Closing):
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
                ticket.add_done_callback(functools.partial(copy_result, future))

    async def _flush(self) -> None:
        while self._scheduled:
            await self._drained.wait()
        await self._producer.flush()

    def flush(self, timeout: float | None = 10.0) -> None:
        """Wait until every record submitted so far is acknowledged (or ``timeout``)."""
        run(self._flush(), timeout)

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
        run(self.close_at_exit(), timeout)
