"""Span export benchmark: spans/s through BatchSpanProcessor (defaults) into S2.

Usage: ``hatch run bench-otel``. Spans are created steadily for a few seconds on an
in-memory s2-local (child process); the figure is spans acknowledged by S2 per
second, with the processor's drops reported. Baseline in the same run: the same
load into the SDK's in-memory exporter (the processor's own ceiling). Last, the
exporter alone: ``export()`` of finished 512-span batches, nothing else running.
"""

from __future__ import annotations

import time
from collections.abc import Sequence

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
from s2_otel import S2SpanExporter
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


def main() -> None:
    server = ServerProcess().start()
    try:
        with connect("bench", server.endpoint) as client:
            client.create_basin("bench-otel")
        base_rate, base_n, base_created = run(InMemorySpanExporter())
        client = connect("bench", server.endpoint)
        rate, n, created = run(S2SpanExporter("bench-otel", "spans", client=client))
        alone = capacity(S2SpanExporter("bench-otel", "capacity", client=client))
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


if __name__ == "__main__":
    main()
