"""Persistence: nothing (in memory) or a write-ahead log on disk with group commit.

The disk log is a sequence of entries ``length u32 | kind u8 | payload | crc32 u32``.
Kind 1 is a metadata change (JSON), kind 2 an append (JSON header, then the
timestamp, metered-size and entry-offset arrays, then the encoded records).
Appends are written and fsynced in groups before they are acknowledged; a torn
entry at the end of the log (a crash mid-write) is cut off on recovery.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import json
import logging
import os
import struct
import zlib
from array import array
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO

from s2_local.errors import ApiError

if TYPE_CHECKING:
    from s2_local.stream import Stream

__all__ = ["AppendEntry", "DiskStore", "Store"]

log = logging.getLogger("s2_local.store")

_HEAD = struct.Struct(">IB")
_CRC = struct.Struct(">I")
_U32 = struct.Struct(">I")
_META, _APPEND = 1, 2


@dataclass(frozen=True, slots=True)
class AppendEntry:
    """An append read back from the log."""

    basin: str
    stream: str
    first_seq: int
    fencing_token: str
    trim_point: int
    expires_at: int
    data: bytes
    timestamps: array[int]
    metered: array[int]


class Store:
    """In-memory persistence: everything is durable as soon as it is sequenced."""

    durable = False

    async def start(self) -> None:
        """Begin accepting writes."""

    async def close(self) -> None:
        """Flush and release resources."""

    def replay(self) -> Iterator[dict[str, Any] | AppendEntry]:
        """Every entry persisted so far, in order."""
        return iter(())

    async def persist_meta(self, op: dict[str, Any]) -> None:
        """Make a metadata change durable."""

    def persist_append(
        self,
        stream: Stream,
        data: bytes,
        timestamps: array[int],
        metered: array[int],
        expires_at: int,
    ) -> asyncio.Future[None] | None:
        """Start making an append durable; None when it already is."""
        return None


class DiskStore(Store):
    """A write-ahead log in ``data_dir``, fsynced before every acknowledgement."""

    durable = True

    def __init__(self, data_dir: str | os.PathLike[str]) -> None:
        self.data_dir = Path(data_dir)
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self._path = self.data_dir / "wal.s2l"
        self._lock = open(self.data_dir / "lock", "w")  # noqa: SIM115
        try:
            fcntl.flock(self._lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as e:
            self._lock.close()
            raise RuntimeError(f"{self.data_dir} is in use by another s2-local") from e
        self._file: BinaryIO | None = None
        self._queue: list[tuple[bytes, asyncio.Future[None]]] = []
        self._wakeup: asyncio.Event | None = None
        self._writer: asyncio.Task[None] | None = None
        self._valid_length: int | None = None

    def replay(self) -> Iterator[dict[str, Any] | AppendEntry]:
        if not self._path.exists():
            return
        data = self._path.read_bytes()
        pos = 0
        while pos + _HEAD.size <= len(data):
            length, kind = _HEAD.unpack_from(data, pos)
            end = pos + _HEAD.size + length + _CRC.size
            if end > len(data):
                break
            payload = data[pos + _HEAD.size : end - _CRC.size]
            if zlib.crc32(payload) != _CRC.unpack_from(data, end - _CRC.size)[0]:
                break
            yield json.loads(payload) if kind == _META else _decode_append(payload)
            pos = end
        self._valid_length = pos
        if pos < len(data):
            log.warning("cutting %d bytes of torn log entries at offset %d", len(data) - pos, pos)

    async def start(self) -> None:
        if not self._path.exists():
            self._path.touch()
        if self._valid_length is not None:
            os.truncate(self._path, self._valid_length)
        self._file = open(self._path, "ab")  # noqa: SIM115
        self._wakeup = asyncio.Event()
        self._writer = asyncio.create_task(self._write_loop(), name="s2-local-wal")

    async def close(self) -> None:
        if self._writer is not None:
            while self._queue:
                await asyncio.sleep(0.001)
            self._writer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._writer
            self._writer = None
        if self._file is not None:
            self._file.close()
            self._file = None
        self._lock.close()

    async def persist_meta(self, op: dict[str, Any]) -> None:
        await self._enqueue(_META, json.dumps(op, separators=(",", ":")).encode())

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
        return self._enqueue(_APPEND, payload)

    def _enqueue(self, kind: int, payload: bytes) -> asyncio.Future[None]:
        if self._wakeup is None:
            raise ApiError("unavailable", "the store is not open")
        entry = _HEAD.pack(len(payload), kind) + payload + _CRC.pack(zlib.crc32(payload))
        fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._queue.append((entry, fut))
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
                await asyncio.to_thread(self._write, b"".join(entry for entry, _ in group))
            except OSError as e:
                log.error("log write failed: %s", e)
                for _, fut in group:
                    if not fut.done():
                        fut.set_exception(ApiError("storage", f"log write failed: {e}"))
                continue
            for _, fut in group:
                if not fut.done():
                    fut.set_result(None)

    def _write(self, buf: bytes) -> None:
        assert self._file is not None
        self._file.write(buf)
        self._file.flush()
        os.fsync(self._file.fileno())


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
