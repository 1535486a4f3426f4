"""Client workloads, written against the documented `s2_sdk` API only.

Runs unchanged on s2-core and on the published `s2-sdk` (same import name), so
`client.py` can run it in both environments against one server and compare.
Usage: python workloads.py ENDPOINT BASIN SCALE [WORKLOAD ...] → one JSON object on
stdout (default: every workload but ``read_floor``).
"""

import asyncio
import json
import statistics
import sys
import time

from s2_sdk import (
    S2,
    AppendInput,
    Endpoints,
    ReadLimit,
    Record,
    SeqNum,
)


def _pct(values, q):
    values = sorted(values)
    return values[min(len(values) - 1, int(q * len(values)))]


async def producer(s2, basin, n):
    """Submit n records, then await the last ticket."""
    stream = s2[basin]["producer"]
    body = b"p" * 128
    cpu, start = time.process_time(), time.perf_counter()
    async with stream.producer() as p:
        tickets = [await p.submit(Record(body=body)) for _ in range(n)]
        last = await tickets[-1]
    elapsed, cpu = time.perf_counter() - start, time.process_time() - cpu
    assert last.seq_num == n - 1, last
    return {"records": n, "seconds": elapsed, "cpu": cpu, "bytes": n * 128}


async def producer_gather(s2, basin, n):
    """Submit n records, then asyncio.gather every ticket while the producer runs."""
    stream = s2[basin]["gather"]
    body = b"g" * 128
    cpu, start = time.process_time(), time.perf_counter()
    async with stream.producer() as p:
        tickets = [await p.submit(Record(body=body)) for _ in range(n)]
        acks = await asyncio.gather(*tickets)
    elapsed, cpu = time.perf_counter() - start, time.process_time() - cpu
    assert acks[-1].seq_num == n - 1, acks[-1]
    return {"records": n, "seconds": elapsed, "cpu": cpu, "bytes": n * 128}


async def session(s2, basin, batches):
    stream = s2[basin]["session"]
    records = [Record(body=b"s" * 1024) for _ in range(1000)]
    cpu, start = time.process_time(), time.perf_counter()
    async with stream.append_session() as sess:
        tickets = [await sess.submit(AppendInput(records=records)) for _ in range(batches)]
        acks = [await t for t in tickets]
    elapsed, cpu = time.perf_counter() - start, time.process_time() - cpu
    assert acks[-1].end.seq_num == batches * 1000
    n = batches * 1000
    return {"records": n, "seconds": elapsed, "cpu": cpu, "bytes": n * 1024}


async def catch_up(s2, basin, n):
    stream = s2[basin]["producer"]
    cpu, start = time.process_time(), time.perf_counter()
    got = 0
    async for batch in stream.read_session(start=SeqNum(0), limit=ReadLimit(count=n)):
        got += len(batch.records)
    elapsed, cpu = time.perf_counter() - start, time.process_time() - cpu
    assert got == n, got
    return {"records": n, "seconds": elapsed, "cpu": cpu, "bytes": n * 128}


async def unary(s2, basin, n):
    stream = s2[basin]["unary"]
    appends, reads = [], []
    for i in range(n):
        t = time.perf_counter()
        await stream.append(AppendInput(records=[Record(body=b"u" * 100)]))
        appends.append(time.perf_counter() - t)
        t = time.perf_counter()
        await stream.read(start=SeqNum(i), limit=ReadLimit(count=1))
        reads.append(time.perf_counter() - t)
    ms = 1000
    return {
        "append_p50_ms": _pct(appends, 0.5) * ms,
        "append_p99_ms": _pct(appends, 0.99) * ms,
        "read_p50_ms": _pct(reads, 0.5) * ms,
        "read_p99_ms": _pct(reads, 0.99) * ms,
        "append_mean_ms": statistics.fmean(appends) * ms,
    }


async def read_floor(s2, basin, n):
    """Latency of reading a one-record stream from its start (what a Celery ``get()`` of a
    finished task asks S2 for)."""
    stream = s2[basin]["floor"]
    await stream.append(AppendInput(records=[Record(body=b"{}")]))
    reads = []
    for _ in range(n):
        t = time.perf_counter()
        batch = await stream.read(start=SeqNum(0), clamp_to_tail=True)
        reads.append(time.perf_counter() - t)
        assert len(batch.records) == 1
    return {"p50_ms": _pct(reads, 0.5) * 1000, "p99_ms": _pct(reads, 0.99) * 1000}


WORKLOADS = {
    "producer": (producer, 100_000),
    "producer_gather": (producer_gather, 100_000),
    "session": (session, 100),
    "catch_up": (catch_up, 100_000),
    "unary": (unary, 500),
    "read_floor": (read_floor, 500),
}
"""Each workload, with its size at scale 1 (catch_up reads what producer wrote)."""


async def main(endpoint, basin, scale, names):
    out = {}
    async with S2("bench", endpoints=Endpoints(endpoint, endpoint)) as s2:
        await s2.create_basin(basin)
        for name in ("producer", "gather", "session", "unary", "floor"):
            await s2[basin].create_stream(name)
        for name in names:
            workload, size = WORKLOADS[name]
            out[name] = await workload(s2, basin, max(1, int(size * scale)))
        await s2.delete_basin(basin)
    return out


if __name__ == "__main__":
    chosen = sys.argv[4:] or [name for name in WORKLOADS if name != "read_floor"]
    print(json.dumps(asyncio.run(main(sys.argv[1], sys.argv[2], float(sys.argv[3]), chosen))))
