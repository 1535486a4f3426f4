"""One stream: its sequencer, durable tail, fencing token, trim point and records.

Everything here runs on the server's event loop. Sequencing an append is a
synchronous section (no ``await`` between the checks and the assignment), so
appends are ordered by arrival and sequence numbers are gapless. Readers see
records only up to the durable tail.
"""

from __future__ import annotations

import asyncio
import functools
from array import array
from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from google.protobuf.message import DecodeError
from s2_sdk.protocol import (
    COMMAND_FENCE,
    MAX_BATCH_METERED_BYTES,
    MAX_BATCH_RECORDS,
    MAX_FENCING_TOKEN_BYTES,
    MAX_RECORD_METERED_BYTES,
    ErrorCode,
    command_of,
    metered_size,
    pb,
    record_error,
    varint,
)

from s2_local.engine.clock import Clock
from s2_local.engine.config import StreamConfig
from s2_local.engine.crypto import AES_GCM_MAX_SEQ_NUM, RecordCipher
from s2_local.engine.entries import (
    encode_plain,
    entry,
    header_field,
    record_fields,
    split_entries,
)
from s2_local.engine.record_log import ReadSlice, RecordLog
from s2_local.errors import ApiError, ConditionFailed

if TYPE_CHECKING:
    from s2_local.storage import AppendEntry, Store

__all__ = ["COMMANDS", "Ack", "Stream", "check_batch", "rfc3339"]

COMMANDS = frozenset({"fence", "trim"})
"""The command records there are (a caller's permissions may allow fewer)."""

_NEVER = 2**64 - 1
"""The largest expiry time (seconds): what retention ages near 2**64 come to."""


@dataclass(frozen=True, slots=True)
class Ack:
    """Positions of an acknowledged append: (seq_num, timestamp) pairs."""

    start: tuple[int, int]
    end: tuple[int, int]
    tail: tuple[int, int]

    def to_proto(self) -> pb.AppendAck:
        """The protobuf ``AppendAck``."""
        return pb.AppendAck(
            start=pb.StreamPosition(seq_num=self.start[0], timestamp=self.start[1]),
            end=pb.StreamPosition(seq_num=self.end[0], timestamp=self.end[1]),
            tail=pb.StreamPosition(seq_num=self.tail[0], timestamp=self.tail[1]),
        )

    def to_json(self) -> dict[str, Any]:
        """The JSON ``AppendAck``."""
        return {
            name: {"seq_num": pos[0], "timestamp": pos[1]}
            for name, pos in (("start", self.start), ("end", self.end), ("tail", self.tail))
        }


def check_batch(inp: Any) -> None:
    """The checks of a batch as a whole, before it reaches any stream (its records are
    checked as they are sequenced, in the same pass: :meth:`Stream.sequence`).

    Raises:
        ApiError: ``invalid`` (422) for a batch the protocol does not allow.
    """
    n = len(inp.records)
    if not n:
        raise ApiError(ErrorCode.INVALID, "record batch must not be empty")
    if n > MAX_BATCH_RECORDS:
        raise ApiError(
            ErrorCode.INVALID, f"record batch must not exceed {MAX_BATCH_RECORDS} records"
        )
    if inp.HasField("fencing_token") and (
        len(inp.fencing_token.encode()) > MAX_FENCING_TOKEN_BYTES
    ):
        raise ApiError(ErrorCode.INVALID, f"fencing token exceeds {MAX_FENCING_TOKEN_BYTES} bytes")


_HEADERS: dict[bytes, tuple[int, bool, bytes]] = {}
"""Raw ``Header`` encodings seen lately: their metered size, whether the name is set, and
their encoding as a stored record's ``headers`` field."""
_MAX_HEADERS = 4096


def _header(raw: bytes) -> tuple[int, bool, bytes]:
    """(metered size, named, stored field) of a raw ``Header`` encoding, decoded once and
    remembered."""
    info = _HEADERS.get(raw)
    if info is None:
        try:
            header = pb.Header.FromString(raw)
        except DecodeError as e:
            raise ApiError(ErrorCode.BAD_PROTO, f"invalid header: {e}") from e
        size = metered_size(((header.name, header.value),), b"") - 8
        info = (size, bool(header.name), header_field(raw))
        if len(_HEADERS) >= _MAX_HEADERS:
            _HEADERS.clear()
        _HEADERS[raw] = info
    return info


def _outside_records(inp: Any) -> int:
    """The encoded size of an ``AppendInput``'s fields other than its records."""
    size = 0
    if inp.HasField("match_seq_num"):
        size += 1 + len(varint(inp.match_seq_num))
    if inp.HasField("fencing_token"):
        token = len(inp.fencing_token.encode())
        size += 1 + len(varint(token)) + token
    return size


def _full_check(headers: Any, body: bytes, size: int) -> bytes | None:
    """Check a record that may be invalid or a command; its command if it is one."""
    parsed = [pb.Header.FromString(h) for h in headers]
    error = record_error(parsed, body, size)
    if error:
        raise ApiError(ErrorCode.INVALID, error)
    return command_of(parsed)


@dataclass(slots=True)
class _Encoded:
    """A batch's records as stored, with what sequencing them changes."""

    data: bytes
    offsets: array[int]
    timestamps: array[int]
    metered: array[int]
    total: int
    fencing_token: str
    trim_point: int


class Stream:
    """A stream of a basin, with its sequencer."""

    def __init__(
        self,
        basin: str,
        name: str,
        config: StreamConfig,
        cipher: str | None,
        created_at: datetime,
        idempotency_key: str | None,
        store: Store,
        clock: Clock,
    ) -> None:
        self.basin = basin
        self.name = name
        self.config = config
        self.cipher = cipher
        self.created_at = created_at
        self.deleted_at: datetime | None = None
        self.idempotency_key = idempotency_key
        self.log = RecordLog()
        self.next_seq = 0
        self.last_timestamp = 0
        self.tail_seq = 0
        self.tail_timestamp = 0
        self.fencing_token = ""
        self.trim_point = 0
        self._durable_token = ""
        self._durable_trim = 0
        self.last_write = clock.now()
        self.sessions = 0
        self._store = store
        self._clock = clock
        self._pending: asyncio.Future[None] | None = None
        self._changed: asyncio.Future[None] | None = None

    # -- info -------------------------------------------------------------------

    @property
    def tail(self) -> tuple[int, int]:
        """The durable tail: next sequence number, timestamp of the last record."""
        return self.tail_seq, self.tail_timestamp

    def info_json(self) -> dict[str, Any]:
        """The JSON ``StreamInfo``."""
        return {
            "name": self.name,
            "created_at": rfc3339(self.created_at),
            "deleted_at": rfc3339(self.deleted_at) if self.deleted_at else None,
            "cipher": self.cipher,
        }

    def ensure_live(self) -> None:
        """Raise ``stream_deletion_pending`` if the stream is being deleted."""
        if self.deleted_at is not None:
            raise ApiError(
                ErrorCode.STREAM_DELETION_PENDING, f"stream `{self.name}` is being deleted"
            )

    # -- append -----------------------------------------------------------------

    async def append(
        self, inp: Any, key: bytes | None, commands: Collection[str] = COMMANDS
    ) -> tuple[Ack, int]:
        """Sequence a batch and wait until it is durable; the ack and the batch's
        metered size. A condition failure is reported once the state it refers to is
        durable.
        """
        try:
            acked, metered = self.sequence(inp, key, commands)
        except ConditionFailed:
            await self.durable()
            raise
        return await acked, metered

    def sequence(
        self, inp: Any, key: bytes | None, commands: Collection[str] = COMMANDS
    ) -> tuple[asyncio.Future[Ack], int]:
        """Sequence a batch (an :data:`~s2_sdk.protocol.AppendInputView` that passed
        :func:`check_batch`) now, in arrival order: the future resolves once it is durable;
        the int is the batch's metered size. ``commands`` are the command records the
        caller may append (``fence``, ``trim``).

        One pass over the records checks them, meters them, gives them their timestamps
        and encodes them as stored; the stream changes only once all of them passed.
        Raises (synchronously) when the batch cannot be appended; callers report a
        :class:`ConditionFailed` only after :meth:`durable`.
        """
        self.ensure_live()
        cipher = self._cipher_for(key)
        now = self._clock.now_ms()
        first = self.next_seq
        records = inp.records
        batch = None
        head = records[0]
        if cipher is None and not head.headers and not head.HasField("timestamp"):
            # Most likely a batch of bodies alone: encode it so, then check that it was one
            # (its encoded size is then exactly what bodies alone take).
            timestamp = max(now, self.last_timestamp)
            data, offsets, metered, total, plain = encode_plain(records, first, timestamp)
            if plain + _outside_records(inp) == inp.ByteSize():
                if self.config.timestamping.mode == "client-require":
                    raise ApiError(
                        ErrorCode.INVALID, "record timestamp was required but was missing"
                    )
                timestamps = array("Q", [timestamp]) * len(metered)
                token, trim = self.fencing_token, self.trim_point
                batch = _Encoded(data, offsets, timestamps, metered, total, token, trim)
        if batch is None:
            batch = self._encode(records, cipher, now, commands)
        if batch.total > MAX_BATCH_METERED_BYTES:
            raise ApiError(
                ErrorCode.INVALID, "record batch must not exceed a metered size of 1 MiB"
            )
        if inp.HasField("fencing_token") and inp.fencing_token != self.fencing_token:
            raise ConditionFailed(fencing_token=self.fencing_token)
        if inp.HasField("match_seq_num") and inp.match_seq_num != first:
            raise ConditionFailed(seq_num=first)
        timestamps, token, trim = batch.timestamps, batch.fencing_token, batch.trim_point
        retention = self.config.retention_secs
        # a u64 expiry; retention so long that it would pass 2**64 never expires either
        expires = 0 if retention is None else min(int(now // 1000) + retention, _NEVER)
        self.log.append(batch.data, batch.offsets, timestamps, batch.metered, expires)
        self.next_seq = seq = first + len(timestamps)
        self.last_timestamp = last = timestamps[-1]
        self.fencing_token, self.trim_point = token, trim
        self.last_write = self._clock.now()
        end = (seq, last)
        start = (first, timestamps[0])
        result: asyncio.Future[Ack] = asyncio.get_running_loop().create_future()
        persisted = self._store.persist_append(self, batch.data, timestamps, batch.metered, expires)
        if persisted is None:
            self._made_durable(end, token, trim)
            result.set_result(Ack(start, end, self.tail))
        else:
            self._pending = persisted
            done = functools.partial(self._persisted, start, end, token, trim, result)
            persisted.add_done_callback(done)
        return result, batch.total

    def _encode(
        self, records: Any, cipher: RecordCipher | None, now: int, commands: Collection[str]
    ) -> _Encoded:
        """Check, meter, timestamp and encode records that may have headers, timestamps
        or commands, or go to an encrypted stream (:func:`encode_plain` takes the others)."""
        timestamping = self.config.timestamping
        arrival = timestamping.mode == "arrival"
        required = timestamping.mode == "client-require"
        capped = not timestamping.uncapped
        prev = self.last_timestamp
        seq = self.next_seq
        token, trim = self.fencing_token, self.trim_point
        parts: list[bytes] = []
        offsets = array("I", [0])
        timestamps = array("Q")
        metered = array("I")
        total = pos = 0
        # The metered size is s2_sdk.protocol.metered_size, computed inline
        # (tests/core/test_shared_api.py holds it to the function through the metrics).
        for r in records:
            headers = r.headers
            body = r.body
            size = 8 + len(body)
            command = None
            fields = b""
            if headers:
                named = True
                for h in headers:
                    hsize, hnamed, field = _HEADERS.get(h) or _header(h)
                    size += hsize
                    named = named and hnamed
                    fields += field
                if not named or size > MAX_RECORD_METERED_BYTES:  # may be invalid, or a command
                    command = _full_check(headers, body, size)
                if command is not None:
                    op = command.decode(errors="replace")
                    if op not in commands:
                        raise ApiError(
                            ErrorCode.PERMISSION_DENIED, f"operation `{op}` is not permitted"
                        )
                    if command == COMMAND_FENCE:
                        token = body.decode()
                    else:
                        trim = max(trim, min(int.from_bytes(body, "big"), seq + 1))
            elif size > MAX_RECORD_METERED_BYTES:
                raise ApiError(ErrorCode.INVALID, "record must have metered size less than 1 MiB")
            if arrival:
                ts = now
            elif r.HasField("timestamp"):
                ts = r.timestamp
                if ts > now and capped:
                    ts = now
            elif required:
                raise ApiError(ErrorCode.INVALID, "record timestamp was required but was missing")
            else:
                ts = now
            if ts < prev:
                ts = prev
            prev = ts
            if cipher is not None and command is None:
                if cipher.algorithm == "aes-256-gcm" and seq > AES_GCM_MAX_SEQ_NUM:
                    raise ApiError(
                        ErrorCode.INVALID,
                        f"max assignable sequence number is {AES_GCM_MAX_SEQ_NUM}",
                    )
                body = cipher.seal(record_fields(0, 0, fields, body), seq)
                fields = b""
            encoded = entry(record_fields(seq, ts, fields, body))
            parts.append(encoded)
            pos += len(encoded)
            offsets.append(pos)
            timestamps.append(ts)
            metered.append(size)
            total += size
            seq += 1
        return _Encoded(b"".join(parts), offsets, timestamps, metered, total, token, trim)

    def _cipher_for(self, key: bytes | None) -> RecordCipher | None:
        if self.cipher is None:
            return None
        if key is None:
            raise ApiError(
                ErrorCode.BAD_HEADER, f"missing encryption key for stream cipher '{self.cipher}'"
            )
        return RecordCipher(self.cipher, key)

    def _persisted(
        self,
        start: tuple[int, int],
        end: tuple[int, int],
        token: str,
        trim: int,
        result: asyncio.Future[Ack],
        persisted: asyncio.Future[None],
    ) -> None:
        error = persisted.exception() if not persisted.cancelled() else None
        if error is None and not persisted.cancelled():
            self._made_durable(end, token, trim)
        if result.done():
            return
        if error is not None:
            result.set_exception(error)
        elif persisted.cancelled():
            result.set_exception(ApiError(ErrorCode.STORAGE, "append was not persisted"))
        else:
            result.set_result(Ack(start, end, self.tail))

    def _made_durable(self, end: tuple[int, int], token: str, trim: int) -> None:
        if end[0] > self.tail_seq:
            self.tail_seq, self.tail_timestamp = end
            self._durable_token, self._durable_trim = token, trim
            if trim > self.log.start:
                self.log.trim(min(trim, self.tail_seq))
            self.notify()

    def rollback(self) -> None:
        """Forget every append sequenced but not durable: its write failed (the store
        fails all of them at once, before anything else runs)."""
        self.log.truncate(self.tail_seq)
        self.next_seq = self.tail_seq
        self.last_timestamp = self.tail_timestamp
        self.fencing_token, self.trim_point = self._durable_token, self._durable_trim

    async def durable(self) -> None:
        """Wait until everything sequenced so far is durable (or failed to be)."""
        pending = self._pending
        if pending is not None and not pending.done():
            await asyncio.wait({pending})

    def restore(self, entry: AppendEntry) -> None:
        """Re-apply an append read back from the store (recovery)."""
        self.log.append(
            entry.data, split_entries(entry.data), entry.timestamps, entry.metered, entry.expires_at
        )
        self.next_seq = self.tail_seq = entry.first_seq + len(entry.timestamps)
        self.last_timestamp = self.tail_timestamp = entry.timestamps[-1]
        self.fencing_token = self._durable_token = entry.fencing_token
        self.trim_point = self._durable_trim = entry.trim_point
        self.log.trim(min(self.trim_point, self.tail_seq))

    # -- read -------------------------------------------------------------------

    def read(self, seq: int, max_count: int, max_bytes: int, until: int | None) -> ReadSlice:
        """Durable records from ``seq`` within the limits (see :meth:`RecordLog.read`)."""
        self.log.expire(int(self._clock.now()))
        return self.log.read(seq, self.tail_seq, max_count, max_bytes, until)

    def seek_timestamp(self, timestamp: int) -> int:
        """First durable sequence number whose timestamp is >= ``timestamp``."""
        return self.log.seek_timestamp(timestamp, self.tail_seq)

    def decode(self, data: bytes, key: bytes | None) -> pb.ReadBatch:
        """Parse encoded entries into a ``ReadBatch``, decrypting when the stream has a cipher."""
        batch = pb.ReadBatch.FromString(data)
        if self.cipher is None:
            return batch
        cipher = self._cipher_for(key)
        assert cipher is not None
        for r in batch.records:
            if not r.headers:
                plain = pb.SequencedRecord.FromString(cipher.open(r.body, r.seq_num))
                r.body = plain.body
                r.headers.extend(plain.headers)
        return batch

    def check_read_key(self, key: bytes | None) -> None:
        """Raise ``bad_header`` before a read when an encrypted stream gets no key."""
        self._cipher_for(key)

    async def changed(self, timeout: float | None, wake: asyncio.Event | None = None) -> bool:
        """Wait until the durable tail moves or the stream is deleted (or ``wake`` is set);
        False on timeout."""
        if self._changed is None:
            self._changed = asyncio.get_running_loop().create_future()
        if wake is None:
            try:
                await asyncio.wait_for(asyncio.shield(self._changed), timeout)
            except TimeoutError:
                return False
            return True
        if wake.is_set():
            return True
        waker: asyncio.Future[Any] = asyncio.ensure_future(wake.wait())
        try:
            done, _ = await asyncio.wait(
                {self._changed, waker}, timeout=timeout, return_when=asyncio.FIRST_COMPLETED
            )
        finally:
            waker.cancel()
        return bool(done)

    def notify(self) -> None:
        """Wake every reader waiting in :meth:`changed`."""
        if self._changed is not None:
            if not self._changed.done():
                self._changed.set_result(None)
            self._changed = None


def rfc3339(value: datetime) -> str:
    """Format a datetime as RFC 3339 in UTC with a `Z`."""
    return value.isoformat().replace("+00:00", "Z")
