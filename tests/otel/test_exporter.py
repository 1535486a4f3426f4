"""S2SpanExporter against s2-local: encodings, splitting, env config, failures, read-back."""

from __future__ import annotations

import threading
import time
from importlib.metadata import entry_points

import pytest
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor, SpanExportResult
from s2_local.pytest_plugin import S2TestServer
from s2_otel import S2SpanExporter, read_traces
from s2_sdk.sync import S2, connect, read_records


def _provider(exporter: S2SpanExporter, service: str = "checkout") -> TracerProvider:
    provider = TracerProvider(resource=Resource.create({"service.name": service}))
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    return provider


def _spans(client: S2, basin: str, stream: str) -> list:
    out = []
    for _, data in read_traces(basin, stream, client=client):
        for rs in data.resource_spans:
            for ss in rs.scope_spans:
                out += [(rs, span) for span in ss.spans]
    return out


@pytest.mark.parametrize("encoding", ["otlp-proto", "otlp-json"])
def test_spans_round_trip(client: S2, basin: str, encoding: str) -> None:
    exporter = S2SpanExporter(basin, "traces", encoding=encoding)  # type: ignore[arg-type]
    provider = _provider(exporter)
    tracer = provider.get_tracer("shop")
    with (
        tracer.start_as_current_span("checkout") as parent,
        tracer.start_as_current_span("charge-card") as child,
    ):
        child.set_attribute("amount", 12)
    provider.shutdown()
    got = _spans(client, basin, "traces")
    assert [s.name for _, s in got] == ["charge-card", "checkout"]
    rs, charge = got[0]
    assert charge.trace_id == parent.get_span_context().trace_id.to_bytes(16, "big")
    assert charge.span_id == child.get_span_context().span_id.to_bytes(8, "big")
    assert charge.parent_span_id == parent.get_span_context().span_id.to_bytes(8, "big")
    attrs = {a.key: a.value for a in rs.resource.attributes}
    assert attrs["service.name"].string_value == "checkout"
    record, *_ = read_records(basin, "traces", client=client)
    headers = dict(record.headers)
    assert headers[b"signal"] == b"traces" and headers[b"service.name"] == b"checkout"
    assert headers[b"content-type"] == (
        b"application/x-protobuf" if encoding == "otlp-proto" else b"application/json"
    )


def test_large_batches_split_into_valid_records(client: S2, basin: str) -> None:
    exporter = S2SpanExporter(basin, "big")
    provider = TracerProvider(resource=Resource.create({"service.name": "bulk"}))
    tracer = provider.get_tracer("bulk")
    spans = []
    for i in range(1500):
        with tracer.start_as_current_span(f"op-{i}") as span:
            span.set_attribute("payload", "x" * 2000)
        spans.append(span)
    assert exporter.export(spans) is SpanExportResult.SUCCESS
    exporter.shutdown()
    got = list(read_records(basin, "big", client=client))
    sizes = [len(r.body) for r in got]
    assert len(sizes) > 2 and max(sizes) < 1024 * 1024
    names = [s.name for _, s in _spans(client, basin, "big")]
    assert names == [f"op-{i}" for i in range(1500)]


def test_environment_configuration_and_entry_point(
    client: S2, basin: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OTEL_EXPORTER_S2_BASIN", basin)
    monkeypatch.setenv("OTEL_EXPORTER_S2_STREAM", "traces/{service_name}")
    monkeypatch.setenv("OTEL_EXPORTER_S2_ENCODING", "otlp-json")
    (ep,) = [e for e in entry_points(group="opentelemetry_traces_exporter") if e.name == "s2"]
    exporter_class = ep.load()
    assert exporter_class is S2SpanExporter
    exporter = exporter_class()
    provider = _provider(exporter, service="billing")
    with provider.get_tracer("t").start_as_current_span("invoice"):
        pass
    provider.shutdown()
    assert [s.name for _, s in _spans(client, basin, "traces/billing")] == ["invoice"]


def test_concurrent_exports(client: S2, basin: str) -> None:
    exporter = S2SpanExporter(basin, "threads")
    provider = _provider(exporter)
    tracer = provider.get_tracer("t")

    def work(i: int) -> None:
        for j in range(20):
            with tracer.start_as_current_span(f"t{i}-{j}"):
                pass

    threads = [threading.Thread(target=work, args=(i,)) for i in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    provider.shutdown()
    assert len(_spans(client, basin, "threads")) == 120


def test_failures_are_results_not_exceptions(s2_env: S2TestServer) -> None:
    provider = TracerProvider()
    span = provider.get_tracer("t").start_span("lost")
    span.end()
    with connect("t", "http://127.0.0.1:9") as unreachable:
        down = S2SpanExporter("any-basin-name", "x", timeout=2, client=unreachable)
        started = time.monotonic()
        assert down.export([span]) is SpanExportResult.FAILURE
        assert time.monotonic() - started < 10
    exporter = S2SpanExporter("any-basin-name", "x")
    exporter.shutdown()
    assert exporter.export([span]) is SpanExportResult.FAILURE
    assert exporter.force_flush() is True
    with pytest.raises(ValueError):
        S2SpanExporter()


@pytest.mark.parametrize("encoding", ["otlp-proto", "otlp-json"])
def test_events_links_and_resource_round_trip(client: S2, basin: str, encoding: str) -> None:
    exporter = S2SpanExporter(basin, f"rich-{encoding}", encoding=encoding)  # type: ignore[arg-type]
    provider = TracerProvider(
        resource=Resource.create({"service.name": "rich", "deployment.environment": "test"})
    )
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    tracer = provider.get_tracer("rich", "1.2.3")
    with tracer.start_as_current_span("linked-to") as target:
        pass
    from opentelemetry.trace import Link

    with tracer.start_as_current_span(
        "rich", links=[Link(target.get_span_context(), {"why": "retry"})]
    ) as span:
        span.add_event("checkpoint", {"step": 3})
        span.set_attribute("ratio", 0.5)
    provider.shutdown()
    got = {s.name: (rs, s) for rs, s in _spans(client, basin, f"rich-{encoding}")}
    rs, rich = got["rich"]
    assert [
        (e.name, e.attributes[0].key, e.attributes[0].value.int_value) for e in rich.events
    ] == [("checkpoint", "step", 3)]
    (link,) = rich.links
    assert link.span_id == target.get_span_context().span_id.to_bytes(8, "big")
    assert link.attributes[0].value.string_value == "retry"
    attrs = {a.key: a.value.string_value for a in rs.resource.attributes}
    assert attrs["deployment.environment"] == "test"
    assert rs.scope_spans[0].scope.name == "rich" and rs.scope_spans[0].scope.version == "1.2.3"


def test_sdk_auto_configuration_selects_s2(
    client: S2, basin: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from opentelemetry.sdk._configuration import _import_exporters

    monkeypatch.setenv("OTEL_EXPORTER_S2_BASIN", basin)
    span_exporters, _, _ = _import_exporters(["s2"], [], [])
    assert span_exporters == {"s2": S2SpanExporter}


def test_shutdown_is_bounded_when_the_server_is_gone(s2_env: S2TestServer) -> None:
    with connect("t", "http://127.0.0.1:9") as unreachable:
        exporter = S2SpanExporter("any-basin-name", "x", timeout=1, client=unreachable)
        provider = TracerProvider()
        provider.add_span_processor(SimpleSpanProcessor(exporter))
        started = time.monotonic()
        with provider.get_tracer("t").start_as_current_span("lost"):
            pass
        provider.shutdown()
        assert time.monotonic() - started < 10
