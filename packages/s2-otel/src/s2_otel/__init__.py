"""s2-otel: OpenTelemetry exporters writing spans, logs and metrics to S2 streams, readers
for them, and a relay forwarding them to an OTLP collector.

Example::

    from opentelemetry import trace
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor
    from s2_otel import S2SpanExporter

    provider = TracerProvider(resource=Resource.create({"service.name": "checkout"}))
    provider.add_span_processor(BatchSpanProcessor(S2SpanExporter("my-basin", "traces")))
    trace.set_tracer_provider(provider)

Or with no code, for all three signals::

    OTEL_EXPORTER_S2_BASIN=my-basin opentelemetry-instrument --traces_exporter s2 \
        --logs_exporter s2 --metrics_exporter s2 python app.py
"""

from importlib.metadata import version as _version

from s2_otel.exporter import S2LogExporter, S2MetricExporter, S2SpanExporter
from s2_otel.instrumentation import S2Instrumentor, extract_context, with_trace_context
from s2_otel.reader import decode_record, read_logs, read_metrics, read_traces
from s2_otel.relay import relay

__version__ = _version("s2-otel")

__all__ = [
    "S2Instrumentor",
    "S2LogExporter",
    "S2MetricExporter",
    "S2SpanExporter",
    "__version__",
    "decode_record",
    "extract_context",
    "read_logs",
    "read_metrics",
    "read_traces",
    "relay",
    "with_trace_context",
]
