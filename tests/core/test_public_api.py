"""The public API of `s2_sdk` is exactly the API reference, plus `__version__`, the error
types of the published SDK's later releases (0.13 exports those from `s2_sdk._exceptions`)
and our own additions (`EXTENSIONS`)."""

from __future__ import annotations

import inspect

import s2_sdk

REFERENCE = {
    "S2", "S2Basin", "S2Stream", "AppendSession", "BatchSubmitTicket", "Producer",
    "RecordSubmitTicket", "ReadSession", "append_record_batches", "append_inputs", "Retry",
    "Timeout", "Compression", "AppendRetryPolicy", "Batching", "Endpoints", "EnsureStatus",
    "EnsuredBasinInfo", "EnsuredStreamInfo", "Record", "AppendInput", "AppendAck", "Encryption",
    "IndexedAppendAck", "StreamPosition", "SeqNum", "Timestamp", "TailOffset", "ReadBatch",
    "ReadLimit", "SequencedRecord", "Page", "LocationInfo", "CommandRecord", "metered_bytes",
    "TimestampingMode", "Timestamping", "StreamConfig", "BasinConfig", "BasinInfo", "StreamInfo",
    "StorageClass", "ExactMatch", "PrefixMatch", "Permission", "Operation",
    "OperationGroupPermissions", "AccessTokenScope", "AccessTokenInfo", "MetricUnit",
    "TimeseriesInterval", "AccountMetricSet", "BasinMetricSet", "StreamMetricSet", "Scalar",
    "Accumulation", "Gauge", "Label", "S2Error", "S2ClientError", "S2ServerError",
    "AppendConditionError", "FencingTokenMismatchError", "SeqNumMismatchError",
    "ReadUnwrittenError", "__version__",
}  # fmt: skip
LATER_ERRORS = {
    "ServerDrainingError", "AppendIndefiniteFailureError", "TransportError", "ConnectError",
    "ReadTimeoutError", "ConnectionClosedError", "ConnectionRetiredError", "ProtocolError",
}  # fmt: skip
EXTENSIONS = {"is_retryable"}


def test_all_is_exactly_the_reference() -> None:
    assert set(s2_sdk.__all__) == REFERENCE | LATER_ERRORS | EXTENSIONS
    from s2_sdk import _exceptions

    for name in LATER_ERRORS:
        assert getattr(_exceptions, name) is getattr(s2_sdk, name)
    assert len(s2_sdk.__all__) == len(set(s2_sdk.__all__))


def test_every_public_name_is_documented() -> None:
    for name in s2_sdk.__all__:
        if name == "__version__":
            continue
        obj = getattr(s2_sdk, name)
        assert inspect.getdoc(obj), f"{name} has no docstring"
        if inspect.isclass(obj):
            for attr, member in vars(obj).items():
                if not attr.startswith("_") and callable(member):
                    assert inspect.getdoc(member), f"{name}.{attr} has no docstring"


def test_reference_signatures() -> None:
    sig = inspect.signature(s2_sdk.S2Stream.read)
    assert list(sig.parameters) == [
        "self", "start", "limit", "until_timestamp", "clamp_to_tail", "wait",
        "ignore_command_records", "stream_config",
    ]  # fmt: skip
    assert (
        inspect.signature(s2_sdk.S2Stream.append_session).parameters["max_unacked_bytes"].default
        == 5 * 1024 * 1024
    )
    producer = inspect.signature(s2_sdk.S2Stream.producer).parameters
    assert list(producer) == [
        "self", "fencing_token", "match_seq_num", "batching", "max_unacked_bytes", "stream_config"
    ]  # fmt: skip
    assert s2_sdk.Batching().max_bytes == 1024 * 1024 and s2_sdk.Retry().max_attempts == 3
    assert s2_sdk.Timeout().request.total_seconds() == 5
