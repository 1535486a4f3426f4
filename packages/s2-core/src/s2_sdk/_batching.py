"""Grouping records into batches by count, metered bytes and linger time."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterable, AsyncIterator, Iterable, Iterator

from s2_sdk._options import Batching
from s2_sdk._records import AppendInput, Record
from s2_sdk.protocol import metered_size

__all__ = ["Batcher", "append_inputs", "append_record_batches", "record_batches"]


class Batcher:
    """Records gathered into batches of at most ``max_records`` and ``max_bytes`` metered.

    A record that would push the batch past ``max_bytes`` starts the next one; a batch
    is complete as soon as it holds ``max_records`` or ``max_bytes``.
    """

    __slots__ = ("batch", "max_bytes", "max_records", "size")

    def __init__(self, batching: Batching) -> None:
        self.max_records = batching.max_records
        self.max_bytes = batching.max_bytes
        self.batch: list[Record] = []
        self.size = 0

    def add(self, record: Record) -> Iterator[list[Record]]:
        """Add a record; yields the batches it completed (none, one or two)."""
        size = metered_size(record.headers, record.body)
        if self.batch and self.size + size > self.max_bytes:
            yield self.take()
        self.batch.append(record)
        self.size += size
        if len(self.batch) >= self.max_records or self.size >= self.max_bytes:
            yield self.take()

    def take(self) -> list[Record]:
        """The batch so far (possibly empty); the next starts empty."""
        batch, self.batch, self.size = self.batch, [], 0
        return batch


def record_batches(
    records: Iterable[Record], *, batching: Batching | None = None
) -> Iterator[list[Record]]:
    """Split records into batches by count and metered bytes (``batching``'s limits;
    its linger does not apply). The blocking counterpart of :func:`append_record_batches`."""
    batcher = Batcher(batching or Batching())
    for record in records:
        yield from batcher.add(record)
    if batcher.batch:
        yield batcher.take()


async def append_record_batches(
    records: AsyncIterable[Record], *, batching: Batching | None = None
) -> AsyncIterator[list[Record]]:
    """Group records into batches based on count, bytes, and linger time.

    A batch is emitted when it holds ``max_records`` records, when the next record
    would push it past ``max_bytes``, or ``linger`` after its first record arrived.
    The source iterator is never interrupted by the linger timer.

    Note:
        Records already pulled from ``records`` but not yet yielded are lost if the
        source raises or this generator is closed early.
    """
    batching = batching or Batching()
    linger = batching.linger.total_seconds()
    source = aiter(records)
    loop = asyncio.get_running_loop()
    batcher = Batcher(batching)
    deadline = 0.0
    pending: asyncio.Future[Record] | None = None
    try:
        while True:
            if pending is None:
                pending = asyncio.ensure_future(anext(source))
            timeout = max(deadline - loop.time(), 0.0) if batcher.batch and linger > 0 else None
            done, _ = await asyncio.wait({pending}, timeout=timeout)
            if not done:
                yield batcher.take()
                continue
            try:
                record = pending.result()
            except StopAsyncIteration:
                if batcher.batch:
                    yield batcher.take()
                return
            finally:
                pending = None
            for full in batcher.add(record):
                yield full
            if len(batcher.batch) == 1:
                deadline = loop.time() + linger
    finally:
        if pending is not None:
            pending.cancel()
            with contextlib.suppress(asyncio.CancelledError, StopAsyncIteration):
                await pending


async def append_inputs(
    records: AsyncIterable[Record],
    *,
    match_seq_num: int | None = None,
    fencing_token: str | None = None,
    batching: Batching | None = None,
) -> AsyncIterator[AppendInput]:
    """Group records into :class:`AppendInput` batches based on count, bytes, and linger time.

    If ``match_seq_num`` is set, it applies to the first input and is auto-incremented
    for subsequent ones.
    """
    async for batch in append_record_batches(records, batching=batching):
        yield AppendInput(batch, match_seq_num=match_seq_num, fencing_token=fencing_token)
        if match_seq_num is not None:
            match_seq_num += len(batch)
