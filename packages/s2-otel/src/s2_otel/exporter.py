"""OpenTelemetry exporters writing spans, logs and metrics to S2 streams.

Each record is one valid OTLP message of its signal (``TracesData``, ``LogsData`` or
``MetricsData``, the same bytes as the OTLP export request), OTLP protobuf or OTLP/JSON,
with the headers ``content-type``, ``signal`` and ``service.name``. Batches are split into
records under S2's 1 MiB limit and regrouped so that each stays valid. An export returns
only once S2 acknowledged its records or its timeout passed, SUCCESS or FAILURE, never an
exception; it is thread-safe.

Settings (constructor arguments win over the environment): ``OTEL_EXPORTER_S2_BASIN``,
``OTEL_EXPORTER_S2_ENCODING`` (``otlp-proto`` or ``otlp-json``) and
``OTEL_EXPORTER_S2_TIMEOUT`` (seconds, default 10) for every signal;
``OTEL_EXPORTER_S2_STREAM`` names the spans' stream (default ``traces``), logs and metrics
default to ``logs`` and ``metrics``; ``OTEL_EXPORTER_S2_{TRACES,LOGS,METRICS}_{BASIN,STREAM}``
win over all of these. ``{service_name}`` in a stream name is the resource's
``service.name``. Where S2 is comes from the ``S2_*`` variables.
"""

from __future__ import annotations

import contextlib
import json
import os
import random
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import Any, ClassVar, Generic, Literal, TypeVar

import s2_sdk
from opentelemetry.context import attach, detach
from opentelemetry.exporter.otlp.proto.common._log_encoder import encode_logs
from opentelemetry.exporter.otlp.proto.common.metrics_encoder import encode_metrics
from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
from opentelemetry.sdk.metrics.export import (
    AggregationTemporality,
    Metric,
    MetricExporter,
    MetricExportResult,
    MetricsData,
    ResourceMetrics,
    ScopeMetrics,
)
from opentelemetry.sdk.metrics.view import Aggregation
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export import SpanExporter, SpanExportResult
from opentelemetry.trace import NonRecordingSpan, SpanContext, TraceFlags, set_span_in_context
from s2_sdk import AppendInput, Record, S2Error, S2ServerError
from s2_sdk.protocol import MAX_RECORD_METERED_BYTES, ErrorCode
from s2_sdk.sync import S2, append_record_batches, connect

from s2_otel.celery_workers import flush_at_pool_process_exit

try:  # the SDK's logs API was renamed in 1.3x
    from opentelemetry.sdk._logs.export import LogRecordExporter as _LogExporter
    from opentelemetry.sdk._logs.export import LogRecordExportResult as _LogResult
except ImportError:  # pragma: no cover - older SDKs
    from opentelemetry.sdk._logs.export import (  # type: ignore[attr-defined,no-redef,assignment,unused-ignore]
        LogExporter as _LogExporter,
    )
    from opentelemetry.sdk._logs.export import (  # type: ignore[attr-defined,no-redef,assignment,unused-ignore]
        LogExportResult as _LogResult,
    )

__all__ = ["CONTENT_TYPES", "Encoding", "S2LogExporter", "S2MetricExporter", "S2SpanExporter"]

Encoding = Literal["otlp-proto", "otlp-json"]
CONTENT_TYPES: dict[str, bytes] = {
    "otlp-proto": b"application/x-protobuf",
    "otlp-json": b"application/json",
}
_HEADER_ROOM = 512
_EXPORT_SPAN = SpanContext(
    trace_id=random.getrandbits(128) | 1,
    span_id=random.getrandbits(64) | 1,
    is_remote=False,
    trace_flags=TraceFlags(TraceFlags.DEFAULT),
)
"""The (unsampled) span an export's own work runs in: log records carry its trace id
even once a batch processor dropped their context, so what is logged during an export
(by s2_sdk, hpack, h2, this package) is recognised and not exported again."""
Unit = TypeVar("Unit")


class _S2Export(Generic[Unit]):
    """What the three exporters share: settings, records under the limit, appending."""

    signal: ClassVar[str]

    def __init__(
        self,
        basin: str | None = None,
        stream: str | None = None,
        *,
        encoding: Encoding | None = None,
        timeout: float | None = None,
        client: S2 | None = None,
    ) -> None:
        env = os.environ.get
        kind = self.signal.upper()
        chosen_basin = (
            basin or env(f"OTEL_EXPORTER_S2_{kind}_BASIN") or env("OTEL_EXPORTER_S2_BASIN")
        )
        if not chosen_basin:
            raise ValueError(
                f"{type(self).__name__} needs a basin (OTEL_EXPORTER_S2_BASIN or "
                f"OTEL_EXPORTER_S2_{kind}_BASIN)"
            )
        self.basin: str = chosen_basin
        self.stream = (
            stream
            or env(f"OTEL_EXPORTER_S2_{kind}_STREAM")
            or (env("OTEL_EXPORTER_S2_STREAM") if self.signal == "traces" else None)
            or self.signal
        )
        chosen = encoding or env("OTEL_EXPORTER_S2_ENCODING") or "otlp-proto"
        if chosen not in CONTENT_TYPES:
            raise ValueError(f"encoding must be otlp-proto or otlp-json, not {chosen!r}")
        self.encoding: Encoding = chosen  # type: ignore[assignment]
        self.timeout = float(timeout or env("OTEL_EXPORTER_S2_TIMEOUT") or 10.0)
        self._client = client or connect()
        self._owns_client = client is None
        self._shutdown = threading.Event()
        self._created: set[str] = set()
        self._lock = threading.Lock()  # guards dropped (exports may run concurrently)
        self.dropped = 0
        """Items (spans, log records, data points) not stored: too large for a record
        (over 1 MiB encoded), or in an export that failed."""
        flush_at_pool_process_exit()

    # -- what each signal provides ---------------------------------------------------

    def _encode(self, units: list[Unit]) -> bytes:
        raise NotImplementedError

    def _halve(self, units: list[Unit]) -> tuple[list[Unit], list[Unit]] | None:
        """Two halves of ``units`` (None when they cannot be split further)."""
        if len(units) < 2:
            return None
        half = len(units) // 2
        return units[:half], units[half:]

    def _count(self, units: list[Unit]) -> int:
        return len(units)

    # -- shared ----------------------------------------------------------------------

    def _write(self, groups: list[tuple[Resource, list[Unit]]]) -> bool:
        """Append every group's units to its resource's stream; whether all were stored."""
        if self._shutdown.is_set():
            return False
        deadline = time.monotonic() + self.timeout
        token = attach(set_span_in_context(NonRecordingSpan(_EXPORT_SPAN)))
        try:
            by_stream: dict[str, list[Record]] = {}
            dropped = 0
            for resource, units in groups:
                records, too_large = self._records(units, _service(resource))
                by_stream.setdefault(self._stream_for(resource), []).extend(records)
                dropped += too_large
            stored = self._store(by_stream, deadline)
        except Exception:  # an item the encoder cannot take: the export fails, never raises
            stored = False
        finally:
            detach(token)
        if not stored:
            dropped = sum(self._count(units) for _, units in groups)
        if dropped:
            with self._lock:
                self.dropped += dropped
        return not dropped

    def _records(self, units: list[Unit], service: str) -> tuple[list[Record], int]:
        """Records each under the limit (units split in halves as needed), and how many
        items fit in no record."""
        body = self._encode(units)
        if len(body) + _HEADER_ROOM <= MAX_RECORD_METERED_BYTES:
            headers = [
                (b"content-type", CONTENT_TYPES[self.encoding]),
                (b"signal", self.signal.encode()),
                (b"service.name", service.encode()),
            ]
            return [Record(body=body, headers=headers, timestamp=int(time.time() * 1000))], 0
        halves = self._halve(units)
        if halves is None:
            return [], self._count(units)
        first, dropped_first = self._records(halves[0], service)
        second, dropped_second = self._records(halves[1], service)
        return first + second, dropped_first + dropped_second

    def _stream_for(self, resource: Resource) -> str:
        return self.stream.replace("{service_name}", _service(resource))

    def _store(self, by_stream: dict[str, list[Record]], deadline: float) -> bool:
        if not any(by_stream.values()):
            return True

        async def append(s2: s2_sdk.S2) -> None:
            basin = s2[self.basin]
            for stream, records in by_stream.items():
                if stream not in self._created:
                    try:
                        await basin.create_stream(stream)
                    except S2ServerError as e:
                        if e.code != ErrorCode.RESOURCE_ALREADY_EXISTS:
                            raise
                    self._created.add(stream)
                for batch in append_record_batches(records):
                    await basin[stream].append(AppendInput(records=batch))

        try:
            future = self._client.submit(append)
        except S2Error:  # the background loop is shut down (interpreter exit)
            return False
        try:
            future.result(max(deadline - time.monotonic(), 0.0))
        except Exception:  # S2 errors, or the deadline passed
            future.cancel()
            return False
        return True

    def force_flush(self, timeout_millis: float = 30_000) -> bool:
        """Nothing is buffered: every export waited for its acknowledgements."""
        return True

    def shutdown(self, timeout_millis: float = 30_000, **kwargs: object) -> None:
        """Refuse further exports and close the client (bounded by ``timeout_millis``)."""
        if self._shutdown.is_set():
            return
        self._shutdown.set()
        if self._owns_client:
            with contextlib.suppress(S2Error):
                self._client.close(timeout=timeout_millis / 1000)


def _service(resource: Resource | None) -> str:
    attributes = resource.attributes if resource is not None else {}
    return str(attributes.get("service.name", "unknown_service"))


def _json(message: Any) -> bytes:
    return json.dumps(message.to_dict(), separators=(",", ":")).encode()


def _by_resource(items: Sequence[Any], resource_of: Callable[[Any], Resource]) -> list[Any]:
    """Items grouped by resource (a provider's items share one), in order."""
    groups: dict[int, tuple[Resource, list[Any]]] = {}
    for item in items:
        resource = resource_of(item)
        groups.setdefault(id(resource), (resource, []))[1].append(item)
    return list(groups.values())


class S2SpanExporter(_S2Export[ReadableSpan], SpanExporter):
    """Exports spans to an S2 stream (``OTEL_TRACES_EXPORTER=s2``); see the module for settings.

    Example::

        provider.add_span_processor(BatchSpanProcessor(S2SpanExporter("my-basin")))
    """

    signal = "traces"

    def _encode(self, units: list[ReadableSpan]) -> bytes:
        if self.encoding == "otlp-proto":
            # ExportTraceServiceRequest and TracesData share field 1 (resource_spans).
            return encode_spans(units).SerializeToString()
        from opentelemetry.exporter.otlp.json.common.trace_encoder import encode_spans as to_json

        return _json(to_json(units))

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        """Append the spans; SUCCESS once S2 acknowledged all of them."""
        if not spans:
            return SpanExportResult.SUCCESS
        stored = self._write(_by_resource(spans, lambda span: span.resource))
        return SpanExportResult.SUCCESS if stored else SpanExportResult.FAILURE


class S2LogExporter(_S2Export[Any], _LogExporter):
    """Exports log records to an S2 stream (``OTEL_LOGS_EXPORTER=s2``, default stream
    ``logs``), for a ``BatchLogRecordProcessor``; see the module for settings.

    What is logged while an export runs (by ``s2_sdk``, h2, this package) is never
    exported: an outage cannot feed on its own warnings.
    """

    signal = "logs"

    def _encode(self, units: list[Any]) -> bytes:
        if self.encoding == "otlp-proto":
            return encode_logs(units).SerializeToString()
        from opentelemetry.exporter.otlp.json.common._log_encoder import encode_logs as to_json

        return _json(to_json(units))

    def export(self, batch: Sequence[Any]) -> Any:
        """Append the log records; SUCCESS once S2 acknowledged all of them."""
        ours = [r for r in batch if not _logged_by_an_export(r)]
        if not ours:
            return _LogResult.SUCCESS
        stored = self._write(_by_resource(ours, _log_resource))
        return _LogResult.SUCCESS if stored else _LogResult.FAILURE


def _logged_by_an_export(item: Any) -> bool:
    return getattr(item.log_record, "trace_id", None) == _EXPORT_SPAN.trace_id


def _log_resource(item: Any) -> Resource:
    resource: Resource | None = getattr(item, "resource", None)  # 1.3x+: the record's own
    return resource if resource is not None else item.log_record.resource


_MetricUnit = tuple[ResourceMetrics, ScopeMetrics, Metric]
"""One metric with where it comes from (its resource and scope)."""


class S2MetricExporter(_S2Export[_MetricUnit], MetricExporter):
    """Exports metrics to an S2 stream (``OTEL_METRICS_EXPORTER=s2``, default stream
    ``metrics``), for a ``PeriodicExportingMetricReader``; see the module for settings.

    Temporality is cumulative unless ``preferred_temporality`` or
    ``OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE`` (``delta``, ``lowmemory``) says
    otherwise, as for the OTLP exporters. A metric too large for one record is split by
    data points.
    """

    signal = "metrics"

    def __init__(
        self,
        basin: str | None = None,
        stream: str | None = None,
        *,
        encoding: Encoding | None = None,
        timeout: float | None = None,
        client: S2 | None = None,
        preferred_temporality: dict[type, AggregationTemporality] | None = None,
        preferred_aggregation: dict[type, Aggregation] | None = None,
    ) -> None:
        _S2Export.__init__(self, basin, stream, encoding=encoding, timeout=timeout, client=client)
        MetricExporter.__init__(
            self,
            preferred_temporality=preferred_temporality or _temporality_from_env(),
            preferred_aggregation=preferred_aggregation,
        )

    def _encode(self, units: list[_MetricUnit]) -> bytes:
        data = _metrics_data(units)
        if self.encoding == "otlp-proto":
            return encode_metrics(data).SerializeToString()
        from opentelemetry.exporter.otlp.json.common.metrics_encoder import (
            encode_metrics as to_json,
        )

        return _json(to_json(data))

    def _halve(
        self, units: list[_MetricUnit]
    ) -> tuple[list[_MetricUnit], list[_MetricUnit]] | None:
        if len(units) > 1:
            return super()._halve(units)
        rm, sm, metric = units[0]
        data: Any = metric.data
        points = list(data.data_points)
        if len(points) < 2:
            return None
        half = len(points) // 2
        return (
            [(rm, sm, replace(metric, data=replace(data, data_points=points[:half])))],
            [(rm, sm, replace(metric, data=replace(data, data_points=points[half:])))],
        )

    def _count(self, units: list[_MetricUnit]) -> int:
        return sum(len(metric.data.data_points) for _, _, metric in units)

    def export(
        self, metrics_data: MetricsData, timeout_millis: float = 10_000, **kwargs: Any
    ) -> MetricExportResult:
        """Append the metrics; SUCCESS once S2 acknowledged all of them."""
        groups = [
            (rm.resource, [(rm, sm, metric) for sm in rm.scope_metrics for metric in sm.metrics])
            for rm in metrics_data.resource_metrics
        ]
        groups = [(resource, units) for resource, units in groups if units]
        if not groups:
            return MetricExportResult.SUCCESS
        stored = self._write(groups)
        return MetricExportResult.SUCCESS if stored else MetricExportResult.FAILURE


def _metrics_data(units: list[_MetricUnit]) -> MetricsData:
    """The ``MetricsData`` holding exactly ``units``, regrouped by resource and scope."""
    resources: dict[int, tuple[ResourceMetrics, dict[int, tuple[ScopeMetrics, list[Metric]]]]] = {}
    for rm, sm, metric in units:
        scopes = resources.setdefault(id(rm), (rm, {}))[1]
        scopes.setdefault(id(sm), (sm, []))[1].append(metric)
    return MetricsData(
        resource_metrics=[
            replace(rm, scope_metrics=[replace(sm, metrics=ms) for sm, ms in scopes.values()])
            for rm, scopes in resources.values()
        ]
    )


def _temporality_from_env() -> dict[type, AggregationTemporality] | None:
    """The OTLP exporters' ``OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE``."""
    from opentelemetry.sdk.metrics import (
        Counter,
        Histogram,
        ObservableCounter,
        ObservableGauge,
        ObservableUpDownCounter,
        UpDownCounter,
    )

    choice = os.environ.get("OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE", "").lower()
    delta, cumulative = AggregationTemporality.DELTA, AggregationTemporality.CUMULATIVE
    if choice == "delta":
        return {
            Counter: delta, UpDownCounter: cumulative, Histogram: delta, ObservableCounter: delta,
            ObservableUpDownCounter: cumulative, ObservableGauge: cumulative,
        }  # fmt: skip
    if choice == "lowmemory":
        return {
            Counter: delta, UpDownCounter: cumulative, Histogram: delta,
            ObservableCounter: cumulative, ObservableUpDownCounter: cumulative,
            ObservableGauge: cumulative,
        }  # fmt: skip
    return None
