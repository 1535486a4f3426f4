"""Client benchmark: s2-core against the published `s2-sdk` (0.13 and 0.8), on one s2-local.

Usage: ``hatch run bench-client [--scale 3.0] [--rounds 3]``. Starts an in-memory
s2-local in a child process and runs ``workloads.py`` with this workspace's client and
with each published client (each in its own virtualenv), alternating, ``--rounds`` times.
Prints the medians of client CPU µs per record (``process_time``) for each workload,
the ratio ours/theirs (below 1: we use less CPU), the floor of this Python for the
producer and the read path (measured here, in the same run), and unary latencies.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from interop_clients import OFFICIAL_PY_SDK_VERSION, REFERENCE_PY_SDK_VERSION, official_python
from s2_local.server import ServerProcess
from s2_sdk.protocol import encode_frame, pb

WORKLOADS = Path(__file__).with_name("workloads.py")
LABELS = {
    "producer": "Producer 128 B, await last",
    "producer_gather": "Producer 128 B, gather all",
    "session": "AppendSession 1000 x 1 KiB",
    "catch_up": "read-session catch-up 128 B",
}


def run(python: str, endpoint: str, scale: float) -> dict[str, Any]:
    basin = f"bench-{uuid.uuid4().hex[:10]}"
    out = subprocess.run(
        [python, str(WORKLOADS), endpoint, basin, str(scale)],
        check=True,
        capture_output=True,
        text=True,
        timeout=1800,
    )
    result: dict[str, Any] = json.loads(out.stdout)
    return result


def us_per_record(r: dict[str, float]) -> float:
    return r["cpu"] / r["records"] * 1e6


def producer_floor(n: int = 100_000) -> float:
    """CPU µs per record to build a Record-like object, encode it in a batch and resolve
    one future per record: what any producer must do, with nothing else."""

    class Rec:
        __slots__ = ("body", "headers", "timestamp")

        def __init__(self, body: bytes) -> None:
            self.body, self.headers, self.timestamp = body, [], None

    async def floor() -> float:
        loop = asyncio.get_running_loop()
        body = b"p" * 128
        start = time.process_time()
        for _ in range(n // 1000):
            records = [Rec(body) for _ in range(1000)]
            futures = [loop.create_future() for _ in range(1000)]
            inp = pb.AppendInput()
            add = inp.records.add
            for r in records:
                add(body=r.body)
            encode_frame(inp.SerializeToString())
            for i, f in enumerate(futures):
                f.set_result(i)
        return (time.process_time() - start) / n * 1e6

    return asyncio.run(floor())


def read_floor(n: int = 100_000) -> float:
    """CPU µs per record to parse read batches and build one object per record."""

    class Seq:
        __slots__ = ("body", "headers", "seq_num", "timestamp")

        def __init__(self, seq_num: int, body: bytes, headers: list[Any], timestamp: int) -> None:
            self.seq_num, self.body = seq_num, body
            self.headers, self.timestamp = headers, timestamp

    batch = pb.ReadBatch()
    for i in range(1000):
        batch.records.add(seq_num=i, timestamp=i, body=b"c" * 128)
    data = batch.SerializeToString()
    start = time.process_time()
    for _ in range(n // 1000):
        parsed = pb.ReadBatch.FromString(data)
        [Seq(r.seq_num, r.body, [], r.timestamp) for r in parsed.records]
    return (time.process_time() - start) / n * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument(
        "--scale",
        type=float,
        default=3.0,
        help="workload size multiplier (at 1, the read catch-up takes a tenth of a second of "
        "CPU and moves by a third between runs on a shared machine)",
    )
    parser.add_argument("--rounds", type=int, default=3, help="alternating rounds")
    args = parser.parse_args()
    clients = {
        "ours": sys.executable,
        OFFICIAL_PY_SDK_VERSION: str(official_python(OFFICIAL_PY_SDK_VERSION)),
        REFERENCE_PY_SDK_VERSION: str(official_python(REFERENCE_PY_SDK_VERSION)),
    }
    results: dict[str, list[dict[str, Any]]] = {name: [] for name in clients}
    server = ServerProcess().start()
    try:
        for _ in range(args.rounds):
            for name, python in clients.items():
                results[name].append(run(python, server.endpoint, args.scale))
    finally:
        server.stop()
    floors = {"producer": producer_floor(), "catch_up": read_floor()}

    def median(name: str, key: str) -> float:
        return statistics.median(us_per_record(r[key]) for r in results[name])

    others = [name for name in clients if name != "ours"]
    header = f"{'client CPU µs/record':<30}{'ours':>8}" + "".join(
        f"{'s2-sdk ' + v:>14}{'ratio':>7}" for v in others
    )
    print(header + f"{'floor':>8}{'ours/floor':>11}")
    for key, label in LABELS.items():
        ours = median("ours", key)
        row = f"{label:<30}{ours:>8.2f}"
        for name in others:
            theirs = median(name, key)
            row += f"{theirs:>14.2f}{ours / theirs:>7.2f}"
        floor = floors.get(key.removesuffix("_gather"))
        if floor is not None:
            row += f"{floor:>8.2f}{ours / floor:>11.1f}"
        print(row)
    for key in ("append_p50_ms", "append_p99_ms", "read_p50_ms", "read_p99_ms"):
        row = f"unary {key:<24}{statistics.median(r['unary'][key] for r in results['ours']):>8.2f}"
        for name in others:
            theirs = statistics.median(r["unary"][key] for r in results[name])
            row += f"{theirs:>14.2f}{'':>7}"
        print(row)
    print(
        f"medians of {args.rounds} alternating rounds; ratio = ours / theirs (below 1: "
        "s2-core uses less CPU per record); floor: the same work with nothing but protobuf "
        "and plain objects, in this Python"
    )


if __name__ == "__main__":
    main()
