"""Server benchmark: s2-local (in memory and durable) against a bare transport baseline.

Usage: ``hatch run bench-server [--records 1000000]``. Each server runs in its own
process; one client (s2-core) drives them in turn. Prints, per server: append MiB/s
with 1 KiB records in 1000-record session batches, records/s with 100-byte records,
server CPU µs per appended 100-byte record (1000-record session batches), read
catch-up MiB/s, unary append p50/p99, and resident memory holding N stored 100-byte
records. Ratios compare s2-local with the baseline from the same run (a hypercorn app
that speaks the protocol but stores nothing); the servers run in alternating rounds
(``--rounds``, default 3) and each figure is the median of its rounds. Reads are
measured as raw frames so the client's record decoding does not cap them.
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
from typing import Any

from s2_local.server import ServerProcess
from s2_sdk import S2, AppendInput, Endpoints, Record


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


def run_baseline(records: int) -> tuple[dict[str, float], float]:
    here = Path(__file__).with_name("baseline_app.py")
    proc = subprocess.Popen([sys.executable, str(here)], stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        endpoint = proc.stdout.readline().strip()
        time.sleep(0.5)
        idle = rss_mib(proc.pid)
        return asyncio.run(measure(endpoint, records, False, proc.pid)), idle
    finally:
        proc.terminate()
        proc.wait()
        if proc.stdout:
            proc.stdout.close()


def run_local(records: int, data_dir: str | None) -> tuple[dict[str, float], float, float]:
    server = ServerProcess(data_dir=data_dir).start()
    try:
        assert server._proc is not None
        idle = rss_mib(server._proc.pid)
        result = asyncio.run(measure(server.endpoint, records, True, server._proc.pid))
        return result, result["rss"], idle
    finally:
        server.stop()


def median_of(runs: list[dict[str, float]]) -> dict[str, float]:
    """Each figure's median over the rounds."""
    return {k: statistics.median(r[k] for r in runs) for k in runs[0]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--records", type=int, default=1_000_000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    runs: dict[str, list[dict[str, float]]] = {"base": [], "mem": [], "disk": []}
    resident: dict[str, list[float]] = {k: [] for k in ("base", "mem", "mem0", "disk", "disk0")}
    wal = 0.0
    for _ in range(args.rounds):  # alternating, so that a slow spell of the machine hits all
        result, idle = run_baseline(args.records)
        runs["base"].append(result)
        resident["base"].append(idle)
        result, used, idle = run_local(args.records, None)
        runs["mem"].append(result)
        resident["mem"].append(used)
        resident["mem0"].append(idle)
        with tempfile.TemporaryDirectory() as tmp:
            result, used, idle = run_local(args.records, tmp)
            wal = sum(f.stat().st_size for f in Path(tmp).iterdir()) / 2**20
        runs["disk"].append(result)
        resident["disk"].append(used)
        resident["disk0"].append(idle)
    mid = {k: statistics.median(v) for k, v in resident.items()}
    base, base_rss = median_of(runs["base"]), mid["base"]
    rows: list[tuple[str, dict[str, Any], float, float]] = [
        ("s2-local in memory", median_of(runs["mem"]), mid["mem"], mid["mem0"]),
        ("s2-local --data-dir", median_of(runs["disk"]), mid["disk"], mid["disk0"]),
    ]
    cpu_ratios = sorted(
        m["cpu_us"] / b["cpu_us"] for m, b in zip(runs["mem"], runs["base"], strict=True)
    )
    print(f"medians of {args.rounds} alternating rounds")
    print(
        f"{'server':<22}{'append MiB/s':>13}{'100B rec/s':>12}{'µs CPU/rec':>11}"
        f"{'read MiB/s':>11}{'p50 ms':>8}{'p99 ms':>8}{'RSS MiB':>9}"
    )
    print(
        f"{'baseline (no storage)':<22}{base['append_mib_s']:>13.1f}{base['records_s']:>12,.0f}"
        f"{base['cpu_us']:>11.2f}{base['read_mib_s']:>11.1f}{base['p50_ms']:>8.2f}"
        f"{base['p99_ms']:>8.2f}{base_rss:>9.0f}"
    )
    for name, r, rss, idle_rss in rows:
        print(
            f"{name:<22}{r['append_mib_s']:>13.1f}{r['records_s']:>12,.0f}{r['cpu_us']:>11.2f}"
            f"{r['read_mib_s']:>11.1f}{r['p50_ms']:>8.2f}{r['p99_ms']:>8.2f}{rss:>9.0f}"
        )
        ratio = {k: r[k] / base[k] for k in base}
        print(
            f"{'  ratio to baseline':<22}{ratio['append_mib_s']:>13.2f}"
            f"{ratio['records_s']:>12.2f}{ratio['cpu_us']:>11.2f}{ratio['read_mib_s']:>11.2f}"
            f"{ratio['p50_ms']:>8.2f}{ratio['p99_ms']:>8.2f}"
            f"{'':>9}  (RSS +{rss - idle_rss:.0f} MiB over idle for "
            f"{args.records:,} stored 100-byte records)"
        )
    print(
        "in-memory CPU per record / baseline's, round by round: "
        + ", ".join(f"{r:.2f}" for r in cpu_ratios)
    )
    print(f"durable log size: {wal:.0f} MiB; os.cpu_count() = {os.cpu_count()}")


if __name__ == "__main__":
    main()
