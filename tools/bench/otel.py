"""OpenTelemetry export benchmark: spans, logs and metrics into S2.

Usage: ``hatch run bench-otel``, against an in-memory s2-local (child process).

- Spans: created steadily for a few seconds through ``BatchSpanProcessor`` (defaults);
  spans acknowledged by S2 per second, the processor's drops reported. Baseline in the
  same run: the same load into the SDK's in-memory exporter. Then the exporter alone:
  ``export()`` of finished 512-span batches.
- Logs: stdlib ``logging`` through OpenTelemetry's ``LoggingHandler`` and
  ``BatchLogRecordProcessor`` (defaults), the path users take; records/s, against the
  in-memory log exporter on the same path.
- Metrics: the client CPU (``process_time``, every thread) of exporting 10,000 data
  points as OTLP protobuf, against encoding them alone.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from typing import Any

from opentelemetry.exporter.otlp.proto.common.metrics_encoder import encode_metrics
from opentelemetry.instrumentation.logging.handler import LoggingHandler
from opentelemetry.sdk._logs import LoggerProvider
from opentelemetry.sdk._logs.export import (
    BatchLogRecordProcessor,
    InMemoryLogRecordExporter,
    LogRecordExporter,
    LogRecordExportResult,
)
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader, MetricsData
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import (
    BatchSpanProcessor,
    SimpleSpanProcessor,
    SpanExporter,
    SpanExportResult,
)
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from s2_local.server import ServerProcess
from s2_otel import S2LogExporter, S2MetricExporter, S2SpanExporter
from s2_sdk.sync import connect

SECONDS = 5.0


class Counting(SpanExporter):
    """Counts spans its inner exporter accepted."""

    def __init__(self, inner: SpanExporter) -> None:
        self.inner = inner
        self.exported = 0

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        result = self.inner.export(spans)
        if result is SpanExportResult.SUCCESS:
            self.exported += len(spans)
        return result

    def shutdown(self) -> None:
        self.inner.shutdown()


def run(exporter: SpanExporter) -> tuple[float, int, int]:
    counting = Counting(exporter)
    provider = TracerProvider(resource=Resource.create({"service.name": "bench"}))
    provider.add_span_processor(BatchSpanProcessor(counting))
    tracer = provider.get_tracer("bench")
    created = 0
    start = time.perf_counter()
    while time.perf_counter() - start < SECONDS:
        for _ in range(100):
            with tracer.start_as_current_span("work") as span:
                span.set_attribute("item", created)
            created += 1
        time.sleep(0.0005)
    provider.force_flush()
    elapsed = time.perf_counter() - start
    provider.shutdown()
    return counting.exported / elapsed, counting.exported, created


def capacity(exporter: SpanExporter, rounds: int = 40) -> float:
    """Spans/s ``exporter.export`` takes when fed finished 512-span batches directly."""
    memory = InMemorySpanExporter()
    provider = TracerProvider(resource=Resource.create({"service.name": "bench"}))
    provider.add_span_processor(SimpleSpanProcessor(memory))
    tracer = provider.get_tracer("bench")
    for i in range(512):
        with tracer.start_as_current_span("work") as span:
            span.set_attribute("item", i)
    spans = memory.get_finished_spans()
    start = time.perf_counter()
    for _ in range(rounds):
        assert exporter.export(spans) is SpanExportResult.SUCCESS
    return rounds * len(spans) / (time.perf_counter() - start)


class CountingLogs(LogRecordExporter):
    """Counts log records its inner exporter accepted."""

    def __init__(self, inner: LogRecordExporter) -> None:
        self.inner = inner
        self.exported = 0

    def export(self, batch: Sequence[Any]) -> LogRecordExportResult:
        result = self.inner.export(batch)
        if result is LogRecordExportResult.SUCCESS:
            self.exported += len(batch)
        return result

    def force_flush(self, timeout_millis: int = 30_000) -> bool:
        return True

    def shutdown(self) -> None:
        self.inner.shutdown()


def run_logs(exporter: LogRecordExporter) -> tuple[float, int, int]:
    """Log records/s delivered through logging -> LoggingHandler -> BatchLogRecordProcessor."""
    counting = CountingLogs(exporter)
    provider = LoggerProvider(resource=Resource.create({"service.name": "bench"}))
    provider.add_log_record_processor(BatchLogRecordProcessor(counting))
    logger = logging.getLogger(f"bench-{id(exporter)}")
    logger.propagate = False
    logger.setLevel(logging.INFO)
    handler = LoggingHandler(logger_provider=provider)
    logger.addHandler(handler)
    created = 0
    start = time.perf_counter()
    while time.perf_counter() - start < SECONDS:
        for _ in range(100):
            logger.info("order %d shipped", created)
            created += 1
        time.sleep(0.002)
    provider.force_flush()
    elapsed = time.perf_counter() - start
    logger.removeHandler(handler)
    provider.shutdown()
    return counting.exported / elapsed, counting.exported, created


def metrics_data(points: int = 10_000) -> MetricsData:
    """``points`` data points: five counters of 2,000 attribute sets each."""
    reader = InMemoryMetricReader()
    provider = MeterProvider(metric_readers=[reader])
    meter = provider.get_meter("bench")
    per_metric = 2_000
    for m in range(points // per_metric):
        counter = meter.create_counter(f"requests_{m}")
        for i in range(per_metric):
            counter.add(i + 1, {"route": f"/v1/items/{i}", "status": "200"})
    data = reader.get_metrics_data()
    assert data is not None
    provider.shutdown()
    return data


def metrics_cpu(exporter: S2MetricExporter, rounds: int = 5) -> tuple[float, float]:
    """CPU seconds of exporting the data, and of encoding it alone (medians)."""
    data = metrics_data()
    exported, encoded = [], []
    for _ in range(rounds):
        t = time.process_time()
        encode_metrics(data).SerializeToString()
        encoded.append(time.process_time() - t)
        t = time.process_time()
        assert exporter.export(data).name == "SUCCESS"
        exported.append(time.process_time() - t)
    return sorted(exported)[rounds // 2], sorted(encoded)[rounds // 2]


def main() -> None:
    server = ServerProcess().start()
    try:
        with connect("bench", server.endpoint) as client:
            client.create_basin("bench-otel")
        base_rate, base_n, base_created = run(InMemorySpanExporter())
        client = connect("bench", server.endpoint)
        rate, n, created = run(S2SpanExporter("bench-otel", "spans", client=client))
        alone = capacity(S2SpanExporter("bench-otel", "capacity", client=client))
        log_base, log_base_n, log_base_created = run_logs(InMemoryLogRecordExporter())
        log_rate, log_n, log_created = run_logs(S2LogExporter("bench-otel", "logs", client=client))
        export_cpu, encode_cpu = metrics_cpu(S2MetricExporter("bench-otel", client=client))
        client.close()
    finally:
        server.stop()
    print(
        f"in-memory exporter (baseline): {base_rate:,.0f} spans/s "
        f"({base_n:,} of {base_created:,} created)"
    )
    print(
        f"S2SpanExporter: {rate:,.0f} spans/s exported ({n:,} of {created:,} created; "
        f"{created - n:,} dropped by the processor), ratio {rate / base_rate:.2f} "
        "(target >= 20k spans/s)"
    )
    print(f"S2SpanExporter alone, fed 512-span batches: {alone:,.0f} spans/s")
    print(
        f"logs through LoggingHandler + BatchLogRecordProcessor: in-memory {log_base:,.0f}/s "
        f"({log_base_n:,} of {log_base_created:,}); S2LogExporter {log_rate:,.0f}/s "
        f"({log_n:,} of {log_created:,}, {log_created - log_n:,} dropped), ratio "
        f"{log_rate / log_base:.2f} (target >= 0.8, nothing dropped)"
    )
    print(
        f"metrics, 10,000 data points as OTLP protobuf: export {export_cpu * 1000:.1f} ms CPU, "
        f"encoding alone {encode_cpu * 1000:.1f} ms, ratio {export_cpu / encode_cpu:.2f} "
        "(target <= 2)"
    )


if __name__ == "__main__":
    main()
