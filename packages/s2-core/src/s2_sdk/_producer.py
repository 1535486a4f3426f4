"""The Producer: per-record submit over an append session, with auto-batching.

The per-record path is kept short: a record is checked once (its types and metered
size), gets its ticket (an :class:`asyncio.Future`), and joins the open batch. Full
batches go to the append session in order, one at a time (the only lock, per batch); a
batch's acknowledgement resolves its records' tickets in one callback.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
from collections import deque
from collections.abc import Generator
from typing import Any, cast

from s2_sdk._append_session import AppendSession, BatchSubmitTicket, CheckedInput
from s2_sdk._closing import AsyncClosing
from s2_sdk._exceptions import S2ClientError, S2Error, fallible
from s2_sdk._options import Batching
from s2_sdk._records import AppendAck, IndexedAppendAck, Record
from s2_sdk._validate import check_batching, check_fencing_token, check_u64, record_size

__all__ = ["Producer", "RecordSubmitTicket"]


class RecordSubmitTicket(asyncio.Future[IndexedAppendAck]):
    """Resolves to an :class:`IndexedAppendAck` once the record is appended.

    An :class:`asyncio.Future`: await it, ``asyncio.gather`` many, or add callbacks.
    Cancelling it (or a task waiting on it) does not cancel the record's append.
    """

    # Resolved with its batch's AppendAck (shared by the batch's tickets): the record's
    # IndexedAppendAck is built when asked for, so tickets nobody looks at cost nothing
    # more when their batch is acknowledged.
    __slots__ = ("_index",)
    _index: int
    """The record's place in its batch."""

    def result(self) -> IndexedAppendAck:
        """The record's :class:`IndexedAppendAck` (raises what failed it)."""
        ack = cast(AppendAck, super().result())
        return IndexedAppendAck(ack.start.seq_num + self._index, ack)

    def __await__(self) -> Generator[Any, None, IndexedAppendAck]:
        yield from super().__await__()
        return self.result()

    __iter__ = __await__


@fallible(skip=("submit",))
class Producer(AsyncClosing):
    """High-level interface for submitting individual records.

    Handles batching into :class:`AppendInput` automatically and uses an append
    session internally. With ``match_seq_num``, every batch carries the sequence
    number its first record must get, so a retried batch can never be written twice.

    Caution:
        Returned by :meth:`S2Stream.producer`. Do not instantiate directly.
    """

    def __init__(
        self,
        session: AppendSession,
        fencing_token: str | None,
        match_seq_num: int | None,
        batching: Batching | None,
    ) -> None:
        check_fencing_token(fencing_token)
        check_u64(match_seq_num, "match_seq_num")
        batching = batching or Batching()
        check_batching(batching)
        self._session = session
        self._max_records = batching.max_records
        self._max_bytes = batching.max_bytes
        self._linger = batching.linger.total_seconds()
        self._fencing_token = fencing_token
        self._match_seq_num = match_seq_num
        self._records: list[Record] = []
        self._tickets: list[RecordSubmitTicket] = []
        self._size = 0
        self._generation = 0
        """Counts batches: a linger timer flushes only the batch it was started for."""
        self._timer: asyncio.TimerHandle | None = None
        self._sending = asyncio.Lock()
        """Batches go to the session one at a time, in order."""
        self._taken: deque[tuple[CheckedInput, list[RecordSubmitTicket]]] = deque()
        """Batches closed but not yet submitted to the session, oldest first."""
        self._acks: deque[BatchSubmitTicket] = deque()
        self._flushes: set[asyncio.Task[None]] = set()
        self._error: BaseException | None = None
        self._closed = False

    async def submit(self, record: Record) -> RecordSubmitTicket:
        """Submit a record for appending; waits when backpressure limits are reached.

        The record's place is fixed when ``submit`` is called, before any wait: records
        submitted from several tasks are appended in the order of their calls.

        Raises:
            S2ClientError: the record is invalid, or the producer is closed.
            S2Error: the producer already failed (the error that ended it).
        """
        if self._error is not None:
            raise self._error
        if self._closed:
            raise S2ClientError("the producer is closed")
        size = record_size(record)
        overflow = bool(self._records) and self._size + size > self._max_bytes
        if overflow:
            self._take()  # the open batch goes first; the record takes its place before any wait
        ticket = RecordSubmitTicket(loop=asyncio.get_running_loop())
        records = self._records
        ticket._index = len(records)
        records.append(record)
        self._tickets.append(ticket)
        self._size += size
        if len(records) >= self._max_records or self._size >= self._max_bytes:
            await self._send_batch()
        else:
            if len(records) == 1 and self._linger > 0:
                self._timer = asyncio.get_running_loop().call_later(
                    self._linger, self._lingered, self._generation
                )
            if overflow:
                await self._hand()
        return ticket

    async def flush(self) -> None:
        """Submit the partial batch and wait until every record submitted so far is acked."""
        if self._records:
            await self._send_batch()
        await self._settled()
        if self._error is not None:
            raise self._error

    async def _settled(self) -> None:
        """Wait until every batch sent so far is acknowledged or failed."""
        while self._flushes:
            await asyncio.wait(set(self._flushes))
        await self._hand()  # every batch taken reaches the session
        pending = [t for t in self._acks if not t.done()]
        if pending:
            await asyncio.wait(pending)

    async def close(self) -> None:
        """Close the producer and wait for all submitted records to be appended."""
        if self._closed:
            return
        try:
            await self.flush()
        finally:
            self._closed = True
            if self._timer is not None:
                self._timer.cancel()
            with contextlib.suppress(Exception):
                await self._session.close()
        if self._error is not None:
            raise self._error

    def _lingered(self, generation: int) -> None:
        if generation == self._generation and self._records:
            self._take()
            task = asyncio.ensure_future(self._hand_quietly())
            self._flushes.add(task)
            task.add_done_callback(self._flushes.discard)

    async def _hand_quietly(self) -> None:
        with contextlib.suppress(Exception):  # a failure reaches the records' tickets
            await self._hand()

    async def _send_batch(self) -> None:
        """Close the open batch and hand it to the session (after those taken before it)."""
        self._take()
        await self._hand()

    def _take(self) -> None:
        """Close the open batch: it joins the queue of batches for the session."""
        records, tickets, size = self._records, self._tickets, self._size
        self._records, self._tickets, self._size = [], [], 0
        self._generation += 1
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        inp = CheckedInput(records, self._match_seq_num, self._fencing_token, size=size)
        if self._match_seq_num is not None:
            self._match_seq_num += len(records)
        self._taken.append((inp, tickets))

    async def _hand(self) -> None:
        """Submit every taken batch to the session, oldest first.

        Batches are taken synchronously and submitted by whichever caller holds the lock, so
        their order is the order they were taken in, even when a caller waiting for the lock
        is cancelled.
        """
        async with self._sending:
            while self._taken:
                inp, tickets = self._taken.popleft()
                try:
                    ticket = await self._session.submit(inp)
                except Exception as e:
                    self._fail(tickets, e)
                    while self._taken:
                        self._fail(self._taken.popleft()[1], e)
                    raise
                self._acks.append(ticket)
                ticket.add_done_callback(functools.partial(self._resolve, tickets=tickets))
        while self._acks and self._acks[0].done():
            self._acks.popleft()

    def _resolve(self, done: asyncio.Future[AppendAck], tickets: list[RecordSubmitTicket]) -> None:
        if done.cancelled():
            self._fail(tickets, S2ClientError("the batch's acknowledgement was cancelled"))
            return
        error = done.exception()
        if error is not None:
            self._fail(tickets, error)
            return
        ack = done.result()
        for ticket in tickets:
            if not ticket.done():
                ticket.set_result(ack)  # type: ignore[arg-type]  # see RecordSubmitTicket

    def _fail(self, tickets: list[RecordSubmitTicket], error: BaseException) -> None:
        if self._error is None:
            self._error = error if isinstance(error, S2Error) else S2ClientError(str(error))
        for ticket in (*tickets, *self._tickets):
            if not ticket.done():
                ticket.set_exception(self._error)
                ticket.exception()  # retrieved: nobody may be waiting
