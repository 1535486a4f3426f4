"""Append sessions: pipelined batches over one full-duplex S2S stream, with retries."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from s2_sdk._closing import AsyncClosing
from s2_sdk._duplex import DuplexConnection, DuplexStream
from s2_sdk._exactly_once import Placed, resolve
from s2_sdk._exceptions import (
    AppendIndefiniteFailureError,
    ConnectionRetiredError,
    ReadTimeoutError,
    S2ClientError,
    S2Error,
    SeqNumMismatchError,
    TransportError,
    fallible,
    server_error,
)
from s2_sdk._options import AppendRetryPolicy
from s2_sdk._proto import append_ack, append_input_bytes, parse
from s2_sdk._records import AppendAck, AppendInput, Record
from s2_sdk._retry import (
    ReconnectLimiter,
    backoff,
    has_no_side_effects,
    is_retryable,
    needs_new_connection,
)
from s2_sdk._validate import check_append_input
from s2_sdk.protocol import (
    MAX_BATCH_METERED_BYTES,
    FrameDecoder,
    FrameError,
    encode_frame,
    pb,
)

if TYPE_CHECKING:
    from s2_sdk._stream import S2Stream

__all__ = ["AppendSession", "BatchSubmitTicket", "CheckedInput"]

_MAX_FREE_RECONNECTS = 16
"""Drain reconnects in a row (with no ack between them) before a drain counts as a failure."""


class BatchSubmitTicket(asyncio.Future[AppendAck]):
    """Resolves to an :class:`AppendAck` once the batch is appended.

    An :class:`asyncio.Future`: await it, ``asyncio.gather`` many, or add callbacks.
    Cancelling it (or a task waiting on it) does not cancel the batch's append.
    """

    __slots__ = ()


class CheckedInput(AppendInput):
    """An :class:`AppendInput` already checked (by the Producer), with its metered size:
    the session does not check its records again."""

    __slots__ = ("size",)

    def __init__(
        self,
        records: list[Record],
        match_seq_num: int | None,
        fencing_token: str | None,
        *,
        size: int,
    ) -> None:
        super().__init__(records, match_seq_num, fencing_token)
        self.size = size


@dataclass(eq=False, slots=True)
class _Batch:
    frame: bytes
    records: int
    size: int
    future: BatchSubmitTicket
    placed: Placed | None = None
    """Where the writer stated the batch goes (``match_seq_num``), with its records."""
    deadline: float = field(default=0.0)
    uncertain: bool = False
    """An attempt that sent this batch failed in a way that may have applied it."""


class _Reconnect(Exception):
    """The server advised a reconnect and every batch sent was acknowledged."""


class _Budget:
    """Permits for unacknowledged bytes and batches (the back-pressure point)."""

    def __init__(self, max_bytes: int, max_batches: int | None) -> None:
        self.max_bytes = max_bytes
        self.max_batches = max_batches
        self.bytes = 0
        self.batches = 0
        self._changed = asyncio.Condition()

    async def acquire(self, size: int) -> None:
        async with self._changed:
            await self._changed.wait_for(
                lambda: (
                    (self.bytes == 0 or self.bytes + size <= self.max_bytes)
                    and (self.max_batches is None or self.batches < self.max_batches)
                )
            )
            self.bytes += size
            self.batches += 1

    async def release(self, size: int) -> None:
        async with self._changed:
            self.bytes -= size
            self.batches -= 1
            self._changed.notify_all()

    async def reset(self) -> None:
        """Forget every permit (the session failed) and wake all waiters."""
        async with self._changed:
            self.bytes = self.batches = 0
            self._changed.notify_all()


@fallible()
class AppendSession(AsyncClosing):
    """Session for high-throughput appending with backpressure control.

    Supports pipelining multiple :class:`AppendInput` while preserving submission
    order. On a retryable failure it reconnects and re-sends every unacknowledged
    batch, in order, as the :class:`AppendRetryPolicy` allows. When the server drains
    (a terminal ``server_draining``, or reconnect advice on an acknowledgement, acted on
    at most once a minute) it reconnects without using up an attempt: advised, it
    first waits for the acknowledgements of what it sent.

    Caution:
        Returned by :meth:`S2Stream.append_session`. Do not instantiate directly.
    """

    def __init__(
        self,
        stream: S2Stream,
        max_unacked_bytes: int,
        max_unacked_batches: int | None,
        headers: Mapping[str, str],
    ) -> None:
        if type(max_unacked_bytes) is not int or max_unacked_bytes < MAX_BATCH_METERED_BYTES:
            raise S2ClientError(
                f"max_unacked_bytes must be at least 1 MiB, got {max_unacked_bytes!r}"
            )
        if max_unacked_batches is not None and (
            type(max_unacked_batches) is not int or max_unacked_batches < 1
        ):
            raise S2ClientError(
                f"max_unacked_batches must be at least 1, got {max_unacked_batches!r}"
            )
        self._stream = stream
        http = stream._basin._http
        self._retry = http.retry
        self._timeout = http.timeout
        self._codec = http.compression.codec
        self._origin = http.origin
        self._headers = {
            **http.headers,
            **headers,
            "content-type": "s2s/proto",
            "accept": "s2s/proto",
        }
        stream._basin._client._sessions.add(self)
        self._budget = _Budget(max_unacked_bytes, max_unacked_batches)
        self._queue: deque[_Batch] = deque()
        self._queued = asyncio.Event()
        self._inflight: deque[_Batch] = deque()
        self._closing = False
        self._acked_since_attempt = False
        self._advised = False
        self._reconnects = ReconnectLimiter()
        self._current: DuplexStream | None = None
        self._connected = False
        self._error: BaseException | None = None
        self._task: asyncio.Task[None] | None = None

    @property
    def stream(self) -> S2Stream:
        """The stream this session appends to."""
        return self._stream

    @property
    def connected(self) -> bool:
        """Whether the session has a live connection (not connecting, nor waiting to retry).

        For senders that hold back new batches while the server is unreachable.
        """
        return self._connected

    async def submit(self, inp: AppendInput) -> BatchSubmitTicket:
        """Submit a batch of records for appending; waits when backpressure limits are reached.

        Raises:
            S2ClientError: the batch is invalid, or the session is closed.
            S2Error: the session already failed (the error that ended it).
        """
        size = inp.size if type(inp) is CheckedInput else check_append_input(inp)
        self._raise_if_unusable()
        frame = encode_frame(append_input_bytes(inp), self._codec)
        await self._budget.acquire(size)
        self._raise_if_unusable()
        ticket = BatchSubmitTicket(loop=asyncio.get_running_loop())
        placed = None if inp.match_seq_num is None else Placed(inp.match_seq_num, inp.records)
        self._queue.append(_Batch(frame, len(inp.records), size, ticket, placed))
        self._queued.set()
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="s2-append-session")
        await asyncio.sleep(0)  # let the sender put this batch on the wire now
        return ticket

    async def close(self) -> None:
        """Close the session and wait for all submitted batches to be appended.

        Raises:
            S2Error: the error that failed the session, if it failed.
        """
        self._closing = True
        self._queued.set()
        if self._task is not None:
            await asyncio.wait({self._task})
        if self._error is not None:
            raise self._error

    async def _abort(self, error: S2Error) -> None:
        """Stop at once: unacknowledged batches fail with ``error`` (the client closes)."""
        self._closing = True
        if self._task is not None and not self._task.done():
            self._task.cancel()
            await asyncio.wait({self._task})
        if self._error is None and (self._inflight or self._queue):
            self._fail(error)
            await self._budget.reset()

    def _raise_if_unusable(self) -> None:
        if self._error is not None:
            raise self._error
        if self._closing:
            raise S2ClientError("the append session is closed")

    # -- the session loop ----------------------------------------------------------

    async def _run(self) -> None:
        attempt = free = 0
        while True:
            conn = DuplexConnection(self._origin)
            try:
                await self._attempt(conn)
                return
            except _Reconnect:
                continue  # every batch sent was acked: reconnect at once, for free
            except Exception as e:
                resolved = False
                if isinstance(e, SeqNumMismatchError) and self._doubtful():
                    try:  # a resent batch refused: appended before, or another writer's turn?
                        await self._resolve(e)
                    except Exception as unresolved:
                        if isinstance(unresolved, SeqNumMismatchError):
                            for batch in self._inflight:  # another writer's: not ours, surely
                                batch.uncertain = False
                        self._fail(unresolved)
                        await self._budget.reset()
                        return
                    resolved = True
                if self._acked_since_attempt:
                    attempt = free = 0
                if resolved:
                    delay = 0.0  # settled what was appended: the rest goes again, at once
                elif needs_new_connection(e) and free < _MAX_FREE_RECONNECTS:
                    free += 1
                    self._reconnects.record()
                    delay = backoff(0, self._retry) / 2
                else:
                    wrote = self._wrote_data()
                    attempt += 1
                    if not self._may_retry(e, wrote) or attempt >= self._retry.max_attempts:
                        self._fail(e)
                        await self._budget.reset()
                        return
                    if wrote and not has_no_side_effects(e):
                        for batch in self._inflight:
                            batch.uncertain = True
                    delay = backoff(attempt - 1, self._retry)
            finally:
                self._abandon_current()
                await conn.close()
            await asyncio.sleep(delay)

    def _doubtful(self) -> bool:
        """Whether the oldest batch in flight, refused for its position, may have been
        appended by an earlier attempt (and its writer stated that position)."""
        return bool(self._inflight) and (
            self._inflight[0].uncertain and self._inflight[0].placed is not None
        )

    async def _resolve(self, mismatch: SeqNumMismatchError) -> None:
        """Settle the batches in flight that the stream shows were appended (one read for
        all of them); the others stay in flight, to be sent again as they are.

        Raises:
            SeqNumMismatchError: another writer appended where a batch was to go.
            S2Error: the read-back could not decide.
        """
        placed = []
        for batch in self._inflight:
            if batch.placed is None:
                break
            placed.append(batch.placed)
        for ack in await resolve(self._stream, placed, mismatch):
            await self._settle(self._inflight.popleft(), ack)

    async def _settle(self, batch: _Batch, ack: AppendAck) -> None:
        """``batch`` (no longer in flight) was appended: resolve its ticket."""
        self._acked_since_attempt = True
        if not batch.future.done():
            batch.future.set_result(ack)
        await self._budget.release(batch.size)

    def _wrote_data(self) -> bool:
        return self._current is not None and self._current.sent_data

    def _abandon_current(self) -> None:
        self._connected = False
        if self._current is not None:
            self._current.reset()
            self._current = None

    def _may_retry(self, error: BaseException, wrote: bool) -> bool:
        if not is_retryable(error):
            return False
        if self._retry.append_retry_policy is AppendRetryPolicy.ALL:
            return True
        return not self._inflight or not wrote or has_no_side_effects(error)

    async def _attempt(self, conn: DuplexConnection) -> None:
        self._acked_since_attempt = False
        self._advised = False
        timeout = self._timeout.request.total_seconds()
        await conn.connect(self._timeout.connection.total_seconds())
        stream = await conn.request("POST", self._stream._path, self._headers)
        self._current = stream
        try:
            async with asyncio.timeout(timeout):
                status, _ = await stream.response()
                if status != 200:
                    raise server_error(status, await stream.read_all())
        except TimeoutError as e:
            raise ReadTimeoutError("no append session response within the request timeout") from e
        self._connected = True
        receiver = asyncio.create_task(self._receive(stream))
        sender = asyncio.create_task(self._send(stream))
        try:
            await asyncio.wait({receiver, sender}, return_when=asyncio.FIRST_EXCEPTION)
            if sender.done() and not receiver.done():
                sender.result()  # the sender failed (or ended the body): say why
            await receiver  # the server's word on the attempt comes first
        finally:
            for task in (sender, receiver):
                if not task.done():
                    task.cancel()
                    with contextlib.suppress(asyncio.CancelledError, Exception):
                        await task
                elif not task.cancelled():
                    task.exception()  # one error is raised; the other is retrieved

    async def _send(self, stream: DuplexStream) -> None:
        try:
            await self._send_batches(stream)
        except ConnectionRetiredError:
            # GOAWAY: nothing more goes out on this connection, but the server still
            # answers what it took; the receiver ends the attempt (acks, or a deadline)
            await asyncio.Event().wait()

    async def _send_batches(self, stream: DuplexStream) -> None:
        request_timeout = self._timeout.request.total_seconds()
        for batch in list(self._inflight):
            batch.deadline = time.monotonic() + request_timeout
            await stream.send(batch.frame)
        while True:
            while self._queue and not self._advised:
                batch = self._queue.popleft()
                self._inflight.append(batch)
                batch.deadline = time.monotonic() + request_timeout
                await stream.send(batch.frame)
            if self._ending():
                await stream.end()
                return
            self._queued.clear()
            await self._queued.wait()

    async def _receive(self, stream: DuplexStream) -> None:
        decoder = FrameDecoder()
        prev_end = -1
        advice_seen = False
        request_timeout = self._timeout.request.total_seconds()
        while True:
            # wake by the oldest batch's ack deadline; with nothing in flight, now and
            # then, to see a batch sent meanwhile (or, closing, the response's end owed)
            timeout = request_timeout
            if self._inflight:
                timeout = max(self._inflight[0].deadline - time.monotonic(), 0.0)
            try:
                chunk = await asyncio.wait_for(stream.receive(), timeout)
            except TimeoutError as e:
                if self._inflight:
                    if self._inflight[0].deadline <= time.monotonic():
                        raise ReadTimeoutError("append session ack timeout") from e
                elif self._ending():
                    return  # every batch is acknowledged; a server that never ends is moot
                continue
            if chunk is None:
                if self._inflight or self._queue or not self._closing:
                    raise S2ClientError(
                        "append session response ended with "
                        f"{len(self._inflight)} unacknowledged batches"
                    )
                return
            try:
                frames = decoder.feed(chunk)
            except FrameError as e:
                raise S2ClientError(f"malformed append session frame: {e}") from e
            for frame in frames:
                if frame.terminal:
                    status, body = frame.terminal_error()
                    raise server_error(status, body)
                ack = append_ack(parse(pb.AppendAck, frame.payload))
                prev_end = await self._acknowledge(ack, prev_end)
                if frame.reconnect_advised and not advice_seen:
                    advice_seen = True
                    if not self._closing and self._reconnects.acquire():
                        self._advised = True  # the sender stops; what it sent is acked
                        self._queued.set()
                if self._advised and not self._inflight and not self._ending():
                    raise _Reconnect

    def _ending(self) -> bool:
        """Closing with nothing left to send: the stream ends here, no need to reconnect."""
        return self._closing and not self._queue

    async def _acknowledge(self, ack: AppendAck, prev_end: int) -> int:
        if not self._inflight:
            raise S2ClientError("append session received an ack with nothing in flight")
        batch = self._inflight[0]
        start, end = ack.start.seq_num, ack.end.seq_num
        if end < start or end <= prev_end or end - start != batch.records:
            raise S2ClientError(f"append session received an invalid ack {start}..{end}")
        await self._settle(self._inflight.popleft(), ack)
        return end

    def _fail(self, error: BaseException) -> None:
        if any(batch.uncertain for batch in self._inflight) and has_no_side_effects(error):
            error = AppendIndefiniteFailureError(error)
        elif not isinstance(error, S2Error):
            kind = "transport" if isinstance(error, TransportError) else type(error).__name__
            wrapped = S2ClientError(f"append session failed ({kind}): {error}")
            wrapped.__cause__ = error
            error = wrapped
        self._error = error
        for batch in (*self._inflight, *self._queue):
            if not batch.future.done():
                batch.future.set_exception(error)
                batch.future.exception()
        self._inflight.clear()
        self._queue.clear()
