"""Records, positions, batches and acknowledgements."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Generic, TypeVar

from s2_sdk._config import StreamConfig
from s2_sdk._exceptions import S2ClientError
from s2_sdk.protocol import COMMAND_FENCE, COMMAND_TRIM, MAX_FENCING_TOKEN_BYTES, metered_size

__all__ = [
    "AppendAck",
    "AppendInput",
    "CommandRecord",
    "EncodedRecord",
    "IndexedAppendAck",
    "Page",
    "ReadBatch",
    "ReadLimit",
    "Record",
    "SeqNum",
    "SequencedRecord",
    "StreamPosition",
    "TailOffset",
    "Timestamp",
    "metered_bytes",
]

T = TypeVar("T")

# The data classes are mutable with slots, as in the published SDK, and check nothing
# when built: records are built by the million, so types and sizes are checked once,
# where a batch is sent (``_validate.check_append_input``).


@dataclass(slots=True)
class Record:
    """A record to append.

    Attributes:
        body: Body of the record.
        headers: Headers for the record, as ``(name, value)`` byte pairs (a new list
            per record when not given).
        timestamp: Timestamp for the record. Precise semantics depend on the stream's
            timestamping configuration.
    """

    body: bytes
    headers: list[tuple[bytes, bytes]] = field(default_factory=list)
    timestamp: int | None = None


@dataclass(slots=True)
class EncodedRecord(Record):
    """A record the SDK built itself (:mod:`s2_sdk.patterns`), its metered size and its
    headers' protobuf encoding computed as it was built: producers and sessions neither
    check nor encode those headers again. Its body and headers must not change (its
    headers may be a tuple: fewer objects for the garbage collector to follow).

    Attributes:
        metered: The metered size.
        header_block: ``headers`` encoded as an ``AppendRecord`` holding only them.
    """

    metered: int = 0
    header_block: bytes = b""


@dataclass(slots=True)
class AppendInput:
    """Input for :meth:`S2Stream.append` and :meth:`AppendSession.submit`.

    Attributes:
        records: Batch of records to append atomically. Must contain 1–1000 records
            totalling at most 1 MiB in metered bytes.
        match_seq_num: Expected sequence number for the first record in the batch. If
            unset, no matching is performed. If set and mismatched, the append fails.
        fencing_token: Fencing token to match against the stream's current fencing
            token. If unset, no matching is performed. If set and mismatched, the
            append fails.
        stream_config: Configuration to apply if the stream is created by this append
            (unset fields inherit the basin's default stream configuration); ignored if
            the stream exists. Only :meth:`S2Stream.append` uses it: sessions take
            ``stream_config`` when opened.
    """

    records: list[Record]
    match_seq_num: int | None = None
    fencing_token: str | None = None
    stream_config: StreamConfig | None = None


@dataclass(slots=True)
class StreamPosition:
    """Position of a record in a stream.

    Attributes:
        seq_num: Sequence number of the record.
        timestamp: Timestamp of the record.
    """

    seq_num: int
    timestamp: int


@dataclass(slots=True)
class AppendAck:
    """Acknowledgement for an :class:`AppendInput`.

    Attributes:
        start: Sequence number and timestamp of the first appended record.
        end: Sequence number of the last appended record + 1, and timestamp of the last
            appended record. ``end.seq_num - start.seq_num`` is the number of records
            appended.
        tail: Next sequence number to be assigned on the stream, and timestamp of the
            last record on the stream. Can be greater than ``end`` in case of concurrent
            appends.
    """

    start: StreamPosition
    end: StreamPosition
    tail: StreamPosition


@dataclass(slots=True)
class IndexedAppendAck:
    """Acknowledgement for an appended record.

    Attributes:
        seq_num: Sequence number assigned to the record.
        batch: Acknowledgement for the containing batch.
    """

    seq_num: int
    batch: AppendAck


@dataclass(slots=True)
class ReadLimit:
    """Limits for read operations.

    Attributes:
        count: Maximum number of records to return.
        bytes: Maximum cumulative size of records calculated using :func:`metered_bytes`.
    """

    count: int | None = None
    bytes: int | None = None


@dataclass(slots=True)
class SequencedRecord:
    """Record read from a stream.

    Attributes:
        seq_num: Sequence number assigned to this record.
        body: Body of this record.
        headers: Series of name-value pairs for this record.
        timestamp: Timestamp for this record.
    """

    seq_num: int
    body: bytes
    headers: list[tuple[bytes, bytes]]
    timestamp: int

    def is_command_record(self) -> bool:
        """Check if this is a command record (exactly one header, with an empty name)."""
        return len(self.headers) == 1 and self.headers[0][0] == b""


@dataclass(slots=True)
class ReadBatch:
    """Batch of records from a read.

    Attributes:
        records: Records that are durably sequenced on the stream.
        tail: Tail position of the stream, present when reading recent records.
    """

    records: list[SequencedRecord]
    tail: StreamPosition | None = None


@dataclass(slots=True)
class SeqNum:
    """Read starting from this sequence number."""

    value: int


@dataclass(slots=True)
class Timestamp:
    """Read starting from this timestamp."""

    value: int


@dataclass(slots=True)
class TailOffset:
    """Read starting from this many records before the tail."""

    value: int


@dataclass(slots=True)
class Page(Generic[T]):
    """A page of values.

    Attributes:
        items: Items in this page.
        has_more: Whether there are more pages.
    """

    items: list[T]
    has_more: bool


class CommandRecord:
    """Factory class for creating command records.

    Attributes:
        FENCE: The header value of a fence command.
        TRIM: The header value of a trim command.
    """

    FENCE = COMMAND_FENCE
    TRIM = COMMAND_TRIM

    @staticmethod
    def fence(token: str) -> Record:
        """Create a fence command record.

        The fencing token must not exceed 36 bytes when UTF-8 encoded.
        """
        if not isinstance(token, str):
            raise S2ClientError("fencing token must be a str")
        encoded = token.encode()
        if len(encoded) > MAX_FENCING_TOKEN_BYTES:
            raise S2ClientError(f"fencing token exceeds {MAX_FENCING_TOKEN_BYTES} bytes")
        return Record(body=encoded, headers=[(b"", COMMAND_FENCE)])

    @staticmethod
    def trim(desired_first_seq_num: int) -> Record:
        """Create a trim command record.

        Has no effect if the sequence number is smaller than the first existing record.
        """
        if (
            not isinstance(desired_first_seq_num, int)
            or isinstance(desired_first_seq_num, bool)
            or not 0 <= desired_first_seq_num < 2**64
        ):
            raise S2ClientError("trim sequence number must be an unsigned 64-bit integer")
        return Record(body=desired_first_seq_num.to_bytes(8, "big"), headers=[(b"", COMMAND_TRIM)])


def metered_bytes(records: Iterable[Record | SequencedRecord]) -> int:
    """Each record is metered using the following formula::

        8 + 2 * len(headers)
        + sum((len(name) + len(value)) for (name, value) in headers)
        + len(body)

    Returns the total over ``records`` (see :func:`s2_sdk.protocol.metered_size`).
    """
    return sum(metered_size(r.headers, r.body) for r in records)
