"""Unary appends (with headers, timestamps and conditions) and reads from any position."""

import asyncio
import os

from s2_sdk import (
    S2,
    AppendInput,
    Endpoints,
    ReadLimit,
    Record,
    SeqNum,
    SeqNumMismatchError,
    TailOffset,
    Timestamp,
)

BASIN = os.environ.get("S2_EXAMPLE_BASIN", "python-examples")


async def main() -> None:
    async with S2(os.environ["S2_ACCESS_TOKEN"], endpoints=Endpoints.from_env()) as s2:
        await s2.ensure_basin(BASIN)
        await s2[BASIN].ensure_stream("orders")
        stream = s2[BASIN]["orders"]

        tail = await stream.check_tail()
        ack = await stream.append(
            AppendInput(
                records=[
                    Record(body=f"order {i}".encode(), headers=[(b"kind", b"order")])
                    for i in range(10)
                ],
                match_seq_num=tail.seq_num,  # only if nobody appended in between
            )
        )
        print(f"appended #{ack.start.seq_num}..#{ack.end.seq_num - 1}")

        batch = await stream.read(start=SeqNum(ack.start.seq_num), limit=ReadLimit(count=3))
        print("first three:", [r.body for r in batch.records])
        assert [r.body for r in batch.records] == [b"order 0", b"order 1", b"order 2"]

        last_two = await stream.read(start=TailOffset(2))
        assert [r.body for r in last_two.records] == [b"order 8", b"order 9"]

        since = await stream.read(start=Timestamp(ack.start.timestamp), limit=ReadLimit(count=1))
        assert since.records[0].seq_num == ack.start.seq_num

        try:  # a stale condition is refused and names the real tail
            await stream.append(AppendInput(records=[Record(body=b"late")], match_seq_num=0))
        except SeqNumMismatchError as e:
            print("conditional append refused; tail is", e.expected_seq_num)
            assert e.expected_seq_num == ack.end.seq_num


asyncio.run(main())
