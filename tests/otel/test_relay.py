"""The relay forwards spans to a real OTLP/HTTP endpoint and resumes from its checkpoint."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from s2_otel import S2SpanExporter, relay
from s2_sdk import SeqNum
from s2_sdk.sync import S2
from support.rest import unique_basin


class Collector:
    """A minimal OTLP/HTTP trace receiver that keeps what it is sent."""

    def __init__(self) -> None:
        self.requests: list[ExportTraceServiceRequest] = []
        self.delay = 0.0  # seconds each POST takes, to slow a relay down
        collector = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["content-length"]))
                assert self.path == "/v1/traces"
                time.sleep(collector.delay)
                collector.requests.append(ExportTraceServiceRequest.FromString(body))
                self.send_response(200)
                self.send_header("content-length", "0")
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def span_names(self) -> list[str]:
        return [
            span.name
            for request in self.requests
            for rs in request.resource_spans
            for ss in rs.scope_spans
            for span in ss.spans
        ]

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def collector() -> Iterator[Collector]:
    c = Collector()
    yield c
    c.close()


def _export(basin: str, names: list[str]) -> None:
    exporter = S2SpanExporter(basin, "spans")
    provider = TracerProvider(resource=Resource.create({"service.name": "relay-test"}))
    tracer = provider.get_tracer("t")
    spans = []
    for name in names:
        with tracer.start_as_current_span(name) as span:
            pass
        spans.append(span)
    for span in spans:
        exporter.export([span])
    exporter.shutdown()


def _relay_process(basin: str, url: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "s2_otel", "relay", basin, "spans", "--otlp-endpoint", url, "--once",
         "--checkpoint-every", "10"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=os.environ,
    )  # fmt: skip


def test_relay_killed_mid_run_resumes_with_at_most_one_checkpoint_of_duplicates(
    client: S2, collector: Collector
) -> None:
    basin = unique_basin()
    client.create_basin(basin)
    names = [f"span-{i}" for i in range(150)]
    _export(basin, names)
    collector.delay = 0.01
    first = _relay_process(basin, collector.url)
    deadline = time.monotonic() + 60
    while len(collector.requests) < 40 and time.monotonic() < deadline:
        time.sleep(0.01)
    first.kill()  # SIGKILL: no cleanup, the checkpoint is wherever it was
    first.communicate(timeout=10)  # reaps it and closes its pipes
    assert first.returncode == -9, "the relay finished before it could be killed"
    seen_before_restart = len(collector.requests)
    assert 40 <= seen_before_restart < len(names)
    collector.delay = 0.0
    second = _relay_process(basin, collector.url)
    _, err = second.communicate(timeout=60)
    assert second.returncode == 0, err
    got = collector.span_names()
    assert list(dict.fromkeys(got)) == names  # every span, in order
    # only what was forwarded since the last checkpoint (every 10 records) may repeat
    assert len(got) - len(names) <= 10
    client.delete_basin(basin)


def test_relay_forwards_and_resumes_without_duplicates(client: S2, collector: Collector) -> None:
    basin = unique_basin()
    client.create_basin(basin)
    _export(basin, ["a", "b", "c"])
    assert relay(basin, "spans", collector.url, follow=False, client=client) == 3
    assert collector.span_names() == ["a", "b", "c"]
    checkpoints = client[basin]["spans.relay-checkpoint"].read(start=SeqNum(0)).records
    assert [json.loads(r.body) for r in checkpoints] == [{"seq_num": 2}]  # one per batch
    assert relay(basin, "spans", collector.url, follow=False, client=client) == 0
    _export(basin, ["d"])
    proc = subprocess.run(
        [sys.executable, "-m", "s2_otel", "relay", basin, "spans", "--otlp-endpoint", collector.url, "--once"],
        capture_output=True, text=True, timeout=60, env=os.environ,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert "forwarded 1 records" in proc.stdout
    assert collector.span_names() == ["a", "b", "c", "d"]
    client.delete_basin(basin)
