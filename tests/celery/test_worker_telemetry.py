"""A real prefork worker stopped by SIGTERM right after its tasks: what they logged through
a root ``S2Handler`` (which Celery's logging setup used to remove) and their spans (which
the pool processes' exit used to lose, still waiting in the batch span processor) are in
S2."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
import redis
from s2_local.pytest_plugin import S2TestServer
from s2_otel import read_traces
from s2_sdk.sync import S2, read_records

TESTS = Path(__file__).resolve().parents[1]
BROKER = "redis://127.0.0.1:6379/10"


@pytest.mark.parametrize("pool", ["prefork", "threads", "solo"])
def test_tasks_logs_and_spans_outlive_the_worker(
    s2_server: S2TestServer, client: S2, basin: str, pool: str
) -> None:
    queue = f"q-{uuid.uuid4().hex[:8]}"
    env = {
        **os.environ,
        **s2_server.env(),
        "S2_TEST_BASIN": basin,
        "S2_TEST_BROKER": BROKER,
        "S2_TEST_QUEUE": queue,
        "PYTHONPATH": os.pathsep.join([str(TESTS), os.environ.get("PYTHONPATH", "")]),
    }
    worker = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "support.telemetry_worker", "worker",
         f"--pool={pool}", "--concurrency=2", "--loglevel=INFO", "--without-mingle",
         "--without-gossip", "--without-heartbeat"],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, env=env,
    )  # fmt: skip
    try:
        from celery import Celery

        app = Celery("sender", broker=BROKER)
        app.conf.task_default_queue = queue
        for n in range(3):
            app.send_task("work", args=(n,))
        deadline = time.monotonic() + 60
        while redis.Redis(db=10).llen(queue) and time.monotonic() < deadline:
            time.sleep(0.1)  # the worker took them
        time.sleep(1.0)  # and ran them (each takes a moment)
        worker.terminate()  # as users stop it: warm shutdown
        _, err = worker.communicate(timeout=60)
    finally:
        if worker.poll() is None:
            worker.kill()
            worker.wait()
    assert worker.returncode == 0, err
    assert "Traceback" not in err, err
    messages = [json.loads(r.body)["message"] for r in read_records(basin, "logs", client=client)]
    assert {f"working on {n}" for n in range(3)} <= set(messages), messages
    spans = {
        span.name
        for _, data in read_traces(basin, "traces", client=client)
        for resource in data.resource_spans
        for scope in resource.scope_spans
        for span in scope.spans
    }
    assert {f"work {n}" for n in range(3)} <= spans, spans
