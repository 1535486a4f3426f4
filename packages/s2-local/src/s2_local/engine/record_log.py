"""Compact in-memory record storage for one stream.

Records are kept in chunks of up to 1000 records / 1 MiB. A chunk holds the
wire encoding of its records exactly as they appear in the ``records`` field of
a protobuf ``ReadBatch`` (:mod:`s2_local.engine.entries`), back to back, plus
small integer arrays: byte offsets, timestamps, metered sizes and expiry times.
A protobuf read response is therefore a slice of bytes, never a Python object
per record.
"""

from __future__ import annotations

from array import array
from bisect import bisect_left, bisect_right
from dataclasses import dataclass

__all__ = ["Chunk", "ReadSlice", "RecordLog"]

_CHUNK_RECORDS = 1000
_CHUNK_BYTES = 1024 * 1024


class Chunk:
    """Consecutive records of one stream."""

    __slots__ = ("data", "expires", "first_seq", "metered", "offsets", "timestamps")

    def __init__(self, first_seq: int) -> None:
        self.first_seq = first_seq
        self.data = bytearray()
        self.offsets = array("I", [0])
        self.timestamps = array("Q")
        self.metered = array("I")
        self.expires = array("Q")

    def __len__(self) -> int:
        return len(self.timestamps)

    @property
    def end_seq(self) -> int:
        """Sequence number after this chunk's last record."""
        return self.first_seq + len(self.timestamps)

    def has_room(self, records: int, size: int) -> bool:
        """Whether ``records`` more records of ``size`` bytes fit."""
        return (
            len(self.timestamps) + records <= _CHUNK_RECORDS
            and len(self.data) + size <= _CHUNK_BYTES
        )


@dataclass(slots=True)
class ReadSlice:
    """Records read from a log: encoded entries plus what they add up to."""

    data: bytes = b""
    count: int = 0
    metered: int = 0
    last_seq: int = -1
    last_timestamp: int = 0
    stopped: bool = False
    """True when a limit or ``until`` stopped the read before the end of the log."""


class RecordLog:
    """The records of one stream, from ``start`` (first kept) to ``end`` (next to assign)."""

    __slots__ = ("_chunks", "end", "start")

    def __init__(self) -> None:
        self._chunks: list[Chunk] = []
        self.start = 0
        self.end = 0

    def append(
        self,
        data: bytes,
        offsets: array[int],
        timestamps: array[int],
        metered: array[int],
        expires_at: int,
    ) -> None:
        """Append encoded records (numbered from :attr:`end`) written at one time."""
        n = len(timestamps)
        last = self._chunks[-1] if self._chunks else None
        if last is None or last.end_seq != self.end or not last.has_room(n, len(data)):
            last = Chunk(self.end)
            self._chunks.append(last)
        base = len(last.data)
        last.data += data
        last.offsets.extend(map(base.__add__, offsets[1:]) if base else offsets[1:])
        last.timestamps.extend(timestamps)
        last.metered.extend(metered)
        last.expires.extend(array("Q", [expires_at]) * n)
        self.end += n

    def _chunk_index(self, seq: int) -> int:
        return bisect_right(self._chunks, seq, key=lambda c: c.first_seq) - 1

    def seek_timestamp(self, timestamp: int, limit: int) -> int:
        """First kept sequence number below ``limit`` whose timestamp is >= ``timestamp``."""
        chunks = self._chunks
        i = bisect_left(chunks, timestamp, key=lambda c: c.timestamps[-1])
        while i < len(chunks):
            c = chunks[i]
            j = bisect_left(c.timestamps, timestamp)
            seq = max(c.first_seq + j, self.start)
            if j < len(c) and seq < c.end_seq:
                return min(seq, limit)
            i += 1
        return limit

    def read(
        self,
        seq: int,
        limit_seq: int,
        max_count: int,
        max_bytes: int,
        until: int | None,
    ) -> ReadSlice:
        """Read from ``seq`` (or the first kept record) up to ``limit_seq`` (exclusive).

        Stops before exceeding ``max_count`` records or ``max_bytes`` metered bytes,
        and before the first record whose timestamp is >= ``until``.
        """
        out = ReadSlice()
        seq = max(seq, self.start)
        if seq >= limit_seq or max_count <= 0:
            out.stopped = seq < limit_seq
            return out
        parts: list[bytes] = []
        i = max(self._chunk_index(seq), 0)
        count = metered = 0
        while i < len(self._chunks) and seq < limit_seq:
            c = self._chunks[i]
            j = seq - c.first_seq
            stop = min(len(c), limit_seq - c.first_seq)
            k = j
            while k < stop:
                if count == max_count:
                    out.stopped = True
                    break
                size = c.metered[k]
                if metered + size > max_bytes or (until is not None and c.timestamps[k] >= until):
                    out.stopped = True
                    break
                metered += size
                count += 1
                k += 1
            if k > j:
                parts.append(bytes(c.data[c.offsets[j] : c.offsets[k]]))
                out.last_seq = c.first_seq + k - 1
                out.last_timestamp = c.timestamps[k - 1]
                seq = c.first_seq + k
            if out.stopped:
                break
            i += 1
        out.data = b"".join(parts)
        out.count = count
        out.metered = metered
        return out

    def truncate(self, seq: int) -> None:
        """Forget records from ``seq`` on (appends whose write failed)."""
        if seq >= self.end:
            return
        chunks = self._chunks
        while chunks and chunks[-1].first_seq >= seq:
            chunks.pop()
        if chunks:
            c = chunks[-1]
            k = seq - c.first_seq
            if k < len(c):
                del c.data[c.offsets[k] :]
                del c.offsets[k + 1 :]
                del c.timestamps[k:]
                del c.metered[k:]
                del c.expires[k:]
        self.end = seq
        self.start = min(self.start, seq)

    def trim(self, seq: int) -> None:
        """Forget records below ``seq``."""
        if seq <= self.start:
            return
        self.start = min(seq, self.end)
        chunks = self._chunks
        drop = 0
        while drop < len(chunks) and chunks[drop].end_seq <= self.start:
            drop += 1
        if drop:
            del chunks[:drop]

    def expire(self, now_secs: int) -> None:
        """Forget the oldest records whose retention ran out by ``now_secs``."""
        seq = self.start
        for c in self._chunks:
            j = max(seq - c.first_seq, 0)
            while j < len(c):
                exp = c.expires[j]
                if exp == 0 or exp > now_secs:
                    self.trim(c.first_seq + j)
                    return
                j += 1
            seq = c.end_seq
        self.trim(seq)

    def stored_bytes(self) -> int:
        """Metered bytes of the records kept."""
        total = 0
        for c in self._chunks:
            j = max(self.start - c.first_seq, 0)
            total += sum(c.metered[j:])
        return total

    def is_empty(self) -> bool:
        """Whether no record is kept."""
        return self.start >= self.end
