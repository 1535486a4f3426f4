"""Read sessions: a stream of batches that survives reconnects without gaps or duplicates."""

from __future__ import annotations

import asyncio
import contextlib
import math
import time
from collections.abc import AsyncGenerator, AsyncIterator, Mapping
from typing import TYPE_CHECKING

from s2_sdk._closing import AsyncClosing
from s2_sdk._exceptions import (
    ReadTimeoutError,
    S2ClientError,
    S2Error,
    TransportError,
    fallible,
    server_error,
)
from s2_sdk._proto import Delivery, read_batch
from s2_sdk._query import read_params
from s2_sdk._records import ReadBatch, ReadLimit, SeqNum, StreamPosition, TailOffset, Timestamp
from s2_sdk._retry import ReconnectLimiter, backoff, is_retryable, needs_new_connection
from s2_sdk.protocol import FrameDecoder, FrameError

if TYPE_CHECKING:
    from s2_sdk._stream import S2Stream

__all__ = ["HEARTBEAT_TIMEOUT", "ReadSession"]

HEARTBEAT_TIMEOUT = 20.0
"""Seconds without a whole frame after which the session reconnects."""

_END = object()
_MAX_FREE_RECONNECTS = 16
"""Drain reconnects in a row (with no frame between them) before a drain counts as a failure."""


@fallible()
class ReadSession(AsyncClosing):
    """Batches of records read continuously from a stream.

    An async iterator of :class:`ReadBatch`, and an async context manager. It starts
    on the first iteration (or :meth:`caught_up`). Heartbeats are not yielded; they
    only update the tail. After a retryable failure it resumes from the next
    sequence number with limits and ``wait`` reduced by what was already delivered;
    once its ``count`` or ``bytes`` limit is delivered it ends. When the server drains
    (``server_draining``, or reconnect advice on a batch, acted on at most once a minute,
    after that batch is delivered) it reconnects without using up an attempt.

    Caution:
        Returned by :meth:`S2Stream.read_session`. Do not instantiate directly.
    """

    def __init__(
        self,
        stream: S2Stream,
        headers: Mapping[str, str],
        start: SeqNum | Timestamp | TailOffset,
        limit: ReadLimit | None,
        until_timestamp: int | None,
        clamp_to_tail: bool,
        wait: int | None,
        ignore_command_records: bool,
    ) -> None:
        read_params(start, limit, until_timestamp, clamp_to_tail, wait)
        self._stream = stream
        stream._basin._client._sessions.add(self)
        self._headers = {**headers, "content-type": "s2s/proto"}
        self._start: SeqNum | Timestamp | TailOffset = start
        self._count = limit.count if limit else None
        self._bytes = limit.bytes if limit else None
        self._until = until_timestamp
        self._clamp = clamp_to_tail
        self._wait = wait
        self._ignore_commands = ignore_command_records
        self._queue: asyncio.Queue[object] = asyncio.Queue(maxsize=1)
        self._pump: asyncio.Task[None] | None = None
        self._enqueued = 0
        self._taken = 0
        self._caught_up_at: int | None = None
        self._tail: StreamPosition | None = None
        self._waiters: list[asyncio.Future[StreamPosition]] = []
        self._error: BaseException | None = None
        self._finished = False
        self._reconnects = ReconnectLimiter()
        self._advised = False
        self._joined_headers = False

    # -- public API ----------------------------------------------------------------

    def __aiter__(self) -> AsyncIterator[ReadBatch]:
        return self

    async def __anext__(self) -> ReadBatch:
        self._ensure_started()
        if self._finished and self._queue.empty():
            raise StopAsyncIteration
        item = await self._queue.get()
        if item is _END:
            self._finished = True
            if self._error is not None:
                raise self._error
            raise StopAsyncIteration
        assert isinstance(item, ReadBatch)
        self._taken += 1
        self._check_caught_up()
        return item

    async def close(self) -> None:
        """Stop reading and release the connection."""
        self._finished = True
        if self._pump is not None and not self._pump.done():
            self._pump.cancel()
            await asyncio.wait({self._pump})
        self._fail_waiters(S2ClientError("read session closed before catching up"))

    async def _abort(self, error: S2Error) -> None:
        """Stop at once; a reader waiting for the next batch gets ``error`` (the client
        closes)."""
        if self._pump is None or self._pump.done():
            return
        self._error = error
        self._finished = True  # the pump must not wait for room as it stops
        self._pump.cancel()
        await asyncio.wait({self._pump})
        while True:  # what was not taken is dropped: the reader gets the error next
            try:
                self._queue.put_nowait(_END)
                break
            except asyncio.QueueFull:
                self._queue.get_nowait()
        self._fail_waiters(error)

    @property
    def stream(self) -> S2Stream:
        """The stream this session reads."""
        return self._stream

    def is_caught_up(self) -> bool:
        """Whether every record up to the live tail has been delivered."""
        return self._caught_up_at is not None and self._taken >= self._caught_up_at

    async def caught_up(self) -> StreamPosition:
        """Wait until every record before the live tail was delivered; return that tail.

        Raises:
            S2Error: the session ended (or failed) before catching up.
        """
        self._ensure_started()
        if self.is_caught_up() and self._tail is not None:
            return self._tail
        if self._finished or (self._pump is not None and self._pump.done()):
            raise self._error or S2ClientError("read session ended before catching up")
        future: asyncio.Future[StreamPosition] = asyncio.get_running_loop().create_future()
        self._waiters.append(future)
        return await future

    # -- internals -----------------------------------------------------------------

    def _deliver_joined_headers(self) -> bool:
        """Have records carry their headers joined, as ``ReadBatchJoined`` records do (for
        :mod:`s2_sdk.patterns`); whether they will: only before the session starts, and
        not with a byte limit (which meters headers by name and value)."""
        if self._pump is None and self._bytes is None:
            self._joined_headers = True
        return self._joined_headers

    def _ensure_started(self) -> None:
        if self._pump is None:
            self._pump = asyncio.create_task(self._run(), name="s2-read-session")

    def _check_caught_up(self) -> None:
        if self.is_caught_up() and self._tail is not None:
            for future in self._waiters:
                if not future.done():
                    future.set_result(self._tail)
            self._waiters.clear()

    def _fail_waiters(self, error: BaseException) -> None:
        for future in self._waiters:
            if not future.done():
                future.set_exception(error)
        self._waiters.clear()

    def _params(self, waited_since: float | None) -> dict[str, str | int]:
        wait = self._wait
        if wait is not None and waited_since is not None:
            wait = max(0, wait - math.ceil(time.monotonic() - waited_since))
        limit = ReadLimit(self._count, self._bytes)
        return read_params(self._start, limit, self._until, self._clamp, wait)

    def _spent(self) -> bool:
        """The ``count`` or ``bytes`` limit was delivered: nothing is left to read."""
        return self._count == 0 or self._bytes == 0

    async def _run(self) -> None:
        retry = self._stream._basin._http.retry
        attempt = free = 0
        waited_since: float | None = None
        try:
            while True:
                got_frame = False
                try:
                    async with contextlib.aclosing(self._attempt(self._params(waited_since))) as it:
                        async for received in it:
                            got_frame = True
                            attempt = free = 0
                            if received.batch.tail is not None:
                                waited_since = time.monotonic()
                            await self._deliver(received)
                    if not self._advised or self._spent():
                        return
                    continue  # advised: the batch is delivered, reconnect at once
                except (S2Error, TransportError) as e:
                    self._caught_up_at = None
                    if self._spent():  # cut right after the last record: done
                        return
                    if got_frame:
                        attempt = free = 0
                    if needs_new_connection(e) and free < _MAX_FREE_RECONNECTS:
                        free += 1
                        self._reconnects.record()
                        await asyncio.sleep(backoff(0, retry) / 2)
                        continue
                    attempt += 1
                    if not is_retryable(e) or attempt >= retry.max_attempts:
                        raise
                    await asyncio.sleep(backoff(attempt - 1, retry))
        except Exception as e:
            self._error = e if isinstance(e, S2Error) else _client_error(e)
        finally:
            self._fail_waiters(
                self._error or S2ClientError("read session ended before catching up")
            )
            if self._finished:  # closed: nobody may be reading, so never wait for room
                with contextlib.suppress(asyncio.QueueFull):
                    self._queue.put_nowait(_END)
            else:
                with contextlib.suppress(asyncio.CancelledError):
                    await self._queue.put(_END)

    async def _deliver(self, received: Delivery) -> None:
        batch = received.batch
        tail = batch.tail
        if received.count:
            self._start = SeqNum(received.last_seq + 1)
            if self._count is not None:
                self._count = max(self._count - received.count, 0)
            if self._bytes is not None:
                self._bytes = max(self._bytes - received.metered, 0)
        if tail is not None:
            self._tail = tail
        if not received.count:
            if tail is None:
                raise S2ClientError("read session received an empty batch without a tail")
            self._start = SeqNum(tail.seq_num)
            self._caught_up_at = self._enqueued
            self._check_caught_up()
            return
        if batch.records:
            await self._queue.put(batch)
            self._enqueued += 1
        if tail is not None:
            final = received.last_seq + 1 >= tail.seq_num
            self._caught_up_at = self._enqueued if final else None
            self._check_caught_up()
        else:
            self._caught_up_at = None

    async def _attempt(self, params: dict[str, str | int]) -> AsyncGenerator[Delivery]:
        """The batches of one request; stops after a batch that carried reconnect advice
        the session acts on (``_advised``), retiring the connection."""
        self._advised = False
        advice_seen = False
        ignore, metered = self._ignore_commands, self._bytes is not None
        http = self._stream._basin._http
        loop = asyncio.get_running_loop()
        async with http.stream(
            "GET", self._stream._path, params=params, headers=self._headers
        ) as response:
            decoder = FrameDecoder()
            deadline = loop.time() + HEARTBEAT_TIMEOUT
            while True:
                try:
                    async with asyncio.timeout_at(deadline):
                        chunk = await response.receive()
                except TimeoutError as e:
                    raise ReadTimeoutError("read session heartbeat timeout") from e
                if chunk is None:
                    if decoder.pending:
                        raise S2ClientError("read session ended in the middle of a frame")
                    return
                try:
                    frames = decoder.feed(chunk)
                except FrameError as e:
                    raise S2ClientError(f"malformed read session frame: {e}") from e
                if frames:
                    deadline = loop.time() + HEARTBEAT_TIMEOUT
                for frame in frames:
                    if frame.terminal:
                        status, body = frame.terminal_error()
                        raise server_error(status, body)
                    yield read_batch(frame.payload, ignore, metered, self._joined_headers)
                    if frame.reconnect_advised and not advice_seen:
                        advice_seen = True
                        if self._reconnects.acquire():
                            self._advised = True
                            response.retire_connection()
                            return


def _client_error(error: BaseException) -> S2ClientError:
    wrapped = S2ClientError(f"read session failed: {type(error).__name__}: {error}")
    wrapped.__cause__ = error
    return wrapped
