"""Pipelined appends through an append session, tailed live by a read session."""

import asyncio
import os

from s2_sdk import S2, AppendInput, Endpoints, Record, SeqNum

BASIN = os.environ.get("S2_EXAMPLE_BASIN", "python-examples")
BATCHES = 50


async def main() -> None:
    async with S2(os.environ["S2_ACCESS_TOKEN"], endpoints=Endpoints.from_env()) as s2:
        await s2.ensure_basin(BASIN)
        await s2[BASIN].ensure_stream("sensor")
        stream = s2[BASIN]["sensor"]
        start = (await stream.check_tail()).seq_num

        async def tail() -> list[bytes]:
            seen: list[bytes] = []
            async with stream.read_session(start=SeqNum(start)) as session:
                async for batch in session:  # follows live appends
                    seen.extend(r.body for r in batch.records)
                    if len(seen) == BATCHES * 10:
                        return seen
            return seen

        reader = asyncio.create_task(tail())
        async with stream.append_session(max_unacked_batches=8) as session:
            tickets = [
                await session.submit(
                    AppendInput(records=[Record(body=f"{b}.{i}".encode()) for i in range(10)])
                )
                for b in range(BATCHES)
            ]
            acks = [await ticket for ticket in tickets]  # acknowledged in order
        print(f"{len(acks)} batches acknowledged, last at #{acks[-1].end.seq_num - 1}")

        seen = await asyncio.wait_for(reader, timeout=30)
        print(f"tailed {len(seen)} records live")
        assert seen == [f"{b}.{i}".encode() for b in range(BATCHES) for i in range(10)]


asyncio.run(main())
