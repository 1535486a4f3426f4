"""Persistence: nothing (in memory) or a write-ahead log on disk with group commit.

The disk log is a sequence of entries ``length u32 | kind u8 | payload | crc32 u32``.
Kind 1 is a metadata change (JSON), kind 2 an append (JSON header, then the
timestamp, metered-size and entry-offset arrays, then the encoded records).

Writes are whole or nothing. Appends are written and fsynced in groups before they
are acknowledged; a group that fails (a full disk) is cut off the file again, and
every append not yet durable at that moment fails with it: their streams are rolled
back to their durable state (:meth:`Stream.rollback`) before anyone can read them.

Recovery tells a torn tail (a crash mid-write: the last entry is cut short, or the
file ends in zeros) from corruption (a damaged entry with intact ones after it). A
torn tail is cut off; corruption stops the server with :class:`CorruptLog`, naming
the offset, unless it was opened with ``repair=True``, which keeps every intact entry,
rewrites the log without the damaged ones and reports what it dropped.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import json
import logging
import os
import struct
import time
import zlib
from array import array
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from s2_sdk.protocol import ErrorCode

from s2_local.errors import ApiError
from s2_local.storage.memory import AppendEntry, Store

if TYPE_CHECKING:
    from s2_local.engine.stream import Stream

__all__ = ["CorruptLog", "DiskStore"]

log = logging.getLogger("s2_local.store")

_HEAD = struct.Struct(">IB")
_CRC = struct.Struct(">I")
_U32 = struct.Struct(">I")
_META, _APPEND = 1, 2
_KINDS = (_META, _APPEND)


_Queued = tuple[bytes, "asyncio.Future[None]", "Stream | None"]
"""An entry waiting to be written: its bytes, who waits for it, its stream (appends)."""


class CorruptLog(RuntimeError):
    """The log is damaged in the middle: starting would silently lose acknowledged data."""


class DataDirInUse(RuntimeError):
    """Another s2-local holds the data directory."""


class DiskStore(Store):
    """A write-ahead log in ``data_dir``, fsynced before every acknowledgement.

    With ``repair``, recovery drops damaged entries instead of refusing to start.

    Raises:
        DataDirInUse: another s2-local serves ``data_dir``.
        OSError: ``data_dir`` cannot be created or written.
    """

    durable = True

    def __init__(self, data_dir: str | os.PathLike[str], *, repair: bool = False) -> None:
        self.data_dir = Path(data_dir)
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self._path = self.data_dir / "wal.s2l"
        self._repair = repair
        self._lock = open(self.data_dir / "lock", "w")  # noqa: SIM115
        try:
            fcntl.flock(self._lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as e:
            self._lock.close()
            raise DataDirInUse(f"{self.data_dir} is in use by another s2-local") from e
        self._fd: int | None = None
        self._size = 0
        """Bytes of whole entries in the file: where the next write starts."""
        self._queue: list[_Queued] = []
        self._wakeup: asyncio.Event | None = None
        self._writer: asyncio.Task[None] | None = None
        self._kept: list[tuple[int, int]] = []
        """The (start, end) byte ranges of the entries recovered."""
        self.dropped: list[str] = []
        """What a repair dropped, one line each (also logged)."""

    def replay(self) -> Iterator[dict[str, Any] | AppendEntry]:
        if not self._path.exists():
            return
        data = self._path.read_bytes()
        pos, n = 0, len(data)
        kept = self._kept
        while pos < n:
            end = _entry_end(data, pos)
            if end is None:
                following = _next_entry(data, pos + 1)
                if following is None:  # nothing intact after it: a torn tail
                    self._report_torn(data, pos)
                    break
                if not self._repair:
                    raise CorruptLog(
                        f"{self._path} is damaged at byte offset {pos}: an entry there is "
                        f"unreadable but intact entries follow from offset {following} "
                        f"({n - following} bytes). Refusing to start, which would lose them; "
                        "`s2-local serve --repair` keeps every intact entry and drops the "
                        "damaged ones."
                    )
                self._drop(f"bytes {pos}-{following} (damaged entries)")
                pos = following
                continue
            kind = data[pos + 4]
            payload = data[pos + _HEAD.size : end - _CRC.size]
            entry = json.loads(payload) if kind == _META else _decode_append(payload)
            kept.append((pos, end))
            yield entry
            pos = end
        self._size = pos if not self.dropped else sum(e - s for s, e in kept)

    def _report_torn(self, data: bytes, pos: int) -> None:
        log.warning(
            "%s: cutting a torn last entry (%d bytes at offset %d, a write cut short)",
            self._path,
            len(data) - pos,
            pos,
        )

    def _drop(self, what: str) -> None:
        log.warning("%s: repair drops %s", self._path, what)
        self.dropped.append(what)

    @property
    def repairing(self) -> bool:
        """Whether recovery drops what it cannot restore (instead of refusing to start)."""
        return self._repair

    def drop(self, what: str) -> None:
        """Drop the entry :meth:`replay` yielded last: recovery could not restore it
        (during a repair; the log is rewritten without it)."""
        self._kept.pop()
        self._drop(what)

    async def start(self) -> None:
        if not self._path.exists():
            self._path.touch()
        if self.dropped:
            self._rewrite(self._kept)
        elif self._path.stat().st_size != self._size:
            os.truncate(self._path, self._size)  # the torn tail
        self._fd = os.open(self._path, os.O_WRONLY | os.O_APPEND)
        self._wakeup = asyncio.Event()
        self._writer = asyncio.create_task(self._write_loop(), name="s2-local-wal")

    def _rewrite(self, ranges: list[tuple[int, int]]) -> None:
        """Replace the log by its intact entries (a repair), atomically."""
        data = self._path.read_bytes()
        tmp = self._path.with_suffix(".repair")
        with open(tmp, "wb") as f:
            for start, end in ranges:
                f.write(data[start:end])
            f.flush()
            os.fsync(f.fileno())
        backup = self._path.with_suffix(".damaged")
        os.replace(self._path, backup)
        os.replace(tmp, self._path)
        _fsync_dir(self.data_dir)
        self._size = sum(end - start for start, end in ranges)
        log.warning("%s: repaired (the damaged log is kept as %s)", self._path, backup)

    async def close(self) -> None:
        if self._writer is not None:
            while self._queue:
                await asyncio.sleep(0.001)
            self._writer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._writer
            self._writer = None
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None
        self._lock.close()

    async def persist_meta(self, op: dict[str, Any]) -> None:
        await self._enqueue(_META, json.dumps(op, separators=(",", ":")).encode(), None)

    def persist_append(
        self,
        stream: Stream,
        data: bytes,
        timestamps: array[int],
        metered: array[int],
        expires_at: int,
    ) -> asyncio.Future[None] | None:
        head = json.dumps(
            {
                "b": stream.basin,
                "s": stream.name,
                "seq": stream.next_seq - len(timestamps),
                "tok": stream.fencing_token,
                "trim": stream.trim_point,
                "exp": expires_at,
            },
            separators=(",", ":"),
        ).encode()
        payload = b"".join(
            (
                _U32.pack(len(head)),
                head,
                _U32.pack(len(timestamps)),
                timestamps.tobytes(),
                metered.tobytes(),
                data,
            )
        )
        return self._enqueue(_APPEND, payload, stream)

    def _enqueue(self, kind: int, payload: bytes, stream: Stream | None) -> asyncio.Future[None]:
        if self._wakeup is None:
            raise ApiError(ErrorCode.UNAVAILABLE, "the store is not open")
        entry = _HEAD.pack(len(payload), kind) + payload + _CRC.pack(zlib.crc32(payload))
        fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._queue.append((entry, fut, stream))
        self._wakeup.set()
        return fut

    async def _write_loop(self) -> None:
        assert self._wakeup is not None
        while True:
            await self._wakeup.wait()
            self._wakeup.clear()
            group, self._queue = self._queue, []
            if not group:
                continue
            try:
                await asyncio.to_thread(self._write, b"".join(entry for entry, _, _ in group))
            except OSError as e:
                self._fail(group, e)
                continue
            for _, fut, _ in group:
                if not fut.done():
                    fut.set_result(None)

    def _fail(self, group: list[_Queued], e: OSError) -> None:
        """A write failed: it and everything queued behind it (sequenced on top of it)
        fail, and their streams go back to their durable state, all before any other
        task runs."""
        failed, self._queue = group + self._queue, []
        log.error("log write failed (%d entries not written): %s", len(failed), e)
        for stream in {id(s): s for _, _, s in failed if s is not None}.values():
            stream.rollback()
        error = ApiError(ErrorCode.STORAGE, f"the write-ahead log could not be written: {e}")
        for _, fut, _ in failed:
            if not fut.done():
                fut.set_exception(error)

    def _write(self, buf: bytes) -> None:
        """Append ``buf`` and fsync; on failure cut the file back (whole or nothing)."""
        assert self._fd is not None
        fd = self._fd
        if os.lseek(fd, 0, os.SEEK_END) != self._size:  # an earlier cut did not go through
            self._cut()
        try:
            view = memoryview(buf)
            while view:
                view = view[os.write(fd, view) :]
            started = time.perf_counter()
            os.fsync(fd)
            if self.on_fsync is not None:
                self.on_fsync(time.perf_counter() - started)
        except OSError:
            with contextlib.suppress(OSError):
                self._cut()
            raise
        self._size += len(buf)

    def _cut(self) -> None:
        """Drop whatever part of a failed write reached the file."""
        assert self._fd is not None
        os.ftruncate(self._fd, self._size)
        os.fsync(self._fd)


def _entry_end(data: bytes, pos: int) -> int | None:
    """The end of a whole, intact entry at ``pos`` (None if there is none)."""
    if len(data) - pos < _HEAD.size + _CRC.size:
        return None
    length, kind = _HEAD.unpack_from(data, pos)
    end: int = pos + _HEAD.size + length + _CRC.size
    if kind not in _KINDS or end > len(data):
        return None
    if zlib.crc32(data[pos + _HEAD.size : end - _CRC.size]) != _CRC.unpack_from(data, end - 4)[0]:
        return None
    return end


def _next_entry(data: bytes, pos: int) -> int | None:
    """The offset of the next intact entry at or after ``pos`` (None if none follows)."""
    n = len(data)
    while pos <= n - _HEAD.size - _CRC.size:
        if data[pos + 4] in _KINDS and _entry_end(data, pos) is not None:
            return pos
        pos += 1
    return None


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _decode_append(payload: bytes) -> AppendEntry:
    (head_len,) = _U32.unpack_from(payload, 0)
    head = json.loads(payload[4 : 4 + head_len])
    pos = 4 + head_len
    (n,) = _U32.unpack_from(payload, pos)
    pos += 4
    timestamps = array("Q")
    timestamps.frombytes(payload[pos : pos + 8 * n])
    pos += 8 * n
    metered = array("I")
    metered.frombytes(payload[pos : pos + 4 * n])
    pos += 4 * n
    return AppendEntry(
        basin=head["b"],
        stream=head["s"],
        first_seq=head["seq"],
        fencing_token=head["tok"],
        trim_point=head["trim"],
        expires_at=head["exp"],
        data=payload[pos:],
        timestamps=timestamps,
        metered=metered,
    )
