"""Per-record submits, batched automatically by a Producer."""

import asyncio
import os
from datetime import timedelta

from s2_sdk import S2, Batching, Endpoints, Record

BASIN = os.environ.get("S2_EXAMPLE_BASIN", "python-examples")


async def main() -> None:
    async with S2(os.environ["S2_ACCESS_TOKEN"], endpoints=Endpoints.from_env()) as s2:
        await s2.ensure_basin(BASIN)
        await s2[BASIN].ensure_stream("clicks")
        stream = s2[BASIN]["clicks"]

        batching = Batching(max_records=500, linger=timedelta(milliseconds=2))
        async with stream.producer(batching=batching) as producer:
            tickets = [
                await producer.submit(Record(body=f"click {i}".encode())) for i in range(5000)
            ]
            acks = [await ticket for ticket in tickets]  # one seq_num per record
        # closing the producer flushed everything: every record has its own position
        seq_nums = [ack.seq_num for ack in acks]
        assert seq_nums == list(range(seq_nums[0], seq_nums[0] + 5000))
        print(f"5000 records at #{seq_nums[0]}..#{seq_nums[-1]}")


asyncio.run(main())
