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
from s2_sdk.protocol import MAX_BATCH_METERED_BYTES, MAX_BATCH_RECORDS, MAX_RECORD_METERED_BYTES
from s2_sdk.sync import S2, connect

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
        self._lock = threading.Lock()
        self.dropped_spans = 0
        """Spans too large for one record (over 1 MiB encoded); their export reports FAILURE."""

    def _records(self, spans: Sequence[ReadableSpan]) -> list[Record]:
        """Encoded records, each under the record limit (spans split in halves as needed)."""
        body = _encode(spans, self.encoding)
        if len(body) + _HEADER_ROOM <= MAX_RECORD_METERED_BYTES or len(spans) == 1:
            if len(body) + _HEADER_ROOM > MAX_RECORD_METERED_BYTES:
                self.dropped_spans += 1  # a single span over 1 MiB cannot be stored
                return []
            service = str(spans[0].resource.attributes.get("service.name", "unknown_service"))
            headers = [
                (b"content-type", CONTENT_TYPES[self.encoding]),
                (b"signal", b"traces"),
                (b"service.name", service.encode()),
            ]
            return [Record(body=body, headers=headers, timestamp=int(time.time() * 1000))]
        half = len(spans) // 2
        return self._records(spans[:half]) + self._records(spans[half:])

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
            dropped = self.dropped_spans
            for stream, group in by_stream.items():
                records = self._records(group)
                if records:
                    self._append(stream, records, deadline)
        except (S2Error, TimeoutError, OSError):
            return SpanExportResult.FAILURE
        if self.dropped_spans != dropped:
            return SpanExportResult.FAILURE
        return SpanExportResult.SUCCESS

    def _append(self, stream: str, records: list[Record], deadline: float) -> None:
        target = self._client[self.basin][stream]
        if stream not in self._created:
            self._client[self.basin].create_stream_if_missing(stream)
            self._created.add(stream)
        batch: list[Record] = []
        size = 0
        for record in [*records, None]:
            rsize = (
                0
                if record is None
                else 8 + len(record.body) + sum(2 + len(n) + len(v) for n, v in record.headers)
            )
            if batch and (
                record is None
                or len(batch) >= MAX_BATCH_RECORDS
                or size + rsize > MAX_BATCH_METERED_BYTES
            ):
                remaining = deadline - time.monotonic()
                if remaining <= 0 or self._shutdown.is_set():
                    raise TimeoutError("export deadline passed")
                target.append(AppendInput(records=batch), timeout=remaining)
                batch, size = [], 0
            if record is not None:
                batch.append(record)
                size += rsize

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
