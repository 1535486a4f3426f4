"""OpenTelemetry spans exported to S2, then read back as OTLP TracesData."""

import os

from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from s2_otel import S2SpanExporter, read_traces
from s2_sdk.sync import connect

BASIN = os.environ.get("S2_EXAMPLE_BASIN", "python-examples")

with connect() as s2:
    s2.ensure_basin(BASIN)

provider = TracerProvider(resource=Resource.create({"service.name": "checkout"}))
exporter = S2SpanExporter(BASIN, "traces/{service_name}", encoding="otlp-json")
provider.add_span_processor(BatchSpanProcessor(exporter))
tracer = provider.get_tracer("example")
with tracer.start_as_current_span("place-order") as span:
    span.set_attribute("order.items", 3)
    with tracer.start_as_current_span("charge-card"):
        pass
provider.shutdown()  # flushes: returns once S2 acknowledged the spans

names = sorted(
    span.name
    for _, data in read_traces(BASIN, "traces/checkout")
    for resource_spans in data.resource_spans
    for scope_spans in resource_spans.scope_spans
    for span in scope_spans.spans
)
print("spans in S2:", names)
assert {"charge-card", "place-order"} <= set(names)
