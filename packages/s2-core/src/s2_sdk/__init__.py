"""S2 for Python: the client for S2, the durable streams API.

Quick start::

    import asyncio
    from s2_sdk import S2, AppendInput, Endpoints, Record, SeqNum

    async def main() -> None:
        async with S2("token", endpoints=Endpoints.from_env()) as s2:
            stream = s2["my-basin"]["my-stream"]
            ack = await stream.append(AppendInput(records=[Record(body=b"hello")]))
            batch = await stream.read(start=SeqNum(ack.start.seq_num))

    asyncio.run(main())

The low-level wire codec shared with s2-local lives in :mod:`s2_sdk.protocol`.

Beyond the API reference, the names of the published SDK's later releases (up to 0.13)
are here too: ``ServerDrainingError``, ``AppendIndefiniteFailureError`` and the
``TransportError`` family, which 0.13 exports only from ``s2_sdk._exceptions`` (where
they are as well). One addition of ours: :func:`is_retryable`, the rule the client
retries by, for code that retries on its own.
"""

import logging as _logging
from importlib.metadata import version as _version

from s2_sdk._access import (
    AccessTokenInfo,
    AccessTokenScope,
    ExactMatch,
    Operation,
    OperationGroupPermissions,
    Permission,
    PrefixMatch,
)
from s2_sdk._append_session import AppendSession, BatchSubmitTicket
from s2_sdk._basin import S2Basin
from s2_sdk._batching import append_inputs, append_record_batches
from s2_sdk._client import S2
from s2_sdk._config import (
    BasinConfig,
    Encryption,
    StorageClass,
    StreamConfig,
    Timestamping,
    TimestampingMode,
)
from s2_sdk._exceptions import (
    AppendConditionError,
    AppendIndefiniteFailureError,
    ConnectError,
    ConnectionClosedError,
    ConnectionRetiredError,
    FencingTokenMismatchError,
    ProtocolError,
    ReadTimeoutError,
    ReadUnwrittenError,
    S2ClientError,
    S2Error,
    S2ServerError,
    SeqNumMismatchError,
    ServerDrainingError,
    TransportError,
)
from s2_sdk._info import (
    BasinInfo,
    EnsuredBasinInfo,
    EnsuredStreamInfo,
    EnsureStatus,
    LocationInfo,
    StreamInfo,
)
from s2_sdk._metrics import (
    AccountMetricSet,
    Accumulation,
    BasinMetricSet,
    Gauge,
    Label,
    MetricUnit,
    Scalar,
    StreamMetricSet,
    TimeseriesInterval,
)
from s2_sdk._options import (
    AppendRetryPolicy,
    Batching,
    Compression,
    Endpoints,
    Retry,
    Timeout,
)
from s2_sdk._producer import Producer, RecordSubmitTicket
from s2_sdk._read_session import ReadSession
from s2_sdk._records import (
    AppendAck,
    AppendInput,
    CommandRecord,
    IndexedAppendAck,
    Page,
    ReadBatch,
    ReadLimit,
    Record,
    SeqNum,
    SequencedRecord,
    StreamPosition,
    TailOffset,
    Timestamp,
    metered_bytes,
)
from s2_sdk._retry import is_retryable
from s2_sdk._stream import S2Stream

__version__ = _version("s2-core")

_logging.getLogger("s2_sdk").addHandler(_logging.NullHandler())

__all__ = [
    "AccessTokenInfo",
    "AccessTokenScope",
    "AccountMetricSet",
    "Accumulation",
    "AppendAck",
    "AppendConditionError",
    "AppendIndefiniteFailureError",
    "AppendInput",
    "AppendRetryPolicy",
    "AppendSession",
    "BasinConfig",
    "BasinInfo",
    "BasinMetricSet",
    "BatchSubmitTicket",
    "Batching",
    "CommandRecord",
    "Compression",
    "ConnectError",
    "ConnectionClosedError",
    "ConnectionRetiredError",
    "Encryption",
    "Endpoints",
    "EnsureStatus",
    "EnsuredBasinInfo",
    "EnsuredStreamInfo",
    "ExactMatch",
    "FencingTokenMismatchError",
    "Gauge",
    "IndexedAppendAck",
    "Label",
    "LocationInfo",
    "MetricUnit",
    "Operation",
    "OperationGroupPermissions",
    "Page",
    "Permission",
    "PrefixMatch",
    "Producer",
    "ProtocolError",
    "ReadBatch",
    "ReadLimit",
    "ReadSession",
    "ReadTimeoutError",
    "ReadUnwrittenError",
    "Record",
    "RecordSubmitTicket",
    "Retry",
    "S2",
    "S2Basin",
    "S2ClientError",
    "S2Error",
    "S2ServerError",
    "S2Stream",
    "Scalar",
    "SeqNum",
    "SeqNumMismatchError",
    "SequencedRecord",
    "ServerDrainingError",
    "StorageClass",
    "StreamConfig",
    "StreamInfo",
    "StreamMetricSet",
    "StreamPosition",
    "TailOffset",
    "Timeout",
    "TimeseriesInterval",
    "Timestamp",
    "Timestamping",
    "TimestampingMode",
    "TransportError",
    "__version__",
    "append_inputs",
    "append_record_batches",
    "is_retryable",
    "metered_bytes",
]
