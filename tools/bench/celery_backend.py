"""Celery benchmark: S2Backend against Celery's own Redis result backend, same run.

Usage: ``hatch run bench-celery [N]``. Both backends run with the same Redis broker
(127.0.0.1:6379) and the same kind of real worker process (``--pool=threads``). S2 is an
in-memory s2-local in a child process, on a basin that creates streams on append and on
read (the configuration the s2-celery README recommends); the Redis backend is a
redis-server of its own (when the machine has one), so that its commands and CPU are the
backend's alone.

Per backend:

1. tasks/s stored and fetched: N tasks sent, run, and every result fetched with
   ``AsyncResult.get()`` (wall time from the first send to the last result); during it,
   per task: requests to the result store, CPU of this (client) process, of the worker,
   and of the result store's server;
2. ``AsyncResult.get()`` latency for a task that has already finished (a fresh
   ``AsyncResult`` each time, so nothing comes from a cache): p50 and p99;
3. the latency of a waiting ``get()``: from the moment the task body returned (a
   timestamp it returns) to ``get()`` returning, one task at a time;
4. a 1,000-part chord: from sending it to its body's result.

And the floor under 2.: one read of a one-record stream, on the same server, by the
published ``s2-sdk`` (in its own virtualenv) and by s2-core's ``s2_sdk.sync``.

The file is not named ``celery.py``: run as a script it would shadow Celery itself.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import httpx
import redis
from celery import Celery, chord
from prometheus_client.parser import text_string_to_metric_families
from s2_local.server import ServerProcess
from s2_sdk import AppendInput, BasinConfig, Record, SeqNum
from s2_sdk.sync import connect

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from interop_clients import OFFICIAL_PY_SDK_VERSION, official_python

BROKER = "redis://127.0.0.1:6379/13"
BASIN = "bench-celery"
CHORD_PARTS = 1000
WORKLOADS = Path(__file__).with_name("workloads.py")


def make_app() -> Celery:
    """The app the worker and the client share, configured by ``BENCH_*`` variables."""
    app = Celery("bench", broker=BROKER, backend=os.environ.get("BENCH_BACKEND"))
    app.conf.update(task_default_queue=os.environ.get("BENCH_QUEUE", "bench"))

    @app.task(name="add", shared=False)
    def add(x: int, y: int) -> int:
        return x + y

    @app.task(name="total", shared=False)
    def total(values: list[int]) -> int:
        return sum(values)

    @app.task(name="stamp", shared=False)
    def stamp() -> float:
        time.sleep(0.005)  # the client is waiting in get() by now
        return time.time()

    return app


app = make_app()


def cpu_seconds(pid: int) -> float:
    """User + system CPU time a process has used so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class S2Store:
    """The S2 side: an s2-local process; its requests from its Prometheus metrics."""

    def __init__(self) -> None:
        self.server = ServerProcess().start()
        with connect("bench", self.server.endpoint) as client:
            config = BasinConfig(create_stream_on_append=True, create_stream_on_read=True)
            client.create_basin(BASIN, config=config)
        self.url = f"s2://{BASIN}/results"
        self.env = {"S2_ACCESS_TOKEN": "bench", "S2_ACCOUNT_ENDPOINT": self.server.endpoint}

    def requests(self) -> float:
        text = httpx.get(f"{self.server.endpoint}/metrics").text
        return sum(
            s.value
            for family in text_string_to_metric_families(text)
            if family.name == "s2_local_requests"
            for s in family.samples
            if s.name.endswith("_total") and s.labels["route"] != "/metrics"
        )

    def cpu(self) -> float:
        assert self.server._proc is not None
        return cpu_seconds(self.server._proc.pid)

    def stop(self) -> None:
        self.server.stop()


class RedisStore:
    """The Redis side: a redis-server of its own (else database 14 of the broker's,
    whose commands and CPU then include the broker's)."""

    def __init__(self) -> None:
        self.proc: subprocess.Popen[bytes] | None = None
        port, self.shared = 6379, True
        if shutil.which("redis-server"):
            with socket.socket() as s:
                s.bind(("127.0.0.1", 0))
                port = s.getsockname()[1]
            self.proc = subprocess.Popen(
                ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "",
                 "--appendonly", "no"],
                stdout=subprocess.DEVNULL,
            )  # fmt: skip
            self.shared = False
        self.url = f"redis://127.0.0.1:{port}/14"
        self.env: dict[str, str] = {}
        self.client = redis.Redis(port=port, db=14)
        deadline = time.monotonic() + 10
        while True:
            try:
                self.client.ping()
                break
            except redis.ConnectionError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)

    def requests(self) -> float:
        return float(self.client.info("stats")["total_commands_processed"]) - 1  # INFO itself

    def cpu(self) -> float:
        info = self.client.info("cpu")
        return float(info["used_cpu_sys"]) + float(info["used_cpu_user"])

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.terminate()
            self.proc.wait()


def run(store: S2Store | RedisStore, n: int) -> dict[str, Any]:
    """Every figure of one backend."""
    queue = f"bench-{uuid.uuid4().hex[:8]}"
    env = {**os.environ, **store.env, "BENCH_BACKEND": store.url, "BENCH_QUEUE": queue}
    env["PYTHONPATH"] = os.pathsep.join([str(Path(__file__).parent), env.get("PYTHONPATH", "")])
    os.environ.update(env)
    client_app = make_app()
    worker = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "celery_backend", "worker", "--pool=threads",
         "--concurrency=8", "--loglevel=WARNING", "--without-mingle", "--without-gossip",
         "--without-heartbeat"],
        env=env, stdout=subprocess.DEVNULL,
    )  # fmt: skip
    out: dict[str, Any] = {}
    try:
        add = client_app.tasks["add"]
        assert add.delay(1, 2).get(timeout=60) == 3  # the worker is up, connections made
        counters = (store.requests(), time.process_time(), cpu_seconds(worker.pid), store.cpu())
        start = time.perf_counter()
        results = [add.delay(i, i) for i in range(n)]
        values = [r.get(timeout=120) for r in results]
        out["rate"] = n / (time.perf_counter() - start)
        after = (store.requests(), time.process_time(), cpu_seconds(worker.pid), store.cpu())
        requests, client_cpu, worker_cpu, server_cpu = (
            (b - a) / n for a, b in zip(counters, after, strict=True)
        )
        out.update(requests=requests, client_ms=client_cpu * 1e3, worker_ms=worker_cpu * 1e3)
        out["server_ms"] = server_cpu * 1e3
        assert values == [2 * i for i in range(n)]
        finished = []
        for r in results[: min(n, 500)]:
            fresh = client_app.AsyncResult(r.id)
            t = time.perf_counter()
            value = fresh.get(timeout=10)
            finished.append(time.perf_counter() - t)
            assert value == r.result
        out["finished"] = finished
        waiting = []
        for _ in range(200):
            ended = client_app.tasks["stamp"].delay().get(timeout=10)
            waiting.append(time.time() - ended)
        out["waiting"] = waiting
        parts = [add.s(i, 1) for i in range(CHORD_PARTS)]
        t = time.perf_counter()
        total = chord(parts)(client_app.tasks["total"].s()).get(timeout=600)
        out["chord_s"] = time.perf_counter() - t
        assert total == sum(i + 1 for i in range(CHORD_PARTS))
        return out
    finally:
        worker.terminate()
        worker.wait(60)
        with client_app.connection_for_write() as conn:
            conn.default_channel.client.delete(queue)


def our_floor(endpoint: str, n: int = 500) -> list[float]:
    """Latencies of reading a one-record stream with s2-core's blocking client."""
    with connect("bench", endpoint) as client:
        stream = client[BASIN]["floor"]
        stream.append(AppendInput([Record(b"{}")]))
        latencies = []
        for _ in range(n):
            t = time.perf_counter()
            records = stream.read(start=SeqNum(0), clamp_to_tail=True).records
            latencies.append(time.perf_counter() - t)
            assert len(records) == 1
        return latencies


def published_floor(endpoint: str) -> dict[str, float]:
    """p50 / p99 of the same read by the published ``s2-sdk``."""
    basin = f"bench-floor-{uuid.uuid4().hex[:8]}"
    python = official_python()
    argv = [str(python), str(WORKLOADS), endpoint, basin, "1", "read_floor"]
    out = subprocess.run(argv, check=True, capture_output=True, text=True, timeout=600)
    result: dict[str, float] = json.loads(out.stdout)["read_floor"]
    return result


def pct(values: list[float], q: int) -> float:
    """The q-th percentile, in milliseconds."""
    return statistics.quantiles(values, n=100)[q - 1] * 1e3


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 2000
    s2, rds = S2Store(), RedisStore()
    try:
        figures = {"Redis": run(rds, n), "S2": run(s2, n)}
        ours = our_floor(s2.server.endpoint)
        theirs = published_floor(s2.server.endpoint)
    finally:
        s2.stop()
        rds.stop()
    r, s = figures["Redis"], figures["S2"]
    print(f"{n} tasks; per task (sent, run, result fetched):")
    print(f"{'':<34}{'S2':>10}{'Redis':>10}{'ratio':>8}")
    rows = [
        ("tasks/s stored and fetched", "rate", "{:,.0f}", ">= 0.8"),
        ("requests to the result store", "requests", "{:.2f}", ""),
        ("client CPU ms", "client_ms", "{:.3f}", ""),
        ("worker CPU ms", "worker_ms", "{:.3f}", ""),
        ("result store server CPU ms", "server_ms", "{:.3f}", ""),
    ]
    for label, key, fmt, target in rows:
        ratio = s[key] / r[key] if r[key] else float("nan")
        print(
            f"{label:<34}{fmt.format(s[key]):>10}{fmt.format(r[key]):>10}{ratio:>8.2f}"
            + (f"  (target {target})" if target else "")
        )
    both = (s["client_ms"] + s["worker_ms"]) / (r["client_ms"] + r["worker_ms"])
    print(f"{'client + worker CPU':<34}{'':>20}{both:>8.2f}  (target <= 1.2)")
    if rds.shared:
        print("(no redis-server of its own: Redis figures include the broker's commands and CPU)")
    print(
        f"get() of a finished task: S2 p50 {pct(s['finished'], 50):.2f} ms / p99 "
        f"{pct(s['finished'], 99):.2f} ms; Redis p50 {pct(r['finished'], 50):.2f} ms / p99 "
        f"{pct(r['finished'], 99):.2f} ms"
    )
    print(
        f"one read by the published s2-sdk {OFFICIAL_PY_SDK_VERSION}: p50 {theirs['p50_ms']:.2f}"
        f" ms / p99 {theirs['p99_ms']:.2f} ms; by s2_sdk.sync p50 {pct(ours, 50):.2f} ms; "
        f"S2 get() p50 / published read p50 = {pct(s['finished'], 50) / theirs['p50_ms']:.2f}"
        " (target <= 1.5)"
    )
    print(
        f"waiting get(), task end to get() return: S2 p50 {pct(s['waiting'], 50):.2f} ms / p99 "
        f"{pct(s['waiting'], 99):.2f} ms, Redis p50 {pct(r['waiting'], 50):.2f} ms / p99 "
        f"{pct(r['waiting'], 99):.2f} ms"
    )
    print(
        f"{CHORD_PARTS}-part chord: S2 {s['chord_s']:.2f} s, Redis {r['chord_s']:.2f} s, ratio "
        f"{s['chord_s'] / r['chord_s']:.2f} (target <= 2)"
    )


if __name__ == "__main__":
    main()
