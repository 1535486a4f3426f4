"""Patterns benchmark: typed messages through ``s2_sdk.patterns`` against plain Producer and
read-session use of the same bytes, in the same run.

Usage: ``hatch run bench-patterns [--scale 1.0] [--rounds 3]``. An in-memory s2-local runs
in a child process; this process is the client, and its CPU (``process_time``) is what is
measured. For 1 KiB and 1 MiB messages: writing them (a Producer's records, against a
``SerializingAppendSession`` over a Producer, messages pipelined with ``write``) and reading
them back (a read session's records, against a ``DeserializingReadSession``). Prints client
CPU per message (medians of rounds), and the ratio patterns / plain: the median of the
rounds' ratios, each taken between two measurements made back to back, so that the machine's
speed drifting between rounds (it does, on a shared machine) cancels out; which of the two
goes first alternates by round.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
import uuid

from s2_local.server import ServerProcess
from s2_sdk import S2, Endpoints, ReadLimit, Record, S2Stream, SeqNum
from s2_sdk.patterns import DeserializingReadSession, SerializingAppendSession, chunk_bytes

SIZES = {"1 KiB": (1024, 60_000), "1 MiB": (1024 * 1024, 300)}


def _identity(payload: bytes) -> bytes:
    return payload


async def plain_write(stream: S2Stream, messages: list[bytes]) -> None:
    """The same bytes as plain records (a 1 MiB message in the chunks a record can hold)."""
    async with stream.producer() as producer:
        tickets = [
            await producer.submit(Record(body=chunk)) for m in messages for chunk in chunk_bytes(m)
        ]
        await tickets[-1]


async def patterns_write(stream: S2Stream, messages: list[bytes]) -> None:
    async with stream.producer() as producer:
        writer = SerializingAppendSession(producer, _identity)
        tickets = [await writer.write(m) for m in messages]
        await tickets[-1]


async def plain_read(stream: S2Stream, count: int) -> int:
    """The records' bodies (what a reader of plain records takes from each)."""
    got = 0
    limit = ReadLimit(count=count)
    async for batch in stream.read_session(start=SeqNum(0), limit=limit):
        for record in batch.records:
            _identity(record.body)
            got += 1
    return got


async def patterns_read(stream: S2Stream, count: int) -> int:
    session = stream.read_session(start=SeqNum(0), limit=ReadLimit(count=count))
    got = 0
    async with DeserializingReadSession(session, _identity) as reader:
        async for _ in reader:
            got += 1
    return got


async def one_round(endpoint: str, scale: float, patterns_first: bool) -> dict[str, float]:
    """CPU µs per message of each workload (which kind goes first alternates by round)."""
    out: dict[str, float] = {}
    async with S2("bench", endpoints=Endpoints(endpoint, endpoint)) as s2:
        basin = f"bench-{uuid.uuid4().hex[:10]}"
        await s2.create_basin(basin)
        for label, (size, count) in SIZES.items():
            n = max(1, int(count * scale))
            messages = [bytes([i % 251]) * size for i in range(n)]
            kinds = [
                ("plain", plain_write, plain_read),
                ("patterns", patterns_write, patterns_read),
            ]
            for kind, write, read in reversed(kinds) if patterns_first else kinds:
                name = f"{kind}-{label.replace(' ', '')}"
                await s2[basin].create_stream(name)
                stream = s2[basin][name]
                cpu = time.process_time()
                await write(stream, messages)
                out[f"write {label} {kind}"] = (time.process_time() - cpu) / n * 1e6
                records = (await stream.check_tail()).seq_num
                cpu = time.process_time()
                got = await read(stream, records)
                out[f"read {label} {kind}"] = (time.process_time() - cpu) / n * 1e6
                assert got in (n, records), (got, n, records)
        await s2.delete_basin(basin)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    rounds = []
    with ServerProcess() as server:
        for i in range(args.rounds):
            rounds.append(asyncio.run(one_round(server.endpoint, args.scale, i % 2 == 1)))
    median = {k: statistics.median(r[k] for r in rounds) for k in rounds[0]}
    print(f"client CPU µs per message, medians of {args.rounds} rounds; the ratio is the median")
    print("of each round's patterns / plain (measured back to back), its range beside it")
    print(f"{'workload':<16}{'plain':>10}{'patterns':>10}{'ratio':>8}{'range':>13}  target")
    for op in ("write", "read"):
        for label, target in (("1 KiB", 1.5), ("1 MiB", 1.1)):
            key = f"{op} {label}"
            ratios = [r[f"{key} patterns"] / r[f"{key} plain"] for r in rounds]
            spread = f"{min(ratios):.2f}-{max(ratios):.2f}"
            print(f"{key:<16}{median[f'{key} plain']:>10.1f}{median[f'{key} patterns']:>10.1f}"
                  f"{statistics.median(ratios):>8.2f}{spread:>13}  <= {target}")  # fmt: skip


if __name__ == "__main__":
    main()
