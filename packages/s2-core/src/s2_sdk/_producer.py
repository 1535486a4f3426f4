"""The Producer: per-record submit over an append session, with auto-batching."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Generator
from types import TracebackType
from typing import Any

from s2_sdk._append_session import AppendSession, BatchSubmitTicket
from s2_sdk._exceptions import S2ClientError, fallible
from s2_sdk._options import Batching
from s2_sdk._records import AppendInput, IndexedAppendAck, Record
from s2_sdk._validate import check_batching, check_fencing_token, check_u64, record_size
from s2_sdk.protocol import MAX_RECORD_METERED_BYTES

__all__ = ["Producer", "RecordSubmitTicket"]


class RecordSubmitTicket:
    """Awaitable that resolves to an :class:`IndexedAppendAck` once the record is appended."""

    __slots__ = ("_future",)

    def __init__(self, future: asyncio.Future[IndexedAppendAck]) -> None:
        self._future = future

    def __await__(self) -> Generator[Any, None, IndexedAppendAck]:
        if self._future.done():
            return self._future.__await__()
        return asyncio.shield(self._future).__await__()

    def done(self) -> bool:
        """Whether the record was acknowledged or failed."""
        return self._future.done()


@fallible(skip=("submit",))
class Producer:
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
        self._batching = batching
        self._fencing_token = fencing_token
        self._match_seq_num = match_seq_num
        self._records: list[Record] = []
        self._futures: list[asyncio.Future[IndexedAppendAck]] = []
        self._size = 0
        self._generation = 0
        self._lock = asyncio.Lock()
        self._linger: asyncio.Task[None] | None = None
        self._acks: set[asyncio.Task[None]] = set()
        self._error: BaseException | None = None
        self._closed = False

    async def __aenter__(self) -> Producer:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    async def submit(self, record: Record) -> RecordSubmitTicket:
        """Submit a record for appending; waits when backpressure limits are reached.

        Raises:
            S2ClientError: the record is invalid, or the producer is closed.
            S2Error: the producer already failed (the error that ended it).
        """
        if self._error is not None:
            raise self._error
        if self._closed:
            raise S2ClientError("the producer is closed")
        size = record_size(record)
        if size > MAX_RECORD_METERED_BYTES:
            raise S2ClientError(f"record of {size} metered bytes exceeds 1 MiB")
        future: asyncio.Future[IndexedAppendAck] = asyncio.get_running_loop().create_future()
        batching = self._batching
        async with self._lock:
            if self._records and self._size + size > batching.max_bytes:
                await self._flush_batch()
            self._records.append(record)
            self._futures.append(future)
            self._size += size
            if len(self._records) >= batching.max_records or self._size >= batching.max_bytes:
                await self._flush_batch()
            elif len(self._records) == 1 and batching.linger.total_seconds() > 0:
                self._linger = asyncio.create_task(self._linger_flush(self._generation))
        return RecordSubmitTicket(future)

    async def flush(self) -> None:
        """Submit the partial batch and wait until every record submitted so far is acked."""
        async with self._lock:
            if self._records:
                await self._flush_batch()
        if self._acks:
            await asyncio.gather(*self._acks, return_exceptions=True)
        if self._error is not None:
            raise self._error

    async def close(self) -> None:
        """Close the producer and wait for all submitted records to be appended."""
        if self._closed:
            return
        try:
            await self.flush()
        finally:
            self._closed = True
            if self._linger is not None:
                self._linger.cancel()
            with contextlib.suppress(Exception):
                await self._session.close()
        if self._error is not None:
            raise self._error

    async def _linger_flush(self, generation: int) -> None:
        await asyncio.sleep(self._batching.linger.total_seconds())
        async with self._lock:
            if generation == self._generation and self._records:
                with contextlib.suppress(Exception):
                    await self._flush_batch()

    async def _flush_batch(self) -> None:
        records, futures = self._records, self._futures
        self._records, self._futures, self._size = [], [], 0
        self._generation += 1
        if self._linger is not None and self._linger is not asyncio.current_task():
            self._linger.cancel()
        self._linger = None
        inp = AppendInput(records, self._match_seq_num, self._fencing_token)
        if self._match_seq_num is not None:
            self._match_seq_num += len(records)
        try:
            ticket = await self._session.submit(inp)
        except Exception as e:
            self._fail(futures, e)
            raise
        task = asyncio.create_task(self._resolve(ticket, futures))
        self._acks.add(task)
        task.add_done_callback(self._acks.discard)

    async def _resolve(
        self, ticket: BatchSubmitTicket, futures: list[asyncio.Future[IndexedAppendAck]]
    ) -> None:
        try:
            ack = await ticket
        except Exception as e:
            self._fail(futures, e)
            return
        start = ack.start.seq_num
        for i, future in enumerate(futures):
            if not future.done():
                future.set_result(IndexedAppendAck(start + i, ack))

    def _fail(self, futures: list[asyncio.Future[IndexedAppendAck]], error: BaseException) -> None:
        if self._error is None:
            self._error = error
        for future in (*futures, *self._futures):
            if not future.done():
                future.set_exception(error)
                future.exception()
