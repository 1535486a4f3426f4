"""Appends and reads for a few seconds with one attempt per call, while the test drains the
server: ``python rides_a_drain.py ENDPOINT BASIN``. Prints what was acknowledged and
what was read back; a drain that cost an attempt would fail the session instead."""

from __future__ import annotations

import asyncio
import json
import sys
import time
from datetime import timedelta

from s2_sdk import S2, AppendInput, Endpoints, Record, Retry, SeqNum

ENDPOINT, BASIN = sys.argv[1], sys.argv[2]


async def main() -> None:
    retry = Retry(max_attempts=1, min_base_delay=timedelta(0), max_base_delay=timedelta(0))
    async with S2("t", endpoints=Endpoints(ENDPOINT, ENDPOINT), retry=retry) as s2:
        await s2.create_basin(BASIN)
        await s2[BASIN].create_stream("s")
        stream = s2[BASIN]["s"]
        read: list[int] = []

        async def follow() -> None:
            async for batch in stream.read_session(start=SeqNum(0)):
                read.extend(int(r.body) for r in batch.records)

        follower = asyncio.create_task(follow())
        acks: list[int] = []
        async with stream.append_session() as session:
            print("ready", flush=True)
            deadline = time.monotonic() + 4
            i = 0
            while time.monotonic() < deadline:
                ticket = await session.submit(AppendInput([Record(b"%d" % i)]))
                acks.append((await ticket).start.seq_num)
                i += 1
                await asyncio.sleep(0.005)
        await asyncio.sleep(0.5)
        follower.cancel()
        tail = (await stream.check_tail()).seq_num
    print(json.dumps({"acks": acks, "read": read, "tail": tail}))


asyncio.run(main())
