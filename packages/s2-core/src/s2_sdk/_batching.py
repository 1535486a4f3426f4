"""Grouping records into batches by count, metered bytes and linger time."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterable, AsyncIterator

from s2_sdk._options import Batching
from s2_sdk._records import AppendInput, Record, metered_bytes

__all__ = ["append_inputs", "append_record_batches"]


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
    batch: list[Record] = []
    size = 0
    deadline = 0.0
    pending: asyncio.Future[Record] | None = None
    try:
        while True:
            if pending is None:
                pending = asyncio.ensure_future(anext(source))
            timeout = max(deadline - loop.time(), 0.0) if batch and linger > 0 else None
            done, _ = await asyncio.wait({pending}, timeout=timeout)
            if not done:
                yield batch
                batch, size = [], 0
                continue
            try:
                record = pending.result()
            except StopAsyncIteration:
                if batch:
                    yield batch
                return
            finally:
                pending = None
            record_size = metered_bytes([record])
            if batch and size + record_size > batching.max_bytes:
                yield batch
                batch, size = [], 0
            batch.append(record)
            size += record_size
            if len(batch) == 1:
                deadline = loop.time() + linger
            if len(batch) >= batching.max_records or size >= batching.max_bytes:
                yield batch
                batch, size = [], 0
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
