"""Delivery of log records to S2: a bounded queue in front of per-stream append sessions.

``put`` runs on the caller's thread and never blocks: it appends to a bounded
queue (dropping the oldest or the newest record when full, and counting drops)
and wakes a pump on the shared ``s2_sdk`` background loop. Memory is bounded by
``max_queue`` queued records plus a few chunks (of at most 1000) in flight. Entries
are whatever the caller cheaply captured; the pump renders them into records (off the
caller's thread), hands those as batches to one append session per stream, waits
for their acknowledgements, and keeps the records that failed to send them again
first, so an outage delays delivery instead of losing records, as long as the queue
has room.

Each process delivers its own records: a forked child starts with an empty queue
and its own sessions (``s2_sdk.sync.PerProcess``).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import itertools
import json
import logging
import threading
import time
from collections import OrderedDict, deque
from collections.abc import Callable
from typing import Any, Literal

import s2_sdk
from s2_sdk import AppendInput, AppendSession, Batching, BatchSubmitTicket, Record
from s2_sdk.protocol import ErrorCode
from s2_sdk.sync import S2, Background, PerProcess, append_record_batches, background

__all__ = ["Entry", "Failed", "LogSink", "Overflow", "Render"]

Overflow = Literal["drop_oldest", "drop_newest"]
Entry = tuple[Any, ...]
"""A queued log event: a flat tuple, its stream name first. The rest is what the sink's
``render`` reads; each kind of entry documents its layout where it is made.

Entries should hold only strings, bytes and numbers (in tuples) so that, while
queued, the garbage collector stops tracking them.
"""
Failed = tuple[str, bytes, tuple[tuple[bytes, bytes], ...], int | None]
"""A record whose append failed, waiting to be sent again: stream, body, headers,
timestamp (plain data, which the garbage collector need not track)."""
Render = Callable[[Entry], Record]
"""Turns a queued entry into a record, on the background thread (off the caller's thread)."""
Batch = list[tuple[str, Record]]
_CHUNK = 1000
_MAX_CHUNKS_IN_FLIGHT = 8
_DROP_REPORT_INTERVAL = 10.0
_RESPONSIVE = 0.25
"""Seconds the background loop may take to run a callback before a waiting caller
deems it blocked (say, on logging's module lock, held by the caller) and stops waiting."""


class LogSink:
    """Records queued for one basin, delivered to their streams in order."""

    def __init__(
        self,
        client: S2,
        basin: str,
        *,
        max_queue: int,
        overflow: Overflow,
        batching: Batching,
        create_streams: bool,
        max_streams: int,
        render: Render,
    ) -> None:
        if overflow not in ("drop_oldest", "drop_newest"):
            raise ValueError(f"overflow must be drop_oldest or drop_newest, not {overflow!r}")
        if max_queue < 1:
            raise ValueError("max_queue must be at least 1")
        self.client = client
        self.basin = basin
        self.max_queue = max_queue
        self.overflow: Overflow = overflow
        self.batching = batching
        self.create_streams = create_streams
        self.max_streams = max_streams
        self.render = render
        self._delivery = PerProcess(lambda: _Delivery(self))

    @property
    def dropped(self) -> int:
        """Records this process dropped (queue full, or put after close)."""
        return self._delivery.get().dropped

    @property
    def delivered(self) -> int:
        """Records this process had acknowledged."""
        return self._delivery.get().delivered

    @property
    def pending(self) -> int:
        """Records queued or in flight."""
        return self._delivery.get().pending

    @property
    def queued(self) -> int:
        """Records waiting to be sent (new ones, and failed ones to send again)."""
        delivery = self._delivery.get()
        return len(delivery.queue) + len(delivery.retry)

    @property
    def inflight(self) -> int:
        """Records handed to the sessions and not yet acknowledged."""
        return self._delivery.get().inflight

    def put(self, entry: Entry) -> None:
        """Queue an entry for ``render``; never blocks, never raises."""
        self._delivery.get().put(entry)

    def flush(self, timeout: float) -> bool:
        """Wait (at most ``timeout``) until everything queued so far is acknowledged;
        whether it was."""
        return self._delivery.get().flush(timeout)

    def close(self, timeout: float) -> None:
        """Flush (bounded), then stop accepting records and close the sessions."""
        self._delivery.get().close(timeout)


class _Delivery:
    """One process's queue, pump and sessions for a :class:`LogSink`."""

    def __init__(self, sink: LogSink) -> None:
        self.sink = sink
        self.dropped = 0
        self.delivered = 0
        self.lock = threading.Lock()
        self.queue: deque[Entry] = deque()
        self.retry: deque[Failed] = deque()
        self.inflight = 0
        self.scheduled = False
        self.closed = False
        self.loop: Background | None = None
        self.wake = asyncio.Event()
        self.idle = asyncio.Event()
        self.pump: asyncio.Task[None] | None = None
        self.s2: s2_sdk.S2 | None = None
        self.sessions: OrderedDict[str, AppendSession] = OrderedDict()
        self.created: set[str] = set()
        self.closing: set[asyncio.Future[None]] = set()
        self.settling: deque[asyncio.Future[list[Failed]]] = deque()
        self.failing = False
        self.reported = 0
        self.last_report = 0.0

    @property
    def pending(self) -> int:
        return len(self.queue) + len(self.retry) + self.inflight

    # -- caller side -----------------------------------------------------------------

    def put(self, entry: Entry) -> None:
        with self.lock:
            if self.closed:
                self.dropped += 1
                return
            if len(self.queue) + len(self.retry) >= self.sink.max_queue:
                self.dropped += 1
                if self.sink.overflow == "drop_newest":
                    return
                (self.retry or self.queue).popleft()
            self.queue.append(entry)
            if self.scheduled:
                return
            self.scheduled = True
        try:
            if self.loop is None:
                self.loop = background()
                self.loop.add_finalizer(self)
                self.sink.client.submit(self._run)
            else:
                self.loop.call_soon(self.wake.set)
        except Exception:  # the background loop is shut down (interpreter exit)
            with self.lock:
                self.scheduled = False

    def flush(self, timeout: float) -> bool:
        loop = self.loop
        if loop is None or loop.closed or loop.in_loop_thread():
            return not self.pending
        return _wait(loop, loop.submit(self._drained()), timeout)

    def close(self, timeout: float) -> None:
        if self.closed:
            return
        flushed = self.flush(timeout)
        with self.lock:
            self.closed = True
        loop = self.loop
        if loop is None:  # nothing was ever queued here
            with contextlib.suppress(Exception):
                self.sink.client.close(timeout)
            return
        if loop.closed or loop.in_loop_thread():
            return
        if flushed and _wait(loop, loop.submit(self._stop()), timeout):
            with contextlib.suppress(Exception):
                self.sink.client.close(timeout)
            return
        with contextlib.suppress(Exception):  # the loop is stuck or slow: finish there
            self.sink.client.submit(self._finish)

    async def _finish(self, s2: s2_sdk.S2) -> None:
        await self.close_at_exit()
        await s2.close()

    async def close_at_exit(self) -> None:
        """The background loop's interpreter-exit hook: deliver what is queued, then close."""
        await self._drained()
        with self.lock:
            self.closed = True
        await self._stop()

    # -- background side -------------------------------------------------------------

    async def _drained(self) -> None:
        while self.pending and self.pump is not None:
            self.idle.clear()
            self.wake.set()
            await self.idle.wait()

    async def _close_sessions(self) -> None:
        sessions = list(self.sessions.values())
        self.sessions.clear()
        for session in sessions:
            with contextlib.suppress(Exception):
                await session.close()

    async def _stop(self) -> None:
        """After close: close the sessions and stop the pump."""
        if self.loop is not None:
            self.loop.remove_finalizer(self)
        await self._close_sessions()
        pump, self.pump = self.pump, None
        if pump is not None and pump is not asyncio.current_task():
            pump.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await pump

    async def _run(self, s2: s2_sdk.S2) -> None:
        self.pump, self.s2 = asyncio.current_task(), s2
        self.wake.set()
        delay = 0.1
        failed: list[Failed] = []
        while True:
            if not self.pending:
                self.idle.set()
            await self.wake.wait()
            self.wake.clear()
            with self.lock:
                self.scheduled = False
            while not self.failing:
                # Until the sessions are connected (at start, after a failure), one record
                # at a time: an unreachable server costs this thread, and through the
                # GIL the application, next to nothing.
                sessions = self.sessions.values()
                connected = bool(sessions) and all(s.connected for s in sessions)
                retried, entries = self._take(_CHUNK if connected else 1)
                if not (retried or entries):
                    break
                settling = asyncio.ensure_future(
                    self._settle(await self._submit(self._render(retried, entries)))
                )
                self.settling.append(settling)
                while len(self.settling) > (_MAX_CHUNKS_IN_FLIGHT if connected else 0):
                    failed += await self.settling.popleft()
            while self.settling:
                failed += await self.settling.popleft()
            if failed:
                with self.lock:
                    self.inflight -= len(failed)
                    self._requeue(failed)
                failed = []
                self.failing = False
                await self._close_sessions()
                await asyncio.sleep(delay)
                delay = min(delay * 2, 5.0)
                self.wake.set()
            else:
                delay = 0.1
                await self._report_drops()

    def _take(self, n: int) -> tuple[list[Failed], list[Entry]]:
        """Up to ``n`` records to send: those waiting to be sent again first (the oldest)."""
        with self.lock:
            retry, queue = self.retry, self.queue
            retried = [retry.popleft() for _ in range(min(n, len(retry)))]
            entries = [queue.popleft() for _ in range(min(n - len(retried), len(queue)))]
            self.inflight += len(retried) + len(entries)
        return retried, entries

    def _requeue(self, failed: list[Failed]) -> None:
        """Put failed records back, oldest first, ahead of newer ones (within the bound)."""
        room = self.sink.max_queue - len(self.queue) - len(self.retry)
        if room < len(failed):
            self.dropped += len(failed) - room
            failed = failed[len(failed) - room :] if room > 0 else []
        self.retry.extendleft(reversed(failed))

    def _render(self, retried: list[Failed], entries: list[Entry]) -> Batch:
        """The records to send, with their streams; an entry that fails to render is
        dropped and counted."""
        rendered: Batch = [
            (stream, Record(body, list(headers), timestamp))
            for stream, body, headers, timestamp in retried
        ]
        render = self.sink.render
        for entry in entries:
            try:
                rendered.append((entry[0], render(entry)))
            except Exception:
                with self.lock:
                    self.inflight -= 1
                    self.dropped += 1
        return rendered

    async def _submit(self, rendered: Batch) -> list[tuple[Batch, BatchSubmitTicket | Exception]]:
        """Hand records to the sessions as batches (of one stream each, in order).

        Returns each batch with its ticket; after an error, the batch it stopped at
        holds every record not yet submitted, with the error for a ticket.
        """
        submitted: list[tuple[Batch, BatchSubmitTicket | Exception]] = []
        position = 0
        for stream, run in itertools.groupby(rendered, key=lambda item: item[0]):
            records = [record for _, record in run]
            for batch in append_record_batches(records, batching=self.sink.batching):
                items = [(stream, record) for record in batch]
                try:
                    session = await self._session(stream)
                    ticket: BatchSubmitTicket | Exception = await session.submit(AppendInput(batch))
                except Exception as e:
                    submitted.append((rendered[position:], e))
                    return submitted
                submitted.append((items, ticket))
                position += len(batch)
        return submitted

    async def _settle(
        self, submitted: list[tuple[Batch, BatchSubmitTicket | Exception]]
    ) -> list[Failed]:
        """Wait for a chunk's acknowledgements; return what failed, to be sent again."""
        failed: list[Failed] = []
        sent = 0
        for batch, ticket in submitted:
            sent += len(batch)
            if not isinstance(ticket, Exception):
                try:
                    await ticket
                    continue
                except Exception:
                    pass
            failed.extend((s, r.body, tuple(r.headers), r.timestamp) for s, r in batch)
        with self.lock:
            self.inflight -= sent - len(failed)  # the failed stay pending until requeued
            self.delivered += sent - len(failed)
            if failed:
                self.failing = True
        return failed

    async def _session(self, stream: str) -> AppendSession:
        session = self.sessions.get(stream)
        if session is not None:
            self.sessions.move_to_end(stream)
            return session
        assert self.s2 is not None
        basin = self.s2[self.sink.basin]
        if self.sink.create_streams and stream not in self.created:
            try:
                await basin.create_stream(stream)
            except s2_sdk.S2ServerError as e:
                if e.code != ErrorCode.RESOURCE_ALREADY_EXISTS:
                    raise
            self.created.add(stream)
        session = basin[stream].append_session()
        self.sessions[stream] = session
        while len(self.sessions) > self.sink.max_streams:
            _, oldest = self.sessions.popitem(last=False)
            closing = asyncio.ensure_future(oldest.close())
            self.closing.add(closing)
            closing.add_done_callback(self.closing.discard)
        return session

    async def _report_drops(self) -> None:
        now = time.monotonic()
        if self.dropped <= self.reported or now - self.last_report < _DROP_REPORT_INTERVAL:
            return
        if not self.sessions:
            return
        newly = self.dropped - self.reported
        self.reported, self.last_report = self.dropped, now
        stream = next(reversed(self.sessions))
        body = json.dumps(
            {
                "level": "WARNING",
                "logger": "s2_logging",
                "message": f"s2-logging dropped {newly} log records (queue full); "
                f"{self.dropped} in total",
                "dropped": newly,
                "dropped_total": self.dropped,
            }
        ).encode()
        headers = [(b"level", b"WARNING"), (b"logger", b"s2_logging")]
        with contextlib.suppress(Exception):
            await (await self._session(stream)).submit(
                AppendInput([Record(body=body, headers=headers)])
            )


def _wait(loop: Background, future: concurrent.futures.Future[None], timeout: float) -> bool:
    """Wait for ``future`` (at most ``timeout``); whether it finished well.

    Gives up early when the loop stops running callbacks: it is then blocked, maybe
    on a lock the caller holds (logging's module lock, during ``dictConfig``), and
    waiting on would deadlock.
    """
    if _holds_logging_lock():
        # dictConfig: every thread that logs (the loop, an in-process server) may be
        # waiting for the lock the caller holds; delivery finishes once it is let go
        timeout = min(timeout, _RESPONSIVE)
    deadline = time.monotonic() + timeout
    while (remaining := deadline - time.monotonic()) > 0:
        try:
            future.result(min(remaining, _RESPONSIVE))
            return True
        except concurrent.futures.TimeoutError:
            pass
        except Exception:
            return False
        ran = threading.Event()
        loop.call_soon(ran.set)
        if not ran.wait(_RESPONSIVE):
            break
    future.cancel()
    return False


def _holds_logging_lock() -> bool:
    """Whether this thread holds logging's module lock (``dictConfig`` does while it
    flushes and closes the handlers it replaces)."""
    is_owned = getattr(getattr(logging, "_lock", None), "_is_owned", None)
    return bool(is_owned is not None and is_owned())
