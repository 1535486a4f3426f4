"""A user program written for the API reference (the published `s2-sdk` 0.8).

Code of that era names storage classes with the ``StorageClass`` enum, mutates the
config objects it reads back, and knows only the reference's errors (see ``harness`` for
how it runs).
"""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

from harness import BASIN, client, error, plain, run, step
from s2_sdk import (
    AppendInput,
    AppendRetryPolicy,
    BasinConfig,
    Batching,
    Compression,
    EnsureStatus,
    ReadLimit,
    ReadUnwrittenError,
    Record,
    Retry,
    S2ClientError,
    S2ServerError,
    SeqNum,
    SeqNumMismatchError,
    StorageClass,
    StreamConfig,
    TailOffset,
    Timeout,
    Timestamping,
    TimestampingMode,
    metered_bytes,
)


@step
async def storage_class_enum() -> Any:
    return [StorageClass.EXPRESS.value, StorageClass("standard").name, len(list(StorageClass))]


@step
async def create_with_enum_storage_class() -> Any:
    async with client(retry=Retry(max_attempts=2), timeout=Timeout(timedelta(seconds=4))) as s2:
        await s2.create_basin(
            BASIN,
            config=BasinConfig(
                default_stream_config=StreamConfig(storage_class=StorageClass.STANDARD)
            ),
        )
        basin = s2[BASIN]
        await basin.create_stream(
            "typed",
            config=StreamConfig(
                storage_class=StorageClass.EXPRESS,
                retention_policy=86400,
                timestamping=Timestamping(mode=TimestampingMode.CLIENT_REQUIRE),
            ),
        )
        config = await basin.get_stream_config("typed")
        basin_config = await s2.get_basin_config(BASIN)
        default = basin_config.default_stream_config
        return [
            config.storage_class is StorageClass.EXPRESS,
            config.storage_class == StorageClass.EXPRESS,
            getattr(config.storage_class, "value", None),
            default is not None and default.storage_class is StorageClass.STANDARD,
            plain(config.timestamping),
        ]


@step
async def mutate_config_and_reconfigure() -> Any:
    async with client() as s2:
        basin = s2[BASIN]
        config = await basin.get_stream_config("typed")
        config.storage_class = StorageClass.STANDARD
        config.retention_policy = "infinite"
        updated = await basin.reconfigure_stream("typed", config=config)
        ensured = await basin.ensure_stream("typed", config=updated)
        return [plain(updated), ensured.status is EnsureStatus.CONFIG_UNCHANGED]


@step
async def timestamps_required() -> Any:
    async with client() as s2:
        stream = s2[BASIN]["typed"]
        try:
            await stream.append(AppendInput([Record(b"no timestamp")]))
            missing = "accepted"
        except S2ServerError as e:
            missing = error(e)
        ack = await stream.append(AppendInput([Record(b"t", timestamp=1000)]))
        return [missing, [ack.start.seq_num, ack.start.timestamp]]


@step
async def compressed_session_and_producer() -> Any:
    retry = Retry(append_retry_policy=AppendRetryPolicy.NO_SIDE_EFFECTS)
    async with client(compression=Compression.GZIP, retry=retry) as s2:
        basin = s2[BASIN]
        await basin.create_stream("zipped")
        stream = basin["zipped"]
        big = b"z" * 4000
        async with stream.append_session() as session:
            ticket = await session.submit(AppendInput([Record(big), Record(big)]))
            ack = await ticket
        async with stream.producer(batching=Batching(linger=timedelta(0))) as producer:
            tickets = [await producer.submit(Record(big)) for _ in range(3)]
        seqs = [(await t).seq_num for t in tickets]
        batch = await stream.read(start=SeqNum(0), limit=ReadLimit(count=10))
        return [
            [ack.start.seq_num, ack.end.seq_num],
            seqs,
            [len(r.body) for r in batch.records],
            metered_bytes(batch.records),
        ]


@step
async def match_seq_num_producer() -> Any:
    async with client() as s2:
        stream = s2[BASIN]["zipped"]
        try:
            async with stream.producer(match_seq_num=0) as producer:
                await (await producer.submit(Record(b"late")))
        except SeqNumMismatchError as e:
            return error(e)
        return "accepted"


@step
async def read_session_ends_at_limit() -> Any:
    async with client() as s2:
        stream = s2[BASIN]["zipped"]
        seqs = []
        async for batch in stream.read_session(start=TailOffset(4), limit=ReadLimit(count=3)):
            seqs.extend(r.seq_num for r in batch.records)
        return seqs


@step
async def unwritten_and_invalid() -> Any:
    async with client() as s2:
        out = []
        try:
            await s2[BASIN]["zipped"].read(start=SeqNum(50))
        except ReadUnwrittenError as e:
            out.append(error(e))
        try:
            await s2[BASIN]["zipped"].append(AppendInput([]))
        except S2ClientError as e:
            out.append(type(e).__name__)
        return out


@step
async def cleanup() -> Any:
    async with client() as s2:
        await s2.delete_basin(BASIN)
        await asyncio.sleep(0)
        return True


run()
