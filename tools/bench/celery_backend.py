"""Celery benchmark: S2Backend against Celery's own Redis result backend, same run.

Usage: ``hatch run bench-celery [N]``. Both backends run with the same Redis broker
(127.0.0.1:6379) and the same real worker process (``--pool=threads``); S2 is an
in-memory s2-local in a child process.

1. tasks/s stored and fetched: N tasks sent, run, and every result fetched with
   ``AsyncResult.get()`` (wall time from the first send to the last result);
2. ``AsyncResult.get()`` latency for a task that has already finished (a fresh
   ``AsyncResult`` each time, so nothing comes from a cache): p50 and p99;
3. the push latency of a waiting ``get()``: from the moment the task body returned
   (a timestamp it returns) to ``get()`` returning, one task at a time;
4. the floor under 2.: one read of a one-record stream with ``s2_sdk.sync`` and no
   Celery at all, on the same server (any ``get()`` that asks S2 costs at least this).

The file is not named ``celery.py``: run as a script it would shadow Celery itself.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import time
import uuid
from pathlib import Path

from celery import Celery
from s2_local.server import ServerProcess
from s2_sdk import AppendInput, Record, SeqNum
from s2_sdk.sync import connect

BROKER = "redis://127.0.0.1:6379/13"
REDIS_BACKEND = "redis://127.0.0.1:6379/14"
BASIN = "bench-celery"


def make_app() -> Celery:
    """The app the worker and the client share, configured by ``BENCH_*`` variables."""
    app = Celery("bench", broker=BROKER, backend=os.environ.get("BENCH_BACKEND", REDIS_BACKEND))
    app.conf.update(task_default_queue=os.environ.get("BENCH_QUEUE", "bench"))

    @app.task(name="add", shared=False)
    def add(x: int, y: int) -> int:
        return x + y

    @app.task(name="stamp", shared=False)
    def stamp() -> float:
        time.sleep(0.005)  # the client is waiting in get() by now
        return time.time()

    return app


app = make_app()


def run(backend: str, n: int, env: dict[str, str]) -> tuple[float, list[float], list[float]]:
    """Tasks/s stored and fetched, get() latencies of finished tasks, push latencies."""
    queue = f"bench-{uuid.uuid4().hex[:8]}"
    env = {**os.environ, **env, "BENCH_BACKEND": backend, "BENCH_QUEUE": queue}
    env["PYTHONPATH"] = os.pathsep.join([str(Path(__file__).parent), env.get("PYTHONPATH", "")])
    os.environ.update(env)
    client_app = make_app()
    worker = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "celery_backend", "worker", "--pool=threads",
         "--concurrency=8", "--loglevel=WARNING", "--without-mingle", "--without-gossip",
         "--without-heartbeat"],
        env=env, stdout=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        add = client_app.tasks["add"]
        assert add.delay(1, 2).get(timeout=60) == 3  # the worker is up
        start = time.perf_counter()
        results = [add.delay(i, i) for i in range(n)]
        values = [r.get(timeout=120) for r in results]
        rate = n / (time.perf_counter() - start)
        assert values == [2 * i for i in range(n)]
        latencies = []
        for r in results[: min(n, 500)]:
            fresh = client_app.AsyncResult(r.id)
            t = time.perf_counter()
            value = fresh.get(timeout=10)
            latencies.append(time.perf_counter() - t)
            assert value == r.result
        pushes = []
        for _ in range(200):
            finished = client_app.tasks["stamp"].delay().get(timeout=10)
            pushes.append(time.time() - finished)
        return rate, latencies, pushes
    finally:
        worker.terminate()
        worker.wait(60)
        with client_app.connection_for_write() as conn:
            conn.default_channel.client.delete(queue)


def read_floor(endpoint: str, n: int = 500) -> list[float]:
    """Latencies of reading a one-record stream with the blocking client, nothing else."""
    with connect("bench", endpoint) as client:
        basin = client[BASIN]
        basin.create_stream("floor")
        stream = basin["floor"]
        stream.append(AppendInput([Record(b"{}")]))
        latencies = []
        for _ in range(n):
            t = time.perf_counter()
            records = stream.read(start=SeqNum(0), clamp_to_tail=True).records
            latencies.append(time.perf_counter() - t)
            assert len(records) == 1
        return latencies


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 2000
    server = ServerProcess().start()
    try:
        with connect("bench", server.endpoint) as client:
            client.create_basin(BASIN)
        s2_env = {"S2_ACCESS_TOKEN": "bench", "S2_ACCOUNT_ENDPOINT": server.endpoint}
        figures = {
            "redis": run(REDIS_BACKEND, n, {}),
            "s2": run(f"s2://{BASIN}/results", n, s2_env),
        }
        floor = read_floor(server.endpoint)
    finally:
        server.stop()
    (redis_rate, redis_lat, redis_push), (s2_rate, s2_lat, s2_push) = figures.values()

    def pct(values: list[float], q: int) -> float:
        return statistics.quantiles(values, n=100)[q - 1] * 1e3

    print(
        f"stored and fetched: S2 {s2_rate:,.0f} tasks/s, Redis {redis_rate:,.0f} tasks/s, "
        f"ratio {s2_rate / redis_rate:.2f} (target >= 0.5)"
    )
    print(
        f"get() after the task finished: S2 p50 {pct(s2_lat, 50):.2f} ms / p99 "
        f"{pct(s2_lat, 99):.2f} ms, Redis p50 {pct(redis_lat, 50):.2f} ms / p99 "
        f"{pct(redis_lat, 99):.2f} ms, p50 ratio {pct(s2_lat, 50) / pct(redis_lat, 50):.2f} "
        f"(target <= 1.5)"
    )
    print(
        f"floor under get(): one S2 read with s2_sdk.sync, no Celery, p50 {pct(floor, 50):.2f} "
        f"ms / p99 {pct(floor, 99):.2f} ms; S2 get() p50 is {pct(s2_lat, 50) / pct(floor, 50):.2f}x"
        f" that, Redis get() p50 is {pct(redis_lat, 50) / pct(floor, 50):.2f}x"
    )
    print(
        f"waiting get(), task end to get() return: S2 p50 {pct(s2_push, 50):.2f} ms / p99 "
        f"{pct(s2_push, 99):.2f} ms, Redis p50 {pct(redis_push, 50):.2f} ms / p99 "
        f"{pct(redis_push, 99):.2f} ms, p50 ratio {pct(s2_push, 50) / pct(redis_push, 50):.2f}"
    )


if __name__ == "__main__":
    main()
