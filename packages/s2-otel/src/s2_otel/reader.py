"""Reading telemetry back from streams the exporters wrote: ``TracesData``, ``LogsData``
and ``MetricsData``, whichever encoding they were written in."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from typing import Any

from google.protobuf import json_format
from google.protobuf.message import Message
from opentelemetry.proto.logs.v1.logs_pb2 import LogsData
from opentelemetry.proto.metrics.v1.metrics_pb2 import MetricsData
from opentelemetry.proto.trace.v1.trace_pb2 import TracesData
from s2_sdk import SeqNum, SequencedRecord, Timestamp
from s2_sdk.sync import S2, read_records

__all__ = ["MESSAGES", "decode_record", "read_logs", "read_metrics", "read_traces", "signal_of"]

MESSAGES: dict[str, type[Message]] = {
    "traces": TracesData,
    "logs": LogsData,
    "metrics": MetricsData,
}
"""The OTLP message each signal's records hold."""
_IDS = ("traceId", "spanId", "parentSpanId")


def signal_of(record: SequencedRecord) -> str:
    """The signal a record holds (its ``signal`` header; spans when it has none)."""
    return dict(record.headers).get(b"signal", b"traces").decode(errors="replace")


def decode_record(record: SequencedRecord) -> Any:
    """The OTLP message in a record written by an s2-otel exporter (either encoding):
    ``TracesData``, ``LogsData`` or ``MetricsData`` as its ``signal`` header says.

    Raises:
        ValueError: the record holds no OTLP message of a known signal.
    """
    message = MESSAGES.get(signal_of(record))
    if message is None:
        raise ValueError(f"record {record.seq_num} holds no OTLP signal s2-otel knows")
    content_type = dict(record.headers).get(b"content-type", b"application/x-protobuf")
    if content_type == b"application/json":
        data = json.loads(record.body)
        _ids_to_base64(data)
        return json_format.ParseDict(data, message(), ignore_unknown_fields=True)
    return message.FromString(record.body)


def _ids_to_base64(data: object) -> None:
    """OTLP/JSON ids are hex; protobuf's JSON mapping wants base64 for bytes fields."""
    if isinstance(data, dict):
        for key in _IDS:
            value = data.get(key)
            if isinstance(value, str):
                data[key] = base64.b64encode(bytes.fromhex(value)).decode()
        for value in data.values():
            _ids_to_base64(value)
    elif isinstance(data, list):
        for item in data:
            _ids_to_base64(item)


def _read(
    signal: str,
    basin: str,
    stream: str,
    start: SeqNum | Timestamp | None,
    follow: bool,
    client: S2 | None,
) -> Iterator[tuple[int, Any]]:
    records = read_records(
        basin, stream, start=start, follow=follow, ignore_command_records=True, client=client
    )
    for record in records:
        if signal_of(record) == signal:
            yield record.seq_num, decode_record(record)


def read_traces(
    basin: str,
    stream: str = "traces",
    *,
    start: SeqNum | Timestamp | None = None,
    follow: bool = False,
    client: S2 | None = None,
) -> Iterator[tuple[int, TracesData]]:
    """Yield ``(seq_num, TracesData)`` from a stream :class:`S2SpanExporter` wrote.

    Args:
        start: Where to start (a sequence number or a timestamp in ms; default the first).
        follow: Keep waiting for new records instead of stopping at the tail.
        client: A blocking client (default: from the ``S2_*`` environment variables).
    """
    return _read("traces", basin, stream, start, follow, client)


def read_logs(
    basin: str,
    stream: str = "logs",
    *,
    start: SeqNum | Timestamp | None = None,
    follow: bool = False,
    client: S2 | None = None,
) -> Iterator[tuple[int, LogsData]]:
    """Yield ``(seq_num, LogsData)`` from a stream :class:`S2LogExporter` wrote (arguments
    as for :func:`read_traces`)."""
    return _read("logs", basin, stream, start, follow, client)


def read_metrics(
    basin: str,
    stream: str = "metrics",
    *,
    start: SeqNum | Timestamp | None = None,
    follow: bool = False,
    client: S2 | None = None,
) -> Iterator[tuple[int, MetricsData]]:
    """Yield ``(seq_num, MetricsData)`` from a stream :class:`S2MetricExporter` wrote
    (arguments as for :func:`read_traces`)."""
    return _read("metrics", basin, stream, start, follow, client)
