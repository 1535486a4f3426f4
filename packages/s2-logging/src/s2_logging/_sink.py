"""Delivery of log records to S2: a bounded queue in front of per-stream append sessions.

``put`` runs on the caller's thread and never blocks: it appends to a bounded
queue (dropping the oldest or the newest record when full, and counting drops)
and wakes a pump on the shared ``s2_sdk`` bridge loop. Memory is bounded by
``max_queue`` queued records plus one chunk (at most 1000) in flight. The pump hands records
as batches to one append session per stream, waits for their acknowledgements,
and puts back (at the front) whatever failed, so an outage delays delivery
instead of losing records, as long as the queue has room.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import threading
import time
from collections import OrderedDict, deque
from collections.abc import Callable
from typing import Any, Literal

from s2_sdk import AppendInput, Batching, Record, S2ServerError, metered_bytes
from s2_sdk._append_session import AppendSession, BatchSubmitTicket
from s2_sdk._bridge import bridge, keep_after_fork
from s2_sdk.sync import S2

__all__ = ["LogSink", "Overflow", "Render"]

Overflow = Literal["drop_oldest", "drop_newest"]
Render = Callable[[Any], Record]
"""Turns a queued item into a record, on the bridge thread (off the caller's thread)."""
_CHUNK = 1000
_MAX_CHUNKS_IN_FLIGHT = 8
_DROP_REPORT_INTERVAL = 10.0


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
        render: Render | None = None,
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
        self.dropped = 0
        self.delivered = 0
        self._reset()

    def _reset(self) -> None:
        self._pid = os.getpid()
        self._lock = threading.Lock()
        self._queue: deque[tuple[str, Any]] = deque()
        self._inflight = 0
        self._scheduled = False
        self._closed = False
        self._wake: asyncio.Event | None = None
        self._pump: asyncio.Task[None] | None = None
        self._sessions: OrderedDict[str, AppendSession] = OrderedDict()
        self._created: set[str] = set()
        self._closing: set[asyncio.Future[None]] = set()
        self._settling: deque[asyncio.Future[list[tuple[str, Any]]]] = deque()
        self._failed = False
        self._reported = self.dropped
        self._last_report = 0.0
        self._registered = False

    def reset_after_fork(self) -> None:
        """In a forked child: forget the parent's queue, sessions and loop (no duplicates)."""
        keep_after_fork((self._sessions, self._pump, self._wake, self._closing))
        self.dropped = self.delivered = 0
        self._reset()

    @property
    def pending(self) -> int:
        """Records queued or in flight."""
        return len(self._queue) + self._inflight

    # -- caller side -----------------------------------------------------------------

    def put(self, stream: str, record: Any) -> None:
        """Queue a record (or an item for ``render``); never blocks, never raises."""
        if self._pid != os.getpid():
            self.reset_after_fork()
        with self._lock:
            if self._closed:
                self.dropped += 1
                return
            if len(self._queue) >= self.max_queue:
                self.dropped += 1
                if self.overflow == "drop_newest":
                    return
                self._queue.popleft()
            self._queue.append((stream, record))
            if self._scheduled:
                return
            self._scheduled = True
        try:
            b = bridge()
            if not self._registered:
                b.add_finalizer(self)
                self._registered = True
            b.call_soon(self._kick)
        except Exception:
            with self._lock:
                self._scheduled = False

    def flush(self, timeout: float) -> bool:
        """Wait (at most ``timeout``) until everything queued so far is acknowledged."""
        b = bridge()
        if b.closed or b.in_loop_thread() or self._pid != os.getpid():
            return not self.pending
        try:
            b.run(self._drained(), timeout)
        except Exception:
            return False
        return True

    def close(self, timeout: float) -> None:
        """Flush (bounded), then stop accepting records and close the sessions."""
        if self._closed:
            return
        self.flush(timeout)
        with self._lock:
            self._closed = True
        b = bridge()
        if not b.closed and not b.in_loop_thread():
            with contextlib.suppress(Exception):
                b.run(self._stop(), timeout)
            with contextlib.suppress(Exception):
                self.client.close(timeout)

    def close_soon(self) -> None:
        """Close without waiting (for callers that must not block); delivery ends on the loop."""
        b = bridge()
        if self._closed or b.closed or self._pid != os.getpid():
            return

        async def finish() -> None:
            await self.close_at_exit()
            await self.client.client().close()

        with contextlib.suppress(Exception):
            b.submit(finish())

    async def close_at_exit(self) -> None:
        """The bridge's interpreter-exit hook: deliver what is queued, then close."""
        await self._drained()
        with self._lock:
            self._closed = True
        await self._stop()

    # -- bridge side -----------------------------------------------------------------

    def _kick(self) -> None:
        if self._wake is None:
            self._wake = asyncio.Event()
            self._pump = asyncio.create_task(self._run(), name="s2-logging-pump")
        self._wake.set()

    async def _drained(self) -> None:
        if self._queue:
            self._kick()
        while self.pending:
            await asyncio.sleep(0.005)

    async def _close_sessions(self) -> None:
        sessions = list(self._sessions.values())
        self._sessions.clear()
        for session in sessions:
            with contextlib.suppress(Exception):
                await session.close()

    async def _stop(self) -> None:
        """After close: close the sessions and stop the pump."""
        bridge().remove_finalizer(self)
        await self._close_sessions()
        pump, self._pump = self._pump, None
        if pump is not None and pump is not asyncio.current_task():
            pump.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await pump

    async def _run(self) -> None:
        assert self._wake is not None
        delay = 0.1
        failed: list[tuple[str, Any]] = []
        while True:
            await self._wake.wait()
            self._wake.clear()
            with self._lock:
                self._scheduled = False
            while not self._failed:
                with self._lock:
                    n = min(len(self._queue), _CHUNK)
                    chunk = [self._queue.popleft() for _ in range(n)]
                    self._inflight += n
                if not chunk:
                    break
                settling = asyncio.ensure_future(self._settle(chunk, await self._submit(chunk)))
                self._settling.append(settling)
                while len(self._settling) > _MAX_CHUNKS_IN_FLIGHT:
                    failed += await self._settling.popleft()
            while self._settling:
                failed += await self._settling.popleft()
            if failed:
                with self._lock:
                    self._inflight -= len(failed)
                    self._requeue(failed)  # oldest first, ahead of newer records
                failed = []
                self._failed = False
                await self._close_sessions()
                await asyncio.sleep(delay)
                delay = min(delay * 2, 5.0)
                self._wake.set()
            else:
                delay = 0.1
                await self._report_drops()

    def _requeue(self, failed: list[tuple[str, Any]]) -> None:
        room = self.max_queue - len(self._queue)
        if room < len(failed):
            self.dropped += len(failed) - room
            failed = failed[len(failed) - room :] if room > 0 else []
        self._queue.extendleft(reversed(failed))

    async def _submit(
        self, chunk: list[tuple[str, Any]]
    ) -> list[tuple[range, BatchSubmitTicket | BaseException]]:
        """Hand a chunk to the sessions as batches (rendering queued items first)."""
        render = self.render
        for i, (stream, item) in enumerate(chunk):
            if render is not None and not isinstance(item, Record):
                chunk[i] = (stream, render(item))  # a retry re-sends the rendered record
        submitted: list[tuple[range, BatchSubmitTicket | BaseException]] = []
        start = 0
        while start < len(chunk):
            stream = chunk[start][0]
            end, size = start, 0
            while (
                end < len(chunk)
                and chunk[end][0] == stream
                and end - start < self.batching.max_records
            ):
                rsize = metered_bytes([chunk[end][1]])
                if end > start and size + rsize > self.batching.max_bytes:
                    break
                size += rsize
                end += 1
            try:
                session = await self._session(stream)
                records = [record for _, record in chunk[start:end]]
                submitted.append((range(start, end), await session.submit(AppendInput(records))))
            except Exception as e:
                submitted.append((range(start, len(chunk)), e))
                break
            start = end
        return submitted

    async def _settle(
        self,
        chunk: list[tuple[str, Any]],
        submitted: list[tuple[range, BatchSubmitTicket | BaseException]],
    ) -> list[tuple[str, Any]]:
        """Wait for a chunk's acknowledgements; return what failed (to go back in the queue)."""
        failed: list[tuple[str, Any]] = []
        for indices, ticket in submitted:
            if not isinstance(ticket, BaseException):
                try:
                    await ticket
                    continue
                except Exception:
                    pass
            failed.extend(chunk[i] for i in indices)
        with self._lock:
            self._inflight -= len(chunk) - len(failed)  # the failed stay pending until requeued
            self.delivered += len(chunk) - len(failed)
            if failed:
                self._failed = True
        return failed

    async def _session(self, stream: str) -> AppendSession:
        session = self._sessions.get(stream)
        if session is not None:
            self._sessions.move_to_end(stream)
            return session
        basin = self.client.client()[self.basin]
        if self.create_streams and stream not in self._created:
            try:
                await basin.create_stream(stream)
            except S2ServerError as e:
                if e.code != "resource_already_exists":
                    raise
            self._created.add(stream)
        session = basin[stream].append_session()
        self._sessions[stream] = session
        while len(self._sessions) > self.max_streams:
            _, oldest = self._sessions.popitem(last=False)
            closing = asyncio.ensure_future(oldest.close())
            self._closing.add(closing)
            closing.add_done_callback(self._closing.discard)
        return session

    async def _report_drops(self) -> None:
        now = time.monotonic()
        if self.dropped <= self._reported or now - self._last_report < _DROP_REPORT_INTERVAL:
            return
        if not self._sessions:
            return
        newly = self.dropped - self._reported
        self._reported, self._last_report = self.dropped, now
        stream = next(reversed(self._sessions))
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
