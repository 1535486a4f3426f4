"""Reading framed, deduplicated messages: dropping repeated records, assembling frames."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from typing import NamedTuple

from s2_sdk._exceptions import S2ClientError
from s2_sdk.patterns._wire import (
    DEFAULT_MAX_FRAME_BYTES,
    parse_dedupe_headers,
    parse_frame_headers,
)

__all__ = ["CompletedFrame", "DedupeFilter", "FrameAssembler", "FrameSizeError"]

log = logging.getLogger("s2_sdk.patterns")

Headers = Iterable[tuple[bytes, bytes]]
DropReport = Callable[[int | None, int | None, int, str], None]
"""Called with the first and last sequence numbers of the records dropped (None where
unknown), how many, and why."""


class FrameSizeError(S2ClientError):
    """A message's declared size is not in 1..``max_frame_bytes`` (a reader refuses to
    assemble it; a writer refuses to send one its readers would refuse)."""


class DedupeFilter:
    """Drops records a writer appended twice (a retried append), by their dedupe headers.

    For streams with one writer at a time: within a writer id, sequence numbers rise, and
    a record whose number is not above the last one accepted is a repeat. A new writer id
    (a writer restarted) starts over from its first record. Records without a sequence
    number are always accepted.
    """

    __slots__ = ("_last_seq", "_writer")

    def __init__(self) -> None:
        self._writer: str | bytes | None = None
        self._last_seq = -1

    def accepts(self, headers: Headers) -> bool:
        """Whether a record with these headers is new (and remember it if so)."""
        found = parse_dedupe_headers(headers)
        if found is None:
            return True
        return self.accepts_seq(*found)

    def accepts_seq(self, writer: str | bytes, seq: int) -> bool:
        """Whether ``writer``'s record ``seq`` is new (and remember it if so)."""
        if writer != self._writer:
            self._writer, self._last_seq = writer, seq
            return True
        if seq > self._last_seq:
            self._last_seq = seq
            return True
        return False


class CompletedFrame(NamedTuple):
    """A whole message's bytes, and where it starts in the stream."""

    payload: bytes
    first_seq_num: int | None
    records: int


def _log_drop(first: int | None, last: int | None, count: int, why: str) -> None:
    where = "" if first is None else f" (sequence numbers {first}..{last})"
    log.warning("dropped %d record(s)%s: %s", count, where, why)


class FrameAssembler:
    """Assembles messages from their records, in stream order.

    A record with frame headers starts a message (what was being assembled is dropped,
    incomplete); the following records complete it. Records that belong to no message
    (before the first frame headers a reader sees, say, when it starts in the middle of
    one) and messages whose records do not add up to their declared size are dropped:
    each drop is reported (logged as a warning by default) and counted in
    :attr:`dropped`. Memory is bounded by the message being assembled (twice it, where
    its parts are views of read batches' bytes: see :meth:`push_parsed`).
    """

    def __init__(
        self, *, max_frame_bytes: int = DEFAULT_MAX_FRAME_BYTES, on_drop: DropReport = _log_drop
    ) -> None:
        self.max_frame_bytes = max_frame_bytes
        self.dropped = 0
        """Records dropped (see the class docstring)."""
        self._on_drop = on_drop
        self._parts: list[bytes | memoryview] = []
        self._size = 0
        self._expected_size = 0
        self._remaining = 0
        self._first: int | None = None
        self._last: int | None = None
        self._assembling = False

    def push(
        self, headers: Headers, body: bytes, seq_num: int | None = None
    ) -> CompletedFrame | None:
        """Take the next record; the message it completes, if it does.

        Raises:
            FrameSizeError: a message declares a size outside 1..``max_frame_bytes``.
        """
        return self.push_parsed(parse_frame_headers(headers), body, seq_num)

    def push_parsed(
        self, frame: tuple[int, int] | None, body: bytes | memoryview, seq_num: int | None = None
    ) -> CompletedFrame | None:
        """:meth:`push` for a record whose frame headers (total bytes, records) were read
        already (None: it has none); its body may be a view (of a read batch's bytes, say),
        kept until the message is whole and then copied into it."""
        if (frame is not None and frame[1] == 1 and len(body) == frame[0]) and self.takes_whole(
            frame[0]
        ):  # a message in one record: nothing to keep
            return CompletedFrame(bytes(body), seq_num, 1)
        if frame is not None:
            if self._assembling:
                self._drop("a new message started before this one was complete")
            size, records = frame
            if not 0 < size <= self.max_frame_bytes:
                raise FrameSizeError(
                    f"the message at {seq_num} declares {size} bytes, outside 1.."
                    f"{self.max_frame_bytes}: raise max_frame_bytes to read larger messages"
                )
            if records < 1:
                self._report(seq_num, seq_num, 1, "a message declaring no records")
                return None
            self._assembling = True
            self._expected_size, self._remaining = size, records
            self._first = seq_num
        elif not self._assembling:
            self._report(seq_num, seq_num, 1, "not part of a message (no frame headers)")
            return None
        self._last = seq_num
        self._parts.append(body)
        self._size += len(body)
        self._remaining -= 1
        if self._size > self._expected_size:
            self._drop("more bytes than the message declares")
            return None
        if self._remaining:
            return None
        if self._size != self._expected_size:
            self._drop("fewer bytes than the message declares")
            return None
        parts, first = self._parts, self._first
        count = len(parts)
        self._reset()
        only = parts[0]
        whole = only if count == 1 and isinstance(only, bytes) else b"".join(parts)
        return CompletedFrame(whole, first, count)

    def takes_whole(self, size: int) -> bool:
        """Whether a message of ``size`` bytes that came in one record is complete as it is
        (nothing being assembled, a size in 1..``max_frame_bytes``)."""
        return not self._assembling and 0 < size <= self.max_frame_bytes

    def _drop(self, why: str) -> None:
        self._report(self._first, self._last, len(self._parts), why)
        self._reset()

    def _report(self, first: int | None, last: int | None, count: int, why: str) -> None:
        self.dropped += count
        self._on_drop(first, last, count, why)

    def _reset(self) -> None:
        self._parts = []
        self._size = self._expected_size = self._remaining = 0
        self._first = self._last = None
        self._assembling = False
