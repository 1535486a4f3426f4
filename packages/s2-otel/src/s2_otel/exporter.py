"""``S2SpanExporter``: OpenTelemetry spans to S2 records, as OTLP protobuf or OTLP/JSON."""

from __future__ import annotations

import contextlib
import json
import os
import threading
import time
from collections.abc import Sequence
from typing import Literal

from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans as encode_proto
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export import SpanExporter, SpanExportResult
from s2_sdk import AppendInput, Record, S2Error
from s2_sdk.protocol import MAX_RECORD_METERED_BYTES
from s2_sdk.sync import S2, append_record_batches, connect

__all__ = ["CONTENT_TYPES", "Encoding", "S2SpanExporter"]

Encoding = Literal["otlp-proto", "otlp-json"]
CONTENT_TYPES: dict[str, bytes] = {
    "otlp-proto": b"application/x-protobuf",
    "otlp-json": b"application/json",
}
_HEADER_ROOM = 512


def _encode(spans: Sequence[ReadableSpan], encoding: Encoding) -> bytes:
    if encoding == "otlp-proto":
        # ExportTraceServiceRequest and TracesData share field 1 (resource_spans).
        return encode_proto(spans).SerializeToString()
    from opentelemetry.exporter.otlp.json.common.trace_encoder import encode_spans

    return json.dumps(encode_spans(spans).to_dict(), separators=(",", ":")).encode()


class S2SpanExporter(SpanExporter):
    """Exports spans to an S2 stream; each record is one valid OTLP ``TracesData``.

    Constructible with no arguments (``OTEL_TRACES_EXPORTER=s2``): settings come from
    ``OTEL_EXPORTER_S2_BASIN``, ``OTEL_EXPORTER_S2_STREAM`` (default ``traces``;
    ``{service_name}`` is replaced), ``OTEL_EXPORTER_S2_ENCODING`` (``otlp-proto`` or
    ``otlp-json``), ``OTEL_EXPORTER_S2_TIMEOUT`` (seconds, default 10), and the
    ``S2_ACCESS_TOKEN`` / ``S2_ACCOUNT_ENDPOINT`` / ``S2_BASIN_ENDPOINT`` variables.

    ``export`` splits a batch into records under 1 MiB (re-grouped so each is a valid
    ``TracesData``), appends them, and returns only after S2 acknowledged them or the
    timeout passed — SUCCESS or FAILURE, never an exception. It is thread-safe.
    """

    def __init__(
        self,
        basin: str | None = None,
        stream: str | None = None,
        *,
        encoding: Encoding | None = None,
        timeout: float | None = None,
        client: S2 | None = None,
    ) -> None:
        self.basin = basin or os.environ.get("OTEL_EXPORTER_S2_BASIN") or ""
        if not self.basin:
            raise ValueError("S2SpanExporter needs a basin (or OTEL_EXPORTER_S2_BASIN)")
        self.stream = stream or os.environ.get("OTEL_EXPORTER_S2_STREAM") or "traces"
        chosen = encoding or os.environ.get("OTEL_EXPORTER_S2_ENCODING") or "otlp-proto"
        if chosen not in CONTENT_TYPES:
            raise ValueError(f"encoding must be otlp-proto or otlp-json, not {chosen!r}")
        self.encoding: Encoding = chosen  # type: ignore[assignment]
        self.timeout = float(timeout or os.environ.get("OTEL_EXPORTER_S2_TIMEOUT") or 10.0)
        self._client = client or connect()
        self._owns_client = client is None
        self._shutdown = threading.Event()
        self._created: set[str] = set()
        self._lock = threading.Lock()  # guards dropped_spans (exports may run concurrently)
        self.dropped_spans = 0
        """Spans too large for one record (over 1 MiB encoded); their export reports FAILURE."""

    def _records(self, spans: Sequence[ReadableSpan]) -> tuple[list[Record], int]:
        """Encoded records, each under the record limit (spans split in halves as needed),
        and how many spans were too large for any record."""
        body = _encode(spans, self.encoding)
        if len(body) + _HEADER_ROOM <= MAX_RECORD_METERED_BYTES or len(spans) == 1:
            if len(body) + _HEADER_ROOM > MAX_RECORD_METERED_BYTES:
                return [], 1  # a single span over 1 MiB cannot be stored
            service = str(spans[0].resource.attributes.get("service.name", "unknown_service"))
            headers = [
                (b"content-type", CONTENT_TYPES[self.encoding]),
                (b"signal", b"traces"),
                (b"service.name", service.encode()),
            ]
            return [Record(body=body, headers=headers, timestamp=int(time.time() * 1000))], 0
        half = len(spans) // 2
        first, dropped_first = self._records(spans[:half])
        second, dropped_second = self._records(spans[half:])
        return first + second, dropped_first + dropped_second

    def _stream_for(self, spans: Sequence[ReadableSpan]) -> str:
        service = str(spans[0].resource.attributes.get("service.name", "unknown_service"))
        return self.stream.replace("{service_name}", service)

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        """Append the spans; SUCCESS once S2 acknowledged all of them."""
        if self._shutdown.is_set():
            return SpanExportResult.FAILURE
        if not spans:
            return SpanExportResult.SUCCESS
        deadline = time.monotonic() + self.timeout
        try:
            by_resource: dict[int, list[ReadableSpan]] = {}  # a provider's spans share one
            for span in spans:
                by_resource.setdefault(id(span.resource), []).append(span)
            by_stream: dict[str, list[ReadableSpan]] = {}
            for group in by_resource.values():
                by_stream.setdefault(self._stream_for(group), []).extend(group)
            dropped = 0
            for stream, group in by_stream.items():
                records, too_large = self._records(group)
                dropped += too_large
                if records:
                    self._append(stream, records, deadline)
        except (S2Error, TimeoutError, OSError):
            return SpanExportResult.FAILURE
        if dropped:
            with self._lock:
                self.dropped_spans += dropped
            return SpanExportResult.FAILURE
        return SpanExportResult.SUCCESS

    def _append(self, stream: str, records: list[Record], deadline: float) -> None:
        target = self._client[self.basin][stream]
        if stream not in self._created:
            self._client[self.basin].create_stream_if_missing(stream)
            self._created.add(stream)
        for batch in append_record_batches(records):
            remaining = deadline - time.monotonic()
            if remaining <= 0 or self._shutdown.is_set():
                raise TimeoutError("export deadline passed")
            target.append(AppendInput(records=batch), timeout=remaining)

    def force_flush(self, timeout_millis: int = 30_000) -> bool:
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
