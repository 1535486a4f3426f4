"""Delivery of log records to S2: a bounded queue in front of per-stream append sessions.

``put`` runs on the caller's thread and never blocks: it appends to a bounded
queue (dropping the oldest or the newest record when full, and counting drops)
and wakes a pump on the shared ``s2_sdk`` bridge loop. Memory is bounded by
``max_queue`` queued entries plus a few chunks (of at most 1000) in flight. Entries
are whatever the caller cheaply captured; the pump renders them into records (off the
caller's thread), hands those as batches to one append session per stream, waits
for their acknowledgements, and puts the records that failed back at the front of the
queue, so an outage delays delivery instead of losing records, as long as the queue
has room.
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

from s2_sdk import (
    AppendInput,
    AppendSession,
    Batching,
    BatchSubmitTicket,
    Record,
    S2ServerError,
    metered_bytes,
)
from s2_sdk._bridge import bridge, keep_after_fork
from s2_sdk.sync import S2

__all__ = ["Entry", "LogSink", "Overflow", "Render"]

Overflow = Literal["drop_oldest", "drop_newest"]
Entry = tuple[Any, ...]
"""A queued record: a flat tuple, the stream name first, then what ``render`` needs.

Entries should hold only strings, bytes and numbers (in tuples) so that, while
queued, the garbage collector stops tracking them. A record that failed waits to be
sent again as ``(stream, _RENDERED, body, headers, timestamp)``.
"""
Render = Callable[[Entry], Record]
"""Turns a queued entry into a record, on the bridge thread (off the caller's thread)."""
_RENDERED = object()
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
        self.dropped = 0
        self.delivered = 0
        self._reset()

    def _reset(self) -> None:
        self._pid = os.getpid()
        self._lock = threading.Lock()
        self._queue: deque[Entry] = deque()
        self._inflight = 0
        self._scheduled = False
        self._closed = False
        self._wake: asyncio.Event | None = None
        self._pump: asyncio.Task[None] | None = None
        self._sessions: OrderedDict[str, AppendSession] = OrderedDict()
        self._created: set[str] = set()
        self._closing: set[asyncio.Future[None]] = set()
        self._settling: deque[asyncio.Future[list[Entry]]] = deque()
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

    def put(self, entry: Entry) -> None:
        """Queue an entry for ``render``; never blocks, never raises."""
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
            self._queue.append(entry)
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
        failed: list[Entry] = []
        while True:
            await self._wake.wait()
            self._wake.clear()
            with self._lock:
                self._scheduled = False
            while not self._failed:
                # Until the sessions are connected (at start, after a failure), one record
                # at a time: an unreachable server costs this thread, and through the
                # GIL the application, next to nothing.
                sessions = self._sessions.values()
                connected = bool(sessions) and all(s.connected for s in sessions)
                with self._lock:
                    n = min(len(self._queue), _CHUNK if connected else 1)
                    chunk = [self._queue.popleft() for _ in range(n)]
                    self._inflight += n
                if not chunk:
                    break
                settling = asyncio.ensure_future(self._settle(await self._submit(chunk)))
                self._settling.append(settling)
                while len(self._settling) > (_MAX_CHUNKS_IN_FLIGHT if connected else 0):
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

    def _requeue(self, failed: list[Entry]) -> None:
        room = self.max_queue - len(self._queue)
        if room < len(failed):
            self.dropped += len(failed) - room
            failed = failed[len(failed) - room :] if room > 0 else []
        self._queue.extendleft(reversed(failed))

    async def _submit(
        self, chunk: list[Entry]
    ) -> list[tuple[list[tuple[str, Record]], BatchSubmitTicket | BaseException]]:
        """Render a chunk and hand it to the sessions as batches (one per run of a stream).

        Returns each batch's records with its ticket (or the error that stopped
        submission, with every record not yet submitted). An entry that fails to
        render is dropped and counted.
        """
        rendered: list[tuple[str, Record]] = []
        for entry in chunk:
            try:
                if entry[1] is _RENDERED:
                    record = Record(entry[2], list(entry[3]), entry[4])
                else:
                    record = self.render(entry)
            except Exception:
                with self._lock:
                    self._inflight -= 1
                    self.dropped += 1
                continue
            rendered.append((entry[0], record))
        submitted: list[tuple[list[tuple[str, Record]], BatchSubmitTicket | BaseException]] = []
        start = 0
        while start < len(rendered):
            end = self._batch_end(rendered, start)
            batch = rendered[start:end]
            try:
                session = await self._session(batch[0][0])
                ticket: BatchSubmitTicket | BaseException = await session.submit(
                    AppendInput([record for _, record in batch])
                )
            except Exception as e:
                ticket = e
                batch += rendered[end:]
            submitted.append((batch, ticket))
            if isinstance(ticket, BaseException):
                break
            start = end
        return submitted

    def _batch_end(self, rendered: list[tuple[str, Record]], start: int) -> int:
        """Where the batch starting at ``start`` ends: one stream, within the batching limits."""
        stream = rendered[start][0]
        end = start + 1
        limit = min(len(rendered), start + self.batching.max_records)
        while end < limit and rendered[end][0] == stream:
            end += 1
        records = [record for _, record in rendered[start:end]]
        if metered_bytes(records) <= self.batching.max_bytes:
            return end
        end, size = start, 0
        for record in records:
            size += metered_bytes((record,))
            if end > start and size > self.batching.max_bytes:
                break
            end += 1
        return end

    async def _settle(
        self, submitted: list[tuple[list[tuple[str, Record]], BatchSubmitTicket | BaseException]]
    ) -> list[Entry]:
        """Wait for a chunk's acknowledgements; return what failed, to be queued again.

        Failed records go back as plain data (bytes and tuples), which the garbage
        collector need not track while they wait.
        """
        failed: list[Entry] = []
        sent = 0
        for batch, ticket in submitted:
            sent += len(batch)
            if not isinstance(ticket, BaseException):
                try:
                    await ticket
                    continue
                except Exception:
                    pass
            failed.extend((s, _RENDERED, r.body, tuple(r.headers), r.timestamp) for s, r in batch)
        with self._lock:
            self._inflight -= sent - len(failed)  # the failed stay pending until requeued
            self.delivered += sent - len(failed)
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
