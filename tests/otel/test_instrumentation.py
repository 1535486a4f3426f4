"""S2Instrumentor: client spans and trace propagation from producer to consumer through S2."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest
from opentelemetry.instrumentation.utils import suppress_instrumentation
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind
from s2_local.pytest_plugin import S2TestServer
from s2_otel import S2Instrumentor, extract_context
from s2_sdk import S2, AppendInput, Endpoints, ReadLimit, Record, SeqNum
from s2_sdk import sync as blocking
from support.rest import unique_basin


@pytest.fixture
def traced() -> Iterator[tuple[TracerProvider, InMemorySpanExporter]]:
    memory = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(memory))
    instrumentor = S2Instrumentor()
    instrumentor.instrument(tracer_provider=provider)
    yield provider, memory
    instrumentor.uninstrument()
    assert not instrumentor.is_instrumented_by_opentelemetry


async def test_spans_and_propagation(
    s2_server: S2TestServer, traced: tuple[TracerProvider, InMemorySpanExporter]
) -> None:
    provider, memory = traced
    tracer = provider.get_tracer("app")
    endpoints = Endpoints(s2_server.account_endpoint, s2_server.basin_endpoint)
    name = unique_basin()
    async with S2("t", endpoints=endpoints) as s2:
        await s2.create_basin(name)
        await s2[name].create_stream("orders")
        stream = s2[name]["orders"]
        with tracer.start_as_current_span("checkout") as checkout:
            await stream.append(AppendInput([Record(body=b"order-1")]))
            async with stream.producer() as producer:
                await (await producer.submit(Record(body=b"order-2")))
        consumed = []
        async with stream.read_session(start=SeqNum(0), limit=ReadLimit(count=2)) as session:
            async for batch in session:
                for record in batch.records:
                    with tracer.start_as_current_span(
                        "handle", context=extract_context(record)
                    ) as handle:
                        consumed.append(handle)
        await stream.read(start=SeqNum(0))
        await s2.delete_basin(name)
    finished = memory.get_finished_spans()
    spans = {s.name: s for s in finished}
    sends = [s for s in finished if s.name == "send orders"]
    assert len(sends) == 2  # the unary append, then the producer's session batch
    send = sends[0]
    assert send.kind is SpanKind.PRODUCER
    assert send.attributes["messaging.system"] == "s2"
    assert send.attributes["messaging.destination.name"] == "orders"
    assert send.attributes["s2.basin"] == name
    assert send.attributes["messaging.batch.message_count"] == 1
    assert send.parent.span_id == checkout.get_span_context().span_id
    trace_id = checkout.get_span_context().trace_id
    assert [h.get_span_context().trace_id for h in consumed] == [trace_id, trace_id]
    parents = [h.parent.span_id for h in consumed if h.parent is not None]
    assert parents == [s.context.span_id for s in sends]
    assert spans["receive orders"].kind is SpanKind.CONSUMER
    assert "s2 create_basin" in spans and "s2 create_stream" in spans
    receives = [s for s in memory.get_finished_spans() if s.name == "receive orders" and s.links]
    assert receives and receives[0].links[0].context.trace_id == trace_id


def test_opentelemetry_instrument_enables_it(s2_env: S2TestServer) -> None:
    """`opentelemetry-instrument` finds S2Instrumentor through its entry point."""
    program = textwrap.dedent(
        """
        from s2_otel import S2Instrumentor
        print("instrumented" if S2Instrumentor().is_instrumented_by_opentelemetry else "not")
        """
    )
    command = Path(sys.executable).parent / "opentelemetry-instrument"
    env = {
        **os.environ,
        "OTEL_TRACES_EXPORTER": "none",
        "OTEL_METRICS_EXPORTER": "none",
        "OTEL_LOGS_EXPORTER": "none",
    }
    done = subprocess.run(
        [str(command), sys.executable, "-c", program],
        capture_output=True, text=True, timeout=60, env=env,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "instrumented"


def test_suppressed_and_background_work_is_not_traced(
    s2_server: S2TestServer, traced: tuple[TracerProvider, InMemorySpanExporter]
) -> None:
    _, memory = traced
    endpoints = Endpoints(s2_server.account_endpoint, s2_server.basin_endpoint)
    name = unique_basin()
    with blocking.S2("t", endpoints=endpoints) as client:  # runs on the background thread
        client.create_basin(name)
        client.delete_basin(name)

    async def suppressed() -> None:
        async with S2("t", endpoints=endpoints) as s2:
            with suppress_instrumentation():
                await s2.create_basin(name + "-x")
            await s2.delete_basin(name + "-x")

    asyncio.run(suppressed())
    assert [s.name for s in memory.get_finished_spans()] == ["s2 delete_basin"]
