"""Reading spans back from a stream as OTLP ``TracesData``."""

from __future__ import annotations

import json
from collections.abc import Iterator

from opentelemetry.proto.trace.v1.trace_pb2 import TracesData
from s2_sdk import SeqNum, SequencedRecord, Timestamp
from s2_sdk.sync import S2, read_records

__all__ = ["decode_record", "read_traces"]


def decode_record(record: SequencedRecord) -> TracesData:
    """The ``TracesData`` in a record written by :class:`S2SpanExporter` (either encoding)."""
    content_type = dict(record.headers).get(b"content-type", b"application/x-protobuf")
    if content_type == b"application/json":
        from google.protobuf import json_format

        data = json.loads(record.body)
        _ids_to_base64(data)
        return json_format.ParseDict(data, TracesData(), ignore_unknown_fields=True)
    return TracesData.FromString(record.body)


def _ids_to_base64(data: object) -> None:
    """OTLP/JSON ids are hex; protobuf's JSON mapping wants base64 for bytes fields."""
    import base64

    if isinstance(data, dict):
        for key in ("traceId", "spanId", "parentSpanId"):
            value = data.get(key)
            if isinstance(value, str):
                data[key] = base64.b64encode(bytes.fromhex(value)).decode()
        for value in data.values():
            _ids_to_base64(value)
    elif isinstance(data, list):
        for item in data:
            _ids_to_base64(item)


def read_traces(
    basin: str,
    stream: str,
    *,
    start: SeqNum | Timestamp | None = None,
    follow: bool = False,
    client: S2 | None = None,
) -> Iterator[tuple[int, TracesData]]:
    """Yield ``(seq_num, TracesData)`` from a stream written by the exporter.

    Args:
        start: Where to start (a sequence number or a timestamp in ms; default the first).
        follow: Keep waiting for new records instead of stopping at the tail.
        client: A blocking client (default: from the ``S2_*`` environment variables).
    """
    records = read_records(
        basin, stream, start=start, follow=follow, ignore_command_records=True, client=client
    )
    for record in records:
        yield record.seq_num, decode_record(record)
