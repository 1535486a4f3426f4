"""Drives a server with the published `s2-sdk` package (run in its own virtualenv).

Usage: python official_python.py ENDPOINT BASIN. Prints one JSON object with what
each scenario observed; the calling test asserts on it.
"""

import asyncio
import json
import sys

from s2_sdk import (
    S2,
    AppendInput,
    CommandRecord,
    Endpoints,
    FencingTokenMismatchError,
    ReadLimit,
    ReadUnwrittenError,
    Record,
    SeqNum,
    SeqNumMismatchError,
    TailOffset,
)


async def read_until_caught_up(stream, start) -> list[int]:
    """The sequence numbers read by the loop users write to read a stream's records up to
    its tail (0.13's is_caught_up); a server that never marks the end of them hangs it."""
    seen: list[int] = []
    async with stream.read_session(start=start) as session:
        while not session.is_caught_up():
            batch = await asyncio.wait_for(anext(session), 10)
            seen.extend(r.seq_num for r in batch.records)
    return seen


async def main(endpoint: str, basin_name: str) -> dict:
    out: dict = {}
    async with S2("ignored", endpoints=Endpoints(endpoint, endpoint)) as s2:
        info = await s2.create_basin(basin_name)
        out["basin"] = info.name
        basin = s2[basin_name]
        await basin.create_stream("interop/unary")
        stream = basin.stream("interop/unary")
        ack = await stream.append(
            AppendInput(records=[Record(body=b"a"), Record(body=b"b", headers=[(b"k", b"v")])])
        )
        out["unary_ack"] = [ack.start.seq_num, ack.end.seq_num]
        batch = await stream.read(start=SeqNum(0))
        out["unary_read"] = [
            [r.seq_num, r.body.decode(), [[h[0].decode(), h[1].decode()] for h in r.headers]]
            for r in batch.records
        ]
        tail = await stream.check_tail()
        out["tail"] = tail.seq_num
        try:
            await stream.read(start=SeqNum(10))
        except ReadUnwrittenError as e:
            out["unwritten_tail"] = e.tail.seq_num
        try:
            await stream.append(AppendInput(records=[Record(body=b"x")], match_seq_num=0))
        except SeqNumMismatchError as e:
            out["seq_mismatch"] = e.expected_seq_num
        await stream.append(AppendInput(records=[CommandRecord.fence("owner-1")]))
        try:
            await stream.append(AppendInput(records=[Record(body=b"x")], fencing_token="other"))
        except FencingTokenMismatchError as e:
            out["fence_mismatch"] = e.expected_fencing_token

        await basin.create_stream("interop/session")
        sstream = basin.stream("interop/session")
        async with sstream.append_session() as session:
            tickets = [
                await session.submit(
                    AppendInput(records=[Record(body=f"s{i}".encode()) for _ in range(i + 1)])
                )
                for i in range(5)
            ]
            acks = [await t for t in tickets]
        out["session_acks"] = [[a.start.seq_num, a.end.seq_num] for a in acks]

        received: list[str] = []

        async def tail_live() -> None:
            async for b in sstream.read_session(start=TailOffset(0)):
                received.extend(r.body.decode() for r in b.records)
                if len(received) >= 3:
                    return

        reader = asyncio.create_task(tail_live())
        await asyncio.sleep(0.5)
        async with sstream.producer() as producer:
            ts = [await producer.submit(Record(body=f"live{i}".encode())) for i in range(3)]
            out["producer_seq"] = [(await t).seq_num for t in ts]
        await asyncio.wait_for(reader, 10)
        out["live"] = received

        caught = []
        async for b in sstream.read_session(start=SeqNum(0), limit=ReadLimit(count=15)):
            caught.extend(r.seq_num for r in b.records)
        out["catchup"] = caught
        try:
            async for _ in sstream.read_session(start=SeqNum(1000)):
                pass
        except ReadUnwrittenError as e:
            out["session_unwritten"] = e.tail.seq_num
        out["caught_up"] = await read_until_caught_up(sstream, SeqNum(0))
        out["caught_up_from_tail"] = await read_until_caught_up(sstream, TailOffset(3))
        page = await basin.list_streams(prefix="interop/")
        out["streams"] = [s.name for s in page.items]
        await basin.delete_stream("interop/unary")
    return out


if __name__ == "__main__":
    print(json.dumps(asyncio.run(main(sys.argv[1], sys.argv[2]))))
