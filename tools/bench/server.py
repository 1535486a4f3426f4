"""Server benchmark: s2-local on its own HTTP layer against the same app on plain hypercorn
0.18 (the reference), and the bare transport on both.

Usage: ``hatch run bench-server [--records 1000000] [--rounds 3]``. Each server runs in its
own process; one client (s2-core) drives them in turn, in alternating rounds, and each figure
is the median of its rounds. Servers: s2-local in memory on its own layer (on uvloop, as
``s2-local serve`` runs where uvloop is installed, and on asyncio's loop), the same app on
hypercorn (asyncio's loop), a bare app that speaks the protocol but stores nothing
(``baseline_app.py``) on each layer, and s2-local with ``--data-dir``.

Prints, per server: server CPU µs per unary request (``check_tail`` from 8 concurrent
callers), server CPU µs per appended 100-byte record (1000-record session batches),
records/s, append MiB/s with 1 KiB records, read catch-up MiB/s (raw frames, so the client's
record decoding does not cap them), unary append p50/p99, and resident memory holding N
stored 100-byte records; then the ratios of s2-local to its app on hypercorn.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

from s2_local.server import ServerProcess
from s2_sdk import S2, AppendInput, Endpoints, Record

UNARY_REQUESTS = 4000
UNARY_CALLERS = 8


def rss_mib(pid: int) -> float:
    """Resident memory of a process, in MiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def cpu_seconds(pid: int) -> float:
    """User + system CPU time a process has used so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def pct(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(q * len(values)))]


async def read_raw(endpoint: str, basin: str, stream: str, count: int) -> float:
    """Catch-up read of ``count`` records as raw S2S frames (no per-record decoding)."""
    import httpx

    params = {"seq_num": "0", "count": str(count)}
    headers = {"content-type": "s2s/proto", "s2-basin": basin, "accept-encoding": "identity"}
    size = 0
    async with httpx.AsyncClient(http1=False, http2=True, timeout=60) as client:
        start = time.perf_counter()
        path = f"{endpoint}/v1/streams/{stream}/records"
        async with client.stream("GET", path, params=params, headers=headers) as resp:
            async for chunk in resp.aiter_raw():
                size += len(chunk)
        return size / (time.perf_counter() - start) / 2**20


async def measure(endpoint: str, records: int, real: bool, pid: int) -> dict[str, float]:
    basin = f"bench-{uuid.uuid4().hex[:10]}"
    out: dict[str, float] = {}
    async with S2("bench", endpoints=Endpoints(endpoint, endpoint)) as s2:
        if real:
            await s2.create_basin(basin)
            for name in ("big", "small", "unary"):
                await s2[basin].create_stream(name)
        b = s2[basin]

        async def session(stream: str, body: bytes, batches: int) -> float:
            recs = [Record(body=body)] * 1000
            start = time.perf_counter()
            async with b[stream].append_session(max_unacked_bytes=16 * 2**20) as sess:
                tickets = [await sess.submit(AppendInput(records=recs)) for _ in range(batches)]
                await tickets[-1]
            return time.perf_counter() - start

        async def callers(n: int) -> None:
            for _ in range(n):
                await b["unary"].check_tail()

        await asyncio.gather(*(callers(50) for _ in range(UNARY_CALLERS)))  # warm up
        cpu = cpu_seconds(pid)
        each = UNARY_REQUESTS // UNARY_CALLERS
        await asyncio.gather(*(callers(each) for _ in range(UNARY_CALLERS)))
        out["unary_us"] = (cpu_seconds(pid) - cpu) / UNARY_REQUESTS * 1e6
        cpu = cpu_seconds(pid)
        elapsed = await session("small", b"s" * 100, records // 1000)
        out["cpu_us"] = (cpu_seconds(pid) - cpu) / records * 1e6
        out["records_s"] = records / elapsed
        out["rss"] = rss_mib(pid)
        elapsed = await session("big", b"k" * 1024, 100)
        out["append_mib_s"] = 100 * 1000 * 1024 / elapsed / 2**20
        out["read_mib_s"] = await read_raw(endpoint, basin, "big", 100_000)
        lat = []
        for _ in range(500):
            t = time.perf_counter()
            await b["unary"].append(AppendInput(records=[Record(body=b"u" * 100)]))
            lat.append((time.perf_counter() - t) * 1000)
        out["p50_ms"], out["p99_ms"] = pct(lat, 0.5), pct(lat, 0.99)
    return out


def run_app(records: int, which: str, layer: str) -> tuple[dict[str, float], float]:
    """An app (``s2`` or ``bare``) on a layer (``own`` or ``hypercorn``), measured."""
    here = Path(__file__).with_name("serve_app.py")
    proc = subprocess.Popen(
        [sys.executable, str(here), which, layer], stdout=subprocess.PIPE, text=True
    )
    try:
        assert proc.stdout is not None
        endpoint = proc.stdout.readline().strip()
        time.sleep(0.5)
        idle = rss_mib(proc.pid)
        return asyncio.run(measure(endpoint, records, which == "s2", proc.pid)), idle
    finally:
        proc.terminate()
        proc.wait()
        if proc.stdout:
            proc.stdout.close()


def run_local(
    records: int, data_dir: str | None, loop: str = "auto"
) -> tuple[dict[str, float], float]:
    """``s2-local serve`` (in memory, or durable in ``data_dir``) on ``loop``, measured."""
    with ServerProcess(data_dir=data_dir, args=["--loop", loop]) as server:
        assert server.pid is not None
        idle = rss_mib(server.pid)
        return asyncio.run(measure(server.endpoint, records, True, server.pid)), idle


def median_of(runs: list[dict[str, float]]) -> dict[str, float]:
    """Each figure's median over the rounds."""
    return {k: statistics.median(r[k] for r in runs) for k in runs[0]}


SERVERS = {
    "local": "s2-local in memory",
    "local-asyncio": "s2-local, asyncio loop",
    "hypercorn": "its app on hypercorn",
    "bare-own": "bare app, own layer",
    "bare-hypercorn": "bare app, hypercorn",
    "disk": "s2-local --data-dir",
}
COLUMNS = [
    ("unary_us", "µs/unary", ".0f"),
    ("cpu_us", "µs/rec", ".2f"),
    ("records_s", "100B rec/s", ",.0f"),
    ("append_mib_s", "append MiB/s", ".1f"),
    ("read_mib_s", "read MiB/s", ".1f"),
    ("p50_ms", "p50 ms", ".2f"),
    ("p99_ms", "p99 ms", ".2f"),
]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--records", type=int, default=1_000_000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    runs: dict[str, list[dict[str, float]]] = {k: [] for k in SERVERS}
    resident: dict[str, list[float]] = {k: [] for k in SERVERS}
    wal = 0.0
    for _ in range(args.rounds):  # alternating, so that a slow spell of the machine hits all
        result, idle = run_local(args.records, None)
        runs["local"].append(result)
        resident["local"].append(result["rss"] - idle)
        result, idle = run_local(args.records, None, "asyncio")
        runs["local-asyncio"].append(result)
        resident["local-asyncio"].append(result["rss"] - idle)
        for key, which, layer in (
            ("hypercorn", "s2", "hypercorn"),
            ("bare-own", "bare", "own"),
            ("bare-hypercorn", "bare", "hypercorn"),
        ):
            result, idle = run_app(args.records, which, layer)
            runs[key].append(result)
            resident[key].append(result["rss"] - idle)
        with tempfile.TemporaryDirectory() as tmp:
            result, idle = run_local(args.records, tmp)
            wal = sum(f.stat().st_size for f in Path(tmp).iterdir()) / 2**20
        runs["disk"].append(result)
        resident["disk"].append(result["rss"] - idle)
    medians = {k: median_of(v) for k, v in runs.items()}
    print(f"medians of {args.rounds} alternating rounds; os.cpu_count() = {os.cpu_count()}")
    print(f"{'server':<24}" + "".join(f"{title:>13}" for _, title, _ in COLUMNS) + "  RSS +MiB")
    for key, name in SERVERS.items():
        m = medians[key]
        cells = "".join(f"{m[k]:>13{fmt}}" for k, _, fmt in COLUMNS)
        print(f"{name:<24}{cells}{statistics.median(resident[key]):>10.0f}")
    ref = medians["hypercorn"]
    for key in ("local", "local-asyncio", "disk"):
        ratio = {k: medians[key][k] / ref[k] for k, _, _ in COLUMNS}
        print(
            f"{SERVERS[key] + ' / hypercorn':<24}"
            + "".join(f"{ratio[k]:>13.2f}" for k, _, _ in COLUMNS)
        )
    for metric in ("unary_us", "cpu_us"):
        pairs = zip(runs["local"], runs["hypercorn"], strict=True)
        rounds = ", ".join(f"{a[metric] / b[metric]:.2f}" for a, b in pairs)
        print(f"{metric} s2-local / hypercorn, round by round: {rounds}")
    print(
        f"(RSS +MiB: over idle, holding {args.records:,} stored 100-byte records where the app"
        f" stores them; durable log {wal:.0f} MiB)"
    )


if __name__ == "__main__":
    main()
