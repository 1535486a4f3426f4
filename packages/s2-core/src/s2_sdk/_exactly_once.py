"""Exactly-once appends: telling whether a resent batch was already appended.

A writer that states where its records go (``match_seq_num``) and resends a batch whose
first attempt may have taken effect (its acknowledgement was lost) gets a sequence-number
mismatch when it did. :func:`resolve` reads the stream back from the first such batch (one
read for all of them) and compares bodies and headers, never timestamps (the server may
cap, raise or assign them): each batch found there, in order, was appended, and gets the
acknowledgement its records show; the first one not there, and those after it, were not
and are sent again as they are. Anything else at that position was written by another
writer: the mismatch is raised, saying so. When the read-back cannot decide (the token may
not read the stream; the records were trimmed or expired before they were read back), the
error says that, and what to change.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from s2_sdk._exceptions import (
    AppendIndefiniteFailureError,
    ReadUnwrittenError,
    S2ClientError,
    S2Error,
    S2ServerError,
    SeqNumMismatchError,
)
from s2_sdk._records import (
    AppendAck,
    ReadLimit,
    Record,
    SeqNum,
    SequencedRecord,
    StreamPosition,
)

if TYPE_CHECKING:
    from s2_sdk._stream import S2Stream

__all__ = ["Placed", "mismatch_after_doubt", "resolve"]


@dataclass(slots=True)
class Placed:
    """A batch and the position its writer stated for it."""

    match_seq_num: int
    records: Sequence[Record]


def mismatch_after_doubt(error: BaseException) -> SeqNumMismatchError | None:
    """The sequence-number mismatch that ended a retried append whose earlier attempt may
    have taken effect (None for any other error: a mismatch on a first attempt is another
    writer's doing, as it always was)."""
    if isinstance(error, AppendIndefiniteFailureError) and isinstance(
        error.final_attempt_error, SeqNumMismatchError
    ):
        return error.final_attempt_error
    return None


def _same(stored: SequencedRecord, record: Record) -> bool:
    return stored.body == record.body and list(stored.headers) == list(record.headers)


async def _read_from(
    stream: S2Stream, start: int, count: int
) -> tuple[list[SequencedRecord], StreamPosition | None]:
    """Up to ``count`` records from ``start`` (fewer at the tail), and the tail if a read
    told it."""
    records: list[SequencedRecord] = []
    tail: StreamPosition | None = None
    while len(records) < count:
        try:
            batch = await stream.read(
                start=SeqNum(start + len(records)),
                limit=ReadLimit(count=min(count - len(records), 1000)),
                clamp_to_tail=True,
            )
        except ReadUnwrittenError as e:  # at the tail: nothing more there
            return records, e.tail
        tail = batch.tail or tail
        if not batch.records:
            break
        records += batch.records
    return records[:count], tail


async def resolve(
    stream: S2Stream, batches: Sequence[Placed], mismatch: SeqNumMismatchError
) -> list[AppendAck]:
    """The acknowledgements of the leading ``batches`` that the stream holds as they were
    sent (at least the first; the others were not appended and may be sent again as they
    are).

    Raises:
        SeqNumMismatchError: another writer's records are where a batch was to go, or the
            stream ends before the first batch's position (``mismatch`` itself).
        S2Error: the read-back could not decide (the message says why and what to change).
    """
    first = batches[0].match_seq_num
    wanted = sum(len(b.records) for b in batches)
    try:
        stored, tail = await _read_from(stream, first, wanted)
    except S2ServerError as e:
        if e.status_code in (401, 403):
            raise _undecided(first, f"reading it back was refused ({e.code}: {e})", e) from e
        raise
    except S2Error as e:
        raise _undecided(first, f"reading it back failed: {e}", e) from e
    if stored and stored[0].seq_num != first:
        raise _undecided(
            first,
            f"the stream no longer holds position {first} (trimmed or expired: it starts at "
            f"{stored[0].seq_num}); exactly-once appends need a retention longer than the "
            "retry window",
            mismatch,
        )
    acks: list[AppendAck] = []
    at = 0
    for batch in batches:
        here = stored[at : at + len(batch.records)]
        if batch.match_seq_num != first + at or not here:
            break  # not appended (nothing there yet): it goes again
        if len(here) < len(batch.records) or not all(
            _same(s, r) for s, r in zip(here, batch.records, strict=False)
        ):
            raise SeqNumMismatchError(
                mismatch.code,
                f"another writer got there first: position {first + at} holds records this "
                f"writer did not append (the stream's next position is "
                f"{mismatch.expected_seq_num})",
                mismatch.status_code,
                mismatch.expected_seq_num,
            )
        start = StreamPosition(here[0].seq_num, here[0].timestamp)
        end = StreamPosition(here[-1].seq_num + 1, here[-1].timestamp)
        acks.append(AppendAck(start=start, end=end, tail=tail or end))
        at += len(batch.records)
    if not acks:  # not there, and the stream ends before it: the position cannot be had
        raise mismatch
    return acks


def _undecided(position: int, why: str, cause: BaseException) -> S2Error:
    error = S2ClientError(
        f"cannot tell whether the batch at position {position} was appended: {why}. "
        "Exactly-once appends read back what a lost acknowledgement left uncertain: they "
        "need read permission on the stream"
    )
    error.__cause__ = cause
    return error
