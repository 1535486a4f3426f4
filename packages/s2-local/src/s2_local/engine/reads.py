"""Read requests: parameters, start resolution, and the batch/heartbeat event stream
shared by unary reads, SSE and S2S read sessions."""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import AsyncGenerator, Mapping
from dataclasses import dataclass
from typing import Literal

from s2_sdk.protocol import (
    MAX_BATCH_METERED_BYTES,
    MAX_BATCH_RECORDS,
    MAX_UNARY_READ_WAIT_SECS,
    ErrorCode,
    pb,
)

from s2_local.engine.parsing import parse_uint
from s2_local.engine.record_log import ReadSlice
from s2_local.engine.stream import Stream
from s2_local.errors import ApiError, Unwritten

__all__ = ["Batch", "Heartbeat", "ReadParams", "batch_payload", "read_events"]

StartKind = Literal["seq_num", "timestamp", "tail_offset"]
_HEARTBEAT_MIN, _HEARTBEAT_MAX = 5.0, 15.0


def _int(query: Mapping[str, str], name: str, bits: int = 64) -> int | None:
    raw = query.get(name)
    if raw is None:
        return None
    value = parse_uint(raw, bits)
    if value is None:
        raise ApiError(
            ErrorCode.BAD_QUERY, f"invalid `{name}`: expected an unsigned integer, got {raw[:40]!r}"
        )
    return value


@dataclass(frozen=True, slots=True)
class ReadParams:
    """Where a read starts and what ends it."""

    start_kind: StartKind = "tail_offset"
    start: int = 0
    clamp: bool = False
    count: int | None = None
    bytes: int | None = None
    until: int | None = None
    wait: int | None = None

    @classmethod
    def from_query(cls, query: Mapping[str, str]) -> ReadParams:
        """Parse read query parameters.

        Raises:
            ApiError: ``bad_query`` for unparsable values, ``invalid`` for bad combinations.
        """
        starts: list[tuple[StartKind, int]] = []
        kinds: tuple[StartKind, ...] = ("seq_num", "timestamp", "tail_offset")
        for kind in kinds:
            value = _int(query, kind)
            if value is not None:
                starts.append((kind, value))
        if len(starts) > 1:
            raise ApiError(
                ErrorCode.INVALID, "only one of seq_num, timestamp, or tail_offset can be provided"
            )
        clamp_raw = query.get("clamp")
        if clamp_raw not in (None, "true", "false"):
            raise ApiError(
                ErrorCode.BAD_QUERY, f"invalid `clamp`: expected true or false, got {clamp_raw!r}"
            )
        kind, start = starts[0] if starts else ("tail_offset", 0)
        params = cls(
            start_kind=kind,
            start=start,
            clamp=clamp_raw == "true",
            count=_int(query, "count"),
            bytes=_int(query, "bytes"),
            until=_int(query, "until"),
            wait=_int(query, "wait", 32),
        )
        if kind == "timestamp" and params.until is not None and start >= params.until:
            raise ApiError(ErrorCode.INVALID, "start `timestamp` exceeds or equal to `until`")
        return params

    def resumed(self, last_event_id: str) -> ReadParams:
        """The parameters after an SSE ``Last-Event-ID: seq,count,bytes``."""
        try:
            seq, count, size = (int(p) for p in last_event_id.split(","))
        except ValueError as e:
            raise ApiError(ErrorCode.BAD_HEADER, f"invalid Last-Event-ID {last_event_id!r}") from e
        return ReadParams(
            start_kind="seq_num",
            start=seq + 1,
            clamp=self.clamp,
            count=None if self.count is None else max(self.count - count, 0),
            bytes=None if self.bytes is None else max(self.bytes - size, 0),
            until=self.until,
            wait=self.wait,
        )

    def bounded(self, unary: bool) -> ReadParams:
        """Unary reads: at most 1000 records, 1 MiB and a 60 s wait (default 0)."""
        if not unary:
            return self
        return ReadParams(
            self.start_kind,
            self.start,
            self.clamp,
            min(self.count if self.count is not None else MAX_BATCH_RECORDS, MAX_BATCH_RECORDS),
            min(
                self.bytes if self.bytes is not None else MAX_BATCH_METERED_BYTES,
                MAX_BATCH_METERED_BYTES,
            ),
            self.until,
            min(self.wait or 0, MAX_UNARY_READ_WAIT_SECS),
        )

    @property
    def wait_secs(self) -> float | None:
        """The idle budget while following; None means forever."""
        if self.wait is not None:
            return float(self.wait)
        return 0.0 if self.is_bounded else None

    @property
    def is_bounded(self) -> bool:
        """Whether a count, bytes or until limit is set."""
        return self.count is not None or self.bytes is not None or self.until is not None

    @property
    def may_follow(self) -> bool:
        """Whether the read may wait at the tail for new records."""
        return not self.is_bounded or bool(self.wait)

    def start_seq(self, stream: Stream) -> int:
        """Resolve the start against the durable tail.

        Raises:
            Unwritten: (416) the start is past the tail, or at it and the read may not follow.
        """
        tail_seq, tail_ts = stream.tail
        positional = True
        if self.start_kind == "seq_num":
            seq = self.start
            if seq > tail_seq:
                if not self.clamp:
                    raise Unwritten(tail_seq, tail_ts)
                seq = tail_seq
        elif self.start_kind == "timestamp":
            if self.start > tail_ts:
                if not self.clamp:
                    raise Unwritten(tail_seq, tail_ts)
                seq = tail_seq
            else:
                seq = stream.seek_timestamp(self.start)
                positional = False
        else:
            seq = max(tail_seq - self.start, 0)
        if positional and seq == tail_seq and not self.may_follow:
            raise Unwritten(tail_seq, tail_ts)
        return seq


@dataclass(frozen=True, slots=True)
class Batch:
    """Records to deliver; ``tail`` is set when they came while following the tail, or
    when they reach it."""

    records: ReadSlice
    tail: tuple[int, int] | None


@dataclass(frozen=True, slots=True)
class Heartbeat:
    """Nothing new; the current tail."""

    tail: tuple[int, int]


async def read_events(
    stream: Stream,
    params: ReadParams,
    start: int,
    drain: asyncio.Event | None = None,
    *,
    session: bool = True,
) -> AsyncGenerator[Batch | Heartbeat]:
    """Batches from ``start`` then, if the read may follow, live batches and heartbeats.

    Ends normally when a limit, ``until`` or the ``wait`` budget is reached. When
    ``drain`` is set while following, one heartbeat goes out at once (to carry the
    reconnect advice). In a ``session``, a catch-up batch that reaches the tail carries
    it (as S2 sends it: the reader knows it caught up without waiting for a heartbeat,
    and gets none); a unary read's, as s2-lite's, only when it came live.

    Raises:
        ApiError: ``stream_deletion_pending`` if the stream is deleted meanwhile.
    """
    count_left = params.count if params.count is not None else 2**63
    bytes_left = params.bytes if params.bytes is not None else 2**63
    wait = params.wait_secs
    may_follow = params.may_follow
    pos = start
    following = False
    announced = False
    told: tuple[int, int] | None = None  # the tail the last batch carried
    deadline: float | None = None
    while count_left > 0 and bytes_left > 0:
        stream.ensure_live()
        got = stream.read(
            pos,
            min(count_left, MAX_BATCH_RECORDS),
            min(bytes_left, MAX_BATCH_METERED_BYTES),
            params.until,
        )
        if got.count:
            tail = stream.tail
            reaches = session and got.last_seq + 1 == tail[0]
            told = tail if following or reaches else None
            yield Batch(got, told)
            pos = got.last_seq + 1
            count_left -= got.count
            bytes_left -= got.metered
            if following and wait is not None:
                deadline = time.monotonic() + wait
            continue
        if got.stopped or not may_follow:
            return
        if not following:
            following = True
            if told != stream.tail:  # a reader told the tail already needs no heartbeat
                yield Heartbeat(stream.tail)
            if wait is not None:
                deadline = time.monotonic() + wait
        elif drain is not None and drain.is_set() and not announced:
            announced = True  # nothing new was read: the tail is where the reader is
            yield Heartbeat(stream.tail)
        timeout = random.uniform(_HEARTBEAT_MIN, _HEARTBEAT_MAX)
        last_wait = False  # whether this wait ends at the deadline, not at a heartbeat
        if deadline is not None:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return
            last_wait = remaining <= timeout
            timeout = min(timeout, remaining)
        if not await stream.changed(timeout, None if announced else drain):
            # the loop's timers need not agree with time.monotonic() to the millisecond
            # (uvloop's clock has millisecond steps): why the wait was made decides
            if last_wait:
                return
            yield Heartbeat(stream.tail)


def batch_payload(
    stream: Stream, batch: Batch | None, tail: tuple[int, int] | None, key: bytes | None
) -> bytes:
    """The protobuf ``ReadBatch`` bytes for some records (or none) and an optional tail."""
    data = batch.records.data if batch else b""
    tail_part = b""
    if tail is not None:
        tail_part = pb.ReadBatch(
            tail=pb.StreamPosition(seq_num=tail[0], timestamp=tail[1])
        ).SerializeToString()
    if stream.cipher is None or not data:
        return data + tail_part
    return stream.decode(data, key).SerializeToString() + tail_part
