"""examples/django_shop as a user runs it: s2-local, a Celery worker (prefork) and gunicorn,
each started with the command its README gives, real HTTP requests, a stop by SIGTERM, then
everything read back from S2: the span tree of each request and its task, the log records
of both processes with their trace ids (from S2Handler and from the OpenTelemetry logs
exporter), the task results and the HTTP metrics. Once in memory, once durable with s2-local
restarted between the requests and the read-back."""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
import redis
from s2_otel import read_logs, read_metrics, read_traces
from s2_sdk.sync import S2, connect, read_records

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "django_shop"
BASIN = "django-shop"
BROKER_DB = 11
ORDERS = [("book", 2, 25.0), ("pen", 3, 3.75), ("rocket", 1, None)]  # the last one fails


def readme_commands() -> list[str]:
    """The three commands of the README's "Run it against s2-local" section."""
    text = (EXAMPLE / "README.md").read_text()
    section = text.split("Then three commands", 1)[1]
    block = re.search(r"```bash\n(.*?)```", section, re.S)
    assert block, "the README lost its three commands"
    commands = [line for line in block.group(1).splitlines() if line.strip()]
    assert len(commands) == 3, commands
    return commands


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Shop:
    """The example, copied to a folder of its own with free ports, and its processes."""

    folder: Path
    s2_port: int
    web_port: int
    data_dir: Path | None
    env: dict[str, str]
    logs: Path
    procs: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)

    @property
    def s2(self) -> str:
        return f"http://127.0.0.1:{self.s2_port}"

    @property
    def web(self) -> str:
        return f"http://127.0.0.1:{self.web_port}"

    def start(self, name: str, command: str, ready: str, timeout: float = 60) -> None:
        """Run a README command (ports and data dir filled in) until its output says
        ``ready``."""
        command = command.replace("--port 8080", f"--port {self.s2_port}")
        command = command.replace("127.0.0.1:8000", f"127.0.0.1:{self.web_port}")
        if self.data_dir is not None and command.startswith("s2-local"):
            command += f" --data-dir {self.data_dir}"
        out = self.logs / f"{name}.log"
        seen = out.stat().st_size if out.exists() else 0  # a restart appends to its log
        with out.open("ab") as sink:
            self.procs[name] = subprocess.Popen(
                ["bash", "-c", f"exec {command}"],
                cwd=self.folder,
                env=self.env,
                stdout=sink,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        deadline = time.monotonic() + timeout
        while ready not in out.read_bytes()[seen:].decode(errors="replace"):
            proc = self.procs[name]
            assert proc.poll() is None, f"{name} exited:\n{out.read_text()}"
            assert time.monotonic() < deadline, f"{name} never got ready:\n{out.read_text()}"
            time.sleep(0.2)

    def stop(self, name: str) -> str:
        """SIGTERM, as a user stops it; its output."""
        proc = self.procs.pop(name)
        proc.send_signal(signal.SIGTERM)
        code = proc.wait(60)
        output = (self.logs / f"{name}.log").read_text(errors="replace")
        assert code == 0, f"{name} exited {code}:\n{output}"
        for noise in ("Task was destroyed", "never awaited", "Exception ignored"):
            assert noise not in output, output
        return output

    def kill_all(self) -> None:
        for proc in self.procs.values():
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


@pytest.fixture(params=["memory", "durable"])
def shop(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Shop]:
    folder = tmp_path / "django_shop"
    shutil.copytree(EXAMPLE, folder, ignore=shutil.ignore_patterns("__pycache__"))
    s2_port, web_port = free_port(), free_port()
    env_file = folder / "shop.env"
    env_file.write_text(env_file.read_text().replace("127.0.0.1:8080", f"127.0.0.1:{s2_port}"))
    env = {k: v for k, v in os.environ.items() if not k.startswith(("S2_", "OTEL_"))}
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    env["SHOP_BROKER_URL"] = f"redis://127.0.0.1:6379/{BROKER_DB}"
    redis.Redis(db=BROKER_DB).flushdb()
    logs = tmp_path / "logs"
    logs.mkdir()
    data_dir = tmp_path / "s2-data" if request.param == "durable" else None
    shop = Shop(folder, s2_port, web_port, data_dir, env, logs)
    try:
        yield shop
    finally:
        shop.kill_all()


def _place_and_look_up(shop: Shop) -> dict[str, tuple[str, int, float | None]]:
    """Place the orders, look each up; their ids."""
    placed: dict[str, tuple[str, int, float | None]] = {}
    with httpx.Client(base_url=shop.web, timeout=30) as http:
        for item, quantity, total in ORDERS:
            r = http.post("/orders", content=json.dumps({"item": item, "quantity": quantity}))
            assert r.status_code == 202, r.text
            placed[r.json()["order_id"]] = (item, quantity, total)
        for order_id, (_, _, total) in placed.items():
            body = http.get(f"/orders/{order_id}", params={"wait": 15}).json()
            if total is None:
                assert body["state"] == "FAILURE" and "rocket" in body["error"], body
            else:
                assert body["state"] == "SUCCESS" and body["order"]["total"] == total, body
        assert http.post("/orders", content=b"{not json").status_code == 400
    return placed


def _spans(client: S2) -> list[Any]:
    return [
        span
        for _, data in read_traces(BASIN, "traces", client=client)
        for resource in data.resource_spans
        for scope in resource.scope_spans
        for span in scope.spans
    ]


def _otel_logs(client: S2) -> list[tuple[str, bytes]]:
    return [
        (record.body.string_value, record.trace_id)
        for _, data in read_logs(BASIN, "otel-logs", client=client)
        for resource in data.resource_logs
        for scope in resource.scope_logs
        for record in scope.log_records
    ]


def _requests_counted(client: S2) -> int:
    """Requests counted by the HTTP duration histogram (cumulative: the last count of
    each kind of request)."""
    last: dict[tuple[Any, ...], int] = {}
    for _, data in read_metrics(BASIN, "metrics", client=client):
        for resource in data.resource_metrics:
            for scope in resource.scope_metrics:
                for metric in scope.metrics:
                    if metric.name not in ("http.server.duration", "http.server.request.duration"):
                        continue
                    for point in metric.histogram.data_points:
                        kind = tuple(sorted((a.key, str(a.value)) for a in point.attributes))
                        last[kind] = max(last.get(kind, 0), point.count)
    return sum(last.values())


def test_the_shop_keeps_everything_in_s2(shop: Shop) -> None:
    s2_local, worker, web = readme_commands()
    shop.start("s2-local", s2_local, "S2_ACCOUNT_ENDPOINT=")
    shop.start("worker", worker, " ready.")
    shop.start("web", web, "Booting worker")
    placed = _place_and_look_up(shop)
    web_output = shop.stop("web")
    worker_output = shop.stop("worker")
    assert "s2-otel:" not in web_output + worker_output  # no setup warning
    if shop.data_dir is not None:  # durable: a restart between the writes and the reads
        shop.stop("s2-local")
        shop.start("s2-local", s2_local, "S2_ACCOUNT_ENDPOINT=")

    with connect("local", shop.s2) as client:
        check_s2(client, placed)


def check_s2(client: S2, placed: dict[str, tuple[str, int, float | None]]) -> None:
    """What the shop left in S2, for the orders ``placed``."""
    # traces: POST orders -> apply_async -> run, one trace per order
    spans = _spans(client)
    by_id = {span.span_id: span for span in spans}
    traces: dict[str, bytes] = {}
    for span in spans:
        if span.name == "run/orders.tasks.process_order":
            publish = by_id[span.parent_span_id]
            request = by_id[publish.parent_span_id]
            assert publish.name == "apply_async/orders.tasks.process_order"
            assert request.name == "POST orders"
            assert span.trace_id == publish.trace_id == request.trace_id
            order_id = next(
                a.value.string_value for a in span.attributes if a.key == "messaging.message.id"
            )
            traces[order_id] = span.trace_id
    assert set(traces) == set(placed), (traces, placed)

    # log records from S2Handler, web and worker, with their trace ids
    events = [json.loads(r.body) for r in read_records(BASIN, "logs", client=client)]
    for order_id, (item, _, total) in placed.items():
        trace_id = traces[order_id].hex()
        mine = [e for e in events if e.get("trace_id") == trace_id]
        messages = {e["message"] for e in mine}
        assert "order placed" in messages, mine
        worker_says = "order processed" if total is not None else f"unknown item {item}"
        assert worker_says in messages, mine
        placed_event = next(e for e in mine if e["message"] == "order placed")
        assert placed_event["extra"]["order_id"] == order_id

    # the same log records through the OpenTelemetry logs exporter
    otel_logs = _otel_logs(client)
    for order_id in placed:
        assert ("order placed", traces[order_id]) in otel_logs
    assert sum(message == "order processed" for message, _ in otel_logs) == 2

    # the results, in their streams
    for order_id, (_, _, total) in placed.items():
        stream = f"orders/celery-task-meta-{order_id}"
        last = json.loads(list(read_records(BASIN, stream, client=client))[-1].body)
        if total is None:
            assert last["status"] == "FAILURE", last
        else:
            assert last["status"] == "SUCCESS" and last["result"]["total"] == total

    # HTTP metrics: every request counted (3 orders placed, 3 looked up, 1 refused)
    assert _requests_counted(client) == 7
