"""Logs and metrics beside spans: each signal into S2, read back, and relayed to an OTLP
receiver, in both encodings."""

from __future__ import annotations

import base64
import json
import logging
import os
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from google.protobuf import json_format
from opentelemetry.instrumentation.logging.handler import LoggingHandler
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import (
    ExportMetricsServiceRequest,
)
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.sdk._logs import LoggerProvider
from opentelemetry.sdk._logs.export import BatchLogRecordProcessor
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import AggregationTemporality, PeriodicExportingMetricReader
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from s2_local.pytest_plugin import S2TestServer
from s2_local.server import ServerProcess
from s2_otel import (
    S2LogExporter,
    S2MetricExporter,
    S2SpanExporter,
    read_logs,
    read_metrics,
    read_traces,
    relay,
)
from s2_sdk import Endpoints
from s2_sdk.sync import S2, read_records
from support.rest import unique_basin

ENCODINGS = ["otlp-proto", "otlp-json"]
REQUESTS = {
    "/v1/traces": ExportTraceServiceRequest,
    "/v1/logs": ExportLogsServiceRequest,
    "/v1/metrics": ExportMetricsServiceRequest,
}


class Receiver:
    """A local OTLP/HTTP receiver for all three signals, both encodings."""

    def __init__(self) -> None:
        self.got: dict[str, list[Any]] = {path: [] for path in REQUESTS}
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["content-length"]))
                message = REQUESTS[self.path]()
                if self.headers["content-type"] == "application/json":
                    data = json.loads(body)
                    _hex_ids_to_base64(data)
                    json_format.ParseDict(data, message)
                else:
                    message.ParseFromString(body)
                receiver.got[self.path].append(message)
                self.send_response(200)
                self.send_header("content-length", "0")
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


def _hex_ids_to_base64(data: object) -> None:
    if isinstance(data, dict):
        for key in ("traceId", "spanId", "parentSpanId"):
            if isinstance(data.get(key), str):
                data[key] = base64.b64encode(bytes.fromhex(data[key])).decode()
        for value in data.values():
            _hex_ids_to_base64(value)
    elif isinstance(data, list):
        for item in data:
            _hex_ids_to_base64(item)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    yield r
    r.server.shutdown()
    r.server.server_close()


def log_bodies(data: Any) -> list[str]:
    return [
        record.body.string_value
        for rl in data.resource_logs
        for sl in rl.scope_logs
        for record in sl.log_records
    ]


def metric_points(data: Any) -> dict[str, list[float]]:
    found: dict[str, list[float]] = {}
    for rm in data.resource_metrics:
        for sm in rm.scope_metrics:
            for metric in sm.metrics:
                kind = metric.WhichOneof("data")
                points = getattr(metric, kind).data_points
                values = [
                    p.as_int if p.HasField("as_int") else p.as_double
                    for p in points
                    if kind in ("sum", "gauge")
                ] or [float(p.count) for p in points]
                found.setdefault(metric.name, []).extend(values)
    return found


def _logs_pipeline(exporter: S2LogExporter) -> tuple[LoggerProvider, logging.Logger]:
    provider = LoggerProvider(resource=Resource.create({"service.name": "shop"}))
    provider.add_log_record_processor(BatchLogRecordProcessor(exporter))
    logger = logging.getLogger(f"app-{unique_basin()}")
    logger.propagate = False
    logger.setLevel(logging.INFO)
    logger.addHandler(LoggingHandler(logger_provider=provider))
    return provider, logger


@pytest.mark.parametrize("encoding", ENCODINGS)
def test_logs_round_trip_and_relay(
    client: S2, basin: str, receiver: Receiver, encoding: str
) -> None:
    provider, logger = _logs_pipeline(S2LogExporter(basin, encoding=encoding, client=client))  # type: ignore[arg-type]
    for i in range(5):
        logger.warning("order %d shipped", i)
    provider.force_flush()
    got = [body for _, data in read_logs(basin, client=client) for body in log_bodies(data)]
    assert got == [f"order {i} shipped" for i in range(5)]
    (record, *_) = read_records(basin, "logs", client=client)
    headers = dict(record.headers)
    assert headers[b"signal"] == b"logs" and headers[b"service.name"] == b"shop"
    assert relay(basin, "logs", receiver.url, follow=False, client=client) >= 1
    relayed = [b for req in receiver.got["/v1/logs"] for b in log_bodies(req)]
    assert relayed == got
    provider.shutdown()


@pytest.mark.parametrize("encoding", ENCODINGS)
def test_metrics_round_trip_and_relay(
    client: S2, basin: str, receiver: Receiver, encoding: str
) -> None:
    exporter = S2MetricExporter(basin, encoding=encoding, client=client)  # type: ignore[arg-type]
    reader = PeriodicExportingMetricReader(exporter, export_interval_millis=3_600_000)
    provider = MeterProvider(
        metric_readers=[reader], resource=Resource.create({"service.name": "shop"})
    )
    meter = provider.get_meter("orders")
    orders = meter.create_counter("orders")
    latency = meter.create_histogram("latency_ms")
    orders.add(3, {"region": "eu"})
    orders.add(4, {"region": "us"})
    for value in (5, 10, 20):
        latency.record(value)
    provider.force_flush()
    got = [metric_points(data) for _, data in read_metrics(basin, client=client)]
    assert sorted(got[-1]["orders"]) == [3, 4]
    assert got[-1]["latency_ms"] == [3.0]  # one histogram point counting three values
    assert relay(basin, "metrics", receiver.url, follow=False, client=client) >= 1
    relayed = [metric_points(req) for req in receiver.got["/v1/metrics"]]
    assert relayed == got
    provider.shutdown()


def test_spans_logs_and_metrics_share_one_relay(client: S2, basin: str, receiver: Receiver) -> None:
    """A stream may hold any mix of signals: each goes to its own OTLP path."""
    tracer_provider = TracerProvider(resource=Resource.create({"service.name": "mixed"}))
    tracer_provider.add_span_processor(
        SimpleSpanProcessor(S2SpanExporter(basin, "all", client=client))
    )
    with tracer_provider.get_tracer("t").start_as_current_span("checkout"):
        pass
    provider, logger = _logs_pipeline(S2LogExporter(basin, "all", client=client))
    logger.error("paid")
    provider.force_flush()
    assert relay(basin, "all", receiver.url, follow=False, client=client) == 2
    assert len(receiver.got["/v1/traces"]) == 1 and len(receiver.got["/v1/logs"]) == 1
    assert [n for _, d in read_traces(basin, "all", client=client) for n in _span_names(d)] == [
        "checkout"
    ]
    provider.shutdown()


def _span_names(data: Any) -> list[str]:
    return [s.name for rs in data.resource_spans for ss in rs.scope_spans for s in ss.spans]


def test_what_an_export_logs_is_not_exported_again() -> None:
    """With every logger at DEBUG going to OpenTelemetry, the libraries the export uses
    (hpack, s2_sdk) log during it: none of that comes back as log records. (The server
    runs in its own process: an s2-local in this one would log its side of every export.)"""
    server = ServerProcess().start()
    client = S2("t", endpoints=Endpoints(server.endpoint, server.endpoint))
    basin = unique_basin()
    client.create_basin(basin)
    exporter = S2LogExporter(basin, client=client)
    provider = LoggerProvider(resource=Resource.create({"service.name": "loop"}))
    provider.add_log_record_processor(BatchLogRecordProcessor(exporter))
    handler = LoggingHandler(logger_provider=provider)
    root = logging.getLogger()
    level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    try:
        logging.getLogger("app").info("the only record")
        for _ in range(3):
            provider.force_flush()
            time.sleep(0.2)
    finally:
        root.removeHandler(handler)
        root.setLevel(level)
    bodies = [b for _, data in read_logs(basin, client=client) for b in log_bodies(data)]
    assert bodies == ["the only record"]
    provider.shutdown()
    client.close()
    server.stop()


def test_oversized_metrics_are_split_into_valid_records(client: S2, basin: str) -> None:
    exporter = S2MetricExporter(basin, client=client)
    reader = PeriodicExportingMetricReader(exporter, export_interval_millis=3_600_000)
    provider = MeterProvider(metric_readers=[reader])
    counter = provider.get_meter("big").create_counter("wide")
    for i in range(1500):  # ~2.5 MiB of data points in one metric (under the SDK's 2,000 cap)
        counter.add(1, {"key": f"{i:05d}-" + "x" * 1700})
    provider.force_flush()
    records = list(read_metrics(basin, client=client))
    assert len(records) >= 3  # split by data points, each a valid MetricsData
    assert sum(len(metric_points(d)["wide"]) for _, d in records) == 1500
    assert exporter.dropped == 0
    provider.shutdown()


def test_an_unreachable_s2_fails_the_export_within_its_timeout() -> None:
    nowhere = S2("t", endpoints=Endpoints("http://127.0.0.1:9", "http://127.0.0.1:9"))
    exporter = S2LogExporter("some-basin", client=nowhere, timeout=1.0)
    provider, logger = _logs_pipeline(exporter)
    started = time.monotonic()
    logger.warning("lost")
    logger.warning("also lost")
    provider.force_flush()
    assert time.monotonic() - started < 5
    assert exporter.dropped == 2
    provider.shutdown()
    nowhere.close()


def test_settings_per_signal(monkeypatch: pytest.MonkeyPatch, client: S2) -> None:
    monkeypatch.setenv("OTEL_EXPORTER_S2_BASIN", "all-signals")
    monkeypatch.setenv("OTEL_EXPORTER_S2_STREAM", "spans-{service_name}")
    monkeypatch.setenv("OTEL_EXPORTER_S2_METRICS_BASIN", "metrics-basin")
    monkeypatch.setenv("OTEL_EXPORTER_S2_LOGS_STREAM", "app-logs")
    monkeypatch.setenv("OTEL_EXPORTER_S2_ENCODING", "otlp-json")
    spans, logs, metrics = (
        S2SpanExporter(client=client),
        S2LogExporter(client=client),
        S2MetricExporter(client=client),
    )
    assert (spans.basin, spans.stream) == ("all-signals", "spans-{service_name}")
    assert (logs.basin, logs.stream) == ("all-signals", "app-logs")
    assert (metrics.basin, metrics.stream) == ("metrics-basin", "metrics")
    assert {spans.encoding, logs.encoding, metrics.encoding} == {"otlp-json"}
    assert S2LogExporter("explicit", "named", client=client).stream == "named"
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE", "delta")
    from opentelemetry.sdk.metrics import Counter

    delta = S2MetricExporter(client=client)
    assert delta._preferred_temporality[Counter] is AggregationTemporality.DELTA


def test_opentelemetry_instrument_exports_all_three_signals(
    s2_env: S2TestServer, client: S2, basin: str, tmp_path: Path
) -> None:
    app = tmp_path / "app.py"
    app.write_text(
        textwrap.dedent(
            """
            import logging
            from opentelemetry import metrics, trace
            logging.getLogger("app").warning("hello from the app")
            with trace.get_tracer("app").start_as_current_span("work"):
                metrics.get_meter("app").create_counter("jobs").add(2)
            """
        )
    )
    env = {**os.environ, "OTEL_EXPORTER_S2_BASIN": basin, "OTEL_SERVICE_NAME": "instrumented"}
    command = Path(sys.executable).parent / "opentelemetry-instrument"
    done = subprocess.run(
        [str(command), "--traces_exporter", "s2", "--logs_exporter", "s2",
         "--metrics_exporter", "s2", sys.executable, str(app)],
        capture_output=True, text=True, timeout=120, env=env,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "s2-otel:" not in done.stderr  # nothing is missing for the s2 exporters
    spans = [n for _, d in read_traces(basin, client=client) for n in _span_names(d)]
    assert spans == ["work"]
    logs = [b for _, d in read_logs(basin, client=client) for b in log_bodies(d)]
    assert logs == ["hello from the app"]
    points = [metric_points(d).get("jobs") for _, d in read_metrics(basin, client=client)]
    assert [2] in points


def test_the_relay_retries_as_otlp_says(client: S2, basin: str) -> None:
    """429/503 with Retry-After are waited out; a 400 stops the relay with an error."""
    answers = [(503, "1"), (429, "0"), (200, None)]
    seen: list[float] = []

    class Flaky(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            self.rfile.read(int(self.headers["content-length"]))
            seen.append(time.monotonic())
            status, retry_after = answers.pop(0) if answers else (400, None)
            self.send_response(status)
            if retry_after is not None:
                self.send_header("retry-after", retry_after)
            self.send_header("content-length", "0")
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Flaky)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}"
    provider, logger = _logs_pipeline(S2LogExporter(basin, client=client))
    logger.warning("first")
    provider.force_flush()
    try:
        assert relay(basin, "logs", url, follow=False, client=client, retry_delay=0.05) == 1
        assert len(seen) == 3 and seen[1] - seen[0] >= 0.9  # waited the Retry-After
        logger.warning("second")
        provider.force_flush()
        with pytest.raises(RuntimeError, match="400"):
            relay(basin, "logs", url, follow=False, client=client)
    finally:
        server.shutdown()
        server.server_close()
        provider.shutdown()


@pytest.mark.parametrize("encoding", ENCODINGS)
def test_traces_round_trip_and_relay(
    client: S2, basin: str, receiver: Receiver, encoding: str
) -> None:
    provider = TracerProvider(resource=Resource.create({"service.name": "shop"}))
    exporter = S2SpanExporter(basin, encoding=encoding, client=client)  # type: ignore[arg-type]
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    tracer = provider.get_tracer("t")
    with tracer.start_as_current_span("checkout"), tracer.start_as_current_span("pay"):
        pass
    got = [n for _, d in read_traces(basin, client=client) for n in _span_names(d)]
    assert got == ["pay", "checkout"]
    assert relay(basin, "traces", receiver.url, follow=False, client=client) == 2
    relayed = [n for req in receiver.got["/v1/traces"] for n in _span_names(req)]
    assert relayed == got
    pay = receiver.got["/v1/traces"][0].resource_spans[0].scope_spans[0].spans[0]
    checkout = receiver.got["/v1/traces"][1].resource_spans[0].scope_spans[0].spans[0]
    assert pay.parent_span_id == checkout.span_id  # ids survive either encoding
    provider.shutdown()
