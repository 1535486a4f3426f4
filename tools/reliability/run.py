"""The long reliability run: every scenario of ``tools/faults/scenarios.py``, sized up.

Usage: ``hatch run reliability [SECONDS]`` (default 60 per timed scenario). Runs
against s2-local in child processes (in memory, and durable for the SIGKILL rounds),
with the fault-injecting proxy between client and server, and writes
``tools/reliability/REPORT.md``. Exits non-zero when anything acknowledged was lost.
The short versions of the same scenarios run in the default test command.
"""

from __future__ import annotations

import asyncio
import platform
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tools"))

from faults.disk import CannotMount  # noqa: E402
from faults.hostile import damaged_log, disk_full_under_load, slow_readers  # noqa: E402
from faults.outages import logging_outage, sigkill_under_load  # noqa: E402
from faults.proxy import Proxy  # noqa: E402
from faults.scenarios import (  # noqa: E402
    Figures,
    load,
    producer_under_faults,
    read_session_under_faults,
    second_writer,
    session_under_faults,
    unary_under_faults,
)
from s2_local.server import ServerProcess  # noqa: E402
from s2_sdk import S2, AppendRetryPolicy, Endpoints  # noqa: E402

REPORT = Path(__file__).with_name("REPORT.md")


async def network_scenarios(server: ServerProcess, seconds: float) -> list[Figures]:
    results = []
    endpoints = Endpoints(server.endpoint, server.endpoint)
    async with S2("reliability", endpoints=endpoints) as direct:
        await direct.create_basin("reliability-run")
        basin = "reliability-run"
        records = int(seconds * 1000)
        cases = [
            ("all", AppendRetryPolicy.ALL, False),
            ("match", AppendRetryPolicy.ALL, True),
            ("nse", AppendRetryPolicy.NO_SIDE_EFFECTS, False),
        ]
        for name, policy, match in cases:
            with Proxy("127.0.0.1", server.port) as proxy:
                figures = await producer_under_faults(
                    direct, proxy, basin, f"producer-{name}", records=records,
                    policy=policy, match_seq_num=match, seconds=seconds,
                )  # fmt: skip
                results.append(figures)
            print(_line(results[-1]), flush=True)
        for scenario in (session_under_faults, second_writer):
            with Proxy("127.0.0.1", server.port) as proxy:
                results.append(
                    await scenario(
                        direct, proxy, basin, scenario.__name__, records=records, seconds=seconds
                    )
                )
            print(_line(results[-1]), flush=True)
        for blocking in (False, True):
            with Proxy("127.0.0.1", server.port) as proxy:
                figures = await unary_under_faults(
                    direct, proxy, basin, f"unary-{blocking}", records=records // 10,
                    blocking=blocking, seconds=seconds,
                )  # fmt: skip
                results.append(figures)
            print(_line(results[-1]), flush=True)
        with Proxy("127.0.0.1", server.port) as proxy:
            results.append(
                await read_session_under_faults(
                    direct, proxy, basin, "reader", records=records * 2, seconds=seconds
                )
            )
        print(_line(results[-1]), flush=True)
        results.append(await load(direct, basin, streams=200, seconds=seconds, server=server))
        print(_line(results[-1]), flush=True)
    return results


def hostile_scenarios(seconds: float) -> list[Figures]:
    """A disk that keeps filling up, a damaged log, clients that read nothing."""
    results = []
    with tempfile.TemporaryDirectory() as parent:
        try:
            results.append(disk_full_under_load(Path(parent), seconds=seconds))
            print(_line(results[-1]), flush=True)
        except CannotMount as e:
            print(f"disk-full scenario skipped: {e}", flush=True)
    with tempfile.TemporaryDirectory() as data_dir:
        results.append(damaged_log(Path(data_dir) / "data", appends=int(seconds * 10)))
    print(_line(results[-1]), flush=True)
    results.append(slow_readers(sessions=20, megabytes=40, seconds=seconds))
    results.append(slow_readers(sessions=20, megabytes=40, seconds=seconds, credit=False))
    print(_line(results[-1]), flush=True)
    return results


def _line(f: Figures) -> str:
    return f"{f.scenario}: checked {f.checked:,}, lost {f.lost}, {f.seconds:.0f} s"


def _row(f: Figures) -> str:
    faults = ", ".join(f"{k} {v}" for k, v in sorted(f.faults.items())) or "none"
    notes = "; ".join(f.notes)
    return (
        f"| {f.scenario} | {f.load} | {faults} | {f.checked:,} | {f.lost} | {f.duplicates} "
        f"| {f.gaps} | {f.out_of_order} | {f.seconds:.0f} | {notes} |"
    )


def main() -> int:
    seconds = float(sys.argv[1]) if len(sys.argv) > 1 else 60.0
    started = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    server = ServerProcess().start()
    try:
        results = asyncio.run(network_scenarios(server, seconds))
    finally:
        server.stop()
    with tempfile.TemporaryDirectory() as data_dir:
        results.append(sigkill_under_load(Path(data_dir), rounds=max(3, int(seconds / 6))))
    print(_line(results[-1]), flush=True)
    with tempfile.TemporaryDirectory() as data_dir:
        results.append(
            logging_outage(Path(data_dir), records=int(seconds * 1000), max_queue=10_000)
        )
    print(_line(results[-1]), flush=True)
    results += hostile_scenarios(seconds)
    lost = sum(f.lost + f.gaps + f.out_of_order + (not f.memory_ok) for f in results)
    lines = [
        "# Reliability report",
        "",
        f"Run {started} on {platform.machine()} / Python {platform.python_version()} by "
        f"`hatch run reliability {seconds:g}` (`tools/reliability/run.py`). Faults come from "
        "the proxy in `tools/faults/proxy.py`: connection resets (drop), half a chunk "
        "forwarded then a reset (cut, i.e. mid-frame), traffic held (stall) and throttled "
        "links (slow). Every scenario reads the stream back straight from the server and "
        "compares it with what was acknowledged.",
        "",
        "| scenario | load held | faults injected | records checked | lost | duplicates "
        "| gaps | out of order | s | notes |",
        "|---|---|---|---|---|---|---|---|---|---|",
        *(_row(f) for f in results),
        "",
        "The hostile-world scenarios: a durable s2-local whose 16 MiB disk is filled and "
        "freed every half second under an appender (checked after a restart); a byte "
        "flipped in the middle of a log (the start must be refused naming the offset, and "
        "`--repair` must keep every intact entry and report what it drops: lost counts what "
        "went missing without a report); 20 read sessions that never read, on a 40 MB "
        "stream, beside a live appender and reader (the server may grow by less than 100 MiB "
        "and must give it back when they leave).",
        "",
        "Lost must be 0 everywhere, and so must gaps and reordering. Duplicates are allowed "
        "only for the Producer under `AppendRetryPolicy.ALL` without `match_seq_num` (at "
        "least once): a batch whose acknowledgement was lost is sent again. With "
        "`match_seq_num` (exactly once) the resend is refused with 412, and the writer reads "
        "the stream back: the batch found there is acknowledged from it, one not found is "
        "sent again; the writer never fails, unless another writer's records are where its "
        "batch was to go (a clear `SeqNumMismatchError`, nothing duplicated). Under "
        "`NO_SIDE_EFFECTS` (at most once) it is not resent and the producer ends with the "
        "transport error. A fencing token alone does not prevent duplicates: it only keeps "
        "other writers out. 'lost ack' faults drop what the server sends next (after it "
        "applied what it acknowledges) and reset the connection.",
        "",
        f"**Total lost: {lost}.**",
        "",
    ]
    REPORT.write_text("\n".join(lines))
    print(f"wrote {REPORT} (lost {lost})")
    return 1 if lost else 0


if __name__ == "__main__":
    sys.exit(main())
