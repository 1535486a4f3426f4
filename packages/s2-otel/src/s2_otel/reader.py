"""Reading spans back from a stream as OTLP ``TracesData``."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator

from opentelemetry.proto.trace.v1.trace_pb2 import TracesData
from s2_sdk import SeqNum, SequencedRecord, Timestamp
from s2_sdk.sync import S2, connect

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
    with contextlib.ExitStack() as owned:
        if client is None:  # ours to close, with its connections, when the reading stops
            client = owned.enter_context(connect())
        session = client[basin][stream].read_session(
            start=start or SeqNum(0), clamp_to_tail=True, wait=None if follow else 0
        )
        with session:
            for batch in session:
                for record in batch.records:
                    if not record.is_command_record():
                        yield record.seq_num, decode_record(record)
