"""Client benchmark: s2-core against the published `s2-sdk`, on one s2-local, in one run.

Usage: ``hatch run bench-client [--scale 1.0]``. Starts an in-memory s2-local in a
child process, runs ``workloads.py`` with this workspace's client and then with the
published client (installed into its own virtualenv), and prints records/s, MiB/s,
client CPU µs per record, unary latencies, and the ratio ours/theirs.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from interop_clients import official_python
from s2_local.server import ServerProcess

WORKLOADS = Path(__file__).with_name("workloads.py")


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


def rates(r: dict[str, float]) -> tuple[float, float, float]:
    """(records/s, MiB/s, CPU µs per record)."""
    return (
        r["records"] / r["seconds"],
        r["bytes"] / r["seconds"] / 2**20,
        r["cpu"] / r["records"] * 1e6,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--scale", type=float, default=1.0, help="workload size multiplier")
    args = parser.parse_args()
    theirs_python = str(official_python())
    server = ServerProcess().start()
    try:
        ours = run(sys.executable, server.endpoint, args.scale)
        theirs = run(theirs_python, server.endpoint, args.scale)
    finally:
        server.stop()
    print(
        f"{'workload':<28}{'ours rec/s':>12}{'MiB/s':>8}{'µs/rec':>8}"
        f"{'theirs rec/s':>14}{'MiB/s':>8}{'µs/rec':>8}{'ratio':>8}"
    )
    labels = {
        "producer": "Producer, 128 B records",
        "session": "AppendSession, 1 KiB x1000",
        "catch_up": "read session catch-up",
    }
    for key, label in labels.items():
        o, t = rates(ours[key]), rates(theirs[key])
        print(
            f"{label:<28}{o[0]:>12,.0f}{o[1]:>8.1f}{o[2]:>8.1f}"
            f"{t[0]:>14,.0f}{t[1]:>8.1f}{t[2]:>8.1f}{o[0] / t[0]:>7.2f}x"
        )
    for key in ("append_p50_ms", "append_p99_ms", "read_p50_ms", "read_p99_ms"):
        o, t = ours["unary"][key], theirs["unary"][key]
        print(f"unary {key:<22}{o:>12.2f}{'':>16}{t:>14.2f}{'':>16}{t / o:>7.2f}x")
    print("ratio > 1 means s2-core is faster (throughput ours/theirs, latency theirs/ours)")


if __name__ == "__main__":
    main()
