"""Typed messages over S2: a serializing writer and a deserializing reader."""

from __future__ import annotations

import asyncio
import json
from collections import deque
from collections.abc import Awaitable, Callable, Generator
from typing import Any, Generic, NamedTuple, TypeVar, cast

from s2_sdk._append_session import AppendSession
from s2_sdk._closing import AsyncClosing
from s2_sdk._exceptions import S2ClientError
from s2_sdk._producer import Producer
from s2_sdk._proto import JoinedRecords
from s2_sdk._read_session import ReadSession
from s2_sdk._records import AppendAck, AppendInput, EncodedRecord, Record, SequencedRecord
from s2_sdk.patterns._assembly import DedupeFilter, FrameAssembler, FrameSizeError
from s2_sdk.patterns._encoding import RecordBuilder
from s2_sdk.patterns._header_fields import (
    Fields,
    fields_of_headers,
    fields_of_joined,
    fields_of_pairs,
)
from s2_sdk.patterns._wire import (
    _LEGACY_WRITER,
    DEFAULT_MAX_FRAME_BYTES,
    MAX_CHUNK_BODY_BYTES,
    new_writer_id,
)
from s2_sdk.protocol import MAX_BATCH_METERED_BYTES, MAX_BATCH_RECORDS

__all__ = [
    "DeserializingReadSession",
    "MessageRange",
    "MessageTicket",
    "SerializingAppendSession",
    "json_deserializer",
    "json_serializer",
]

M = TypeVar("M")
_LEGACY_WRITER_BYTES = _LEGACY_WRITER.encode()


class MessageRange(NamedTuple):
    """The sequence numbers a message's records took: ``start`` up to ``end`` (excluded)."""

    start: int
    end: int


class MessageTicket:
    """Awaited, the sequence numbers a message written with
    :meth:`SerializingAppendSession.write` took, once they are acknowledged."""

    __slots__ = ("_first", "_last")

    def __init__(self, first: Awaitable[Any], last: Awaitable[Any]) -> None:
        self._first, self._last = first, last  # acknowledged in order: nothing between

    def __await__(self) -> Generator[Any, None, MessageRange]:
        return self._range().__await__()

    async def _range(self) -> MessageRange:
        first = await self._first
        last = first if self._last is self._first else await self._last
        if isinstance(first, AppendAck):
            return MessageRange(first.start.seq_num, last.end.seq_num)
        return MessageRange(first.seq_num, last.seq_num + 1)  # a Producer's records


def json_serializer(message: Any) -> bytes:
    """A message as compact UTF-8 JSON (what ``JSON.stringify`` writes, for TypeScript
    readers)."""
    return json.dumps(message, separators=(",", ":"), ensure_ascii=False).encode()


def json_deserializer(payload: bytes) -> Any:
    """A message from UTF-8 JSON."""
    return json.loads(payload)


def _batches(records: list[EncodedRecord]) -> list[list[Record]]:
    """Records grouped into appendable batches, in order (S2's per-batch limits)."""
    batches: list[list[Record]] = []
    current: list[Record] = []
    size = 0
    for record in records:
        metered = record.metered
        if current and (
            size + metered > MAX_BATCH_METERED_BYTES or len(current) == MAX_BATCH_RECORDS
        ):
            batches.append(current)
            current, size = [], 0
        current.append(record)
        size += metered
    if current:
        batches.append(current)
    return batches


class SerializingAppendSession(AsyncClosing, Generic[M]):
    """Appends typed messages of any size, each as one framed run of records.

    A message is serialized, cut into chunks of at most ``chunk_size`` bytes (one record
    each), its first record carrying the frame headers, and, unless ``dedupe_seq`` is
    None, every record carrying this writer's id and its next sequence number, from
    ``dedupe_seq`` on (what a deduplicating reader drops repeats by). The wire format is
    the TypeScript patterns' (``@s2-dev/streamstore-patterns``): either side reads what
    the other writes. Concurrent :meth:`submit` calls keep each message's records
    together.

    Args:
        session: An :class:`~s2_sdk.AppendSession`, or a :class:`~s2_sdk.Producer` (which
            may batch records of several messages together).
        serializer: Message to bytes (at least one byte); :func:`json_serializer` for JSON.
        chunk_size: Most body bytes per record.
        match_seq_num: Where the first message's first record goes (each batch then states
            its position: exactly once through retries). With a Producer, set it on the
            Producer instead.
        dedupe_seq: The first record's dedupe sequence number; None: no dedupe headers.
        max_frame_bytes: The largest serialized message sent (readers refuse larger ones).
    """

    def __init__(
        self,
        session: AppendSession | Producer,
        serializer: Callable[[M], bytes],
        *,
        chunk_size: int = MAX_CHUNK_BODY_BYTES,
        match_seq_num: int | None = None,
        dedupe_seq: int | None = 0,
        max_frame_bytes: int = DEFAULT_MAX_FRAME_BYTES,
    ) -> None:
        if not 0 < chunk_size <= MAX_CHUNK_BODY_BYTES:
            raise S2ClientError(f"chunk_size must be in 1..{MAX_CHUNK_BODY_BYTES}")
        if match_seq_num is not None and isinstance(session, Producer):
            raise S2ClientError("with a Producer, give match_seq_num to the Producer")
        self.session = session
        self.serializer = serializer
        self.chunk_size = chunk_size
        self.max_frame_bytes = max_frame_bytes
        self.match_seq_num = match_seq_num
        self.dedupe_seq = dedupe_seq
        self.writer_id = new_writer_id()
        """This writer's id in the dedupe headers (a new one per writer)."""
        self._builder = RecordBuilder(self.writer_id)
        self._order = asyncio.Lock()
        self._producer = session if isinstance(session, Producer) else None

    def records(self, message: M) -> list[Record]:
        """A message's records, headers included (advancing the dedupe sequence).

        Raises:
            S2ClientError: the serializer gave no bytes.
            FrameSizeError: the message is larger than ``max_frame_bytes``.
        """
        return [Record(r.body, list(r.headers)) for r in self._built(self._serialized(message))]

    def _serialized(self, message: M) -> bytes:
        payload = self.serializer(message)
        if not payload:
            raise S2ClientError("the serializer must give at least one byte")
        if len(payload) > self.max_frame_bytes:
            raise FrameSizeError(
                f"the serialized message is {len(payload)} bytes, over max_frame_bytes "
                f"({self.max_frame_bytes}); readers would refuse it: raise max_frame_bytes "
                "on both sides to send larger messages"
            )
        return payload

    def _built(self, payload: bytes) -> list[EncodedRecord]:
        """The records of ``payload``, their headers encoded (for the session, untouched)."""
        records, self.dedupe_seq = self._builder.build(payload, self.chunk_size, self.dedupe_seq)
        return records

    async def submit(self, message: M) -> MessageRange:
        """Append ``message``; once it is acknowledged, the sequence numbers it took.

        Raises:
            S2Error: as the session's submits and acknowledgements do.
        """
        return await (await self.write(message))

    async def write(self, message: M) -> MessageTicket:
        """Hand ``message`` to the session (waiting only for its back-pressure) and return
        a ticket, awaited for the sequence numbers it took: ``write`` pipelines messages,
        where ``submit`` waits for each one's acknowledgement.

        Raises:
            S2Error: as the session's submits do.
        """
        payload = self._serialized(message)
        order, producer = self._order, self._producer
        first: Awaitable[Any]
        ticket: Awaitable[Any]
        if producer is not None and len(payload) <= self.chunk_size and not order.locked():
            # one record, no message part-way through: a Producer places a record in the
            # order submit is called, so its dedupe number (given now) keeps rising
            seq = self.dedupe_seq
            if seq is None:
                record = self._built(payload)[0]
            else:
                self.dedupe_seq = seq + 1
                record = self._builder.one(payload, seq)
            ticket = await producer.submit(record)
            return MessageTicket(ticket, ticket)
        await order.acquire()  # a message's records go together
        try:
            records = self._built(payload)
            if producer is not None:
                first = ticket = await producer.submit(records[0])
                for record in records[1:]:
                    ticket = await producer.submit(record)
            else:
                batches = _batches(records)
                first = ticket = await self._submit_batch(batches[0])
                for batch in batches[1:]:
                    ticket = await self._submit_batch(batch)
        finally:
            order.release()
        return MessageTicket(first, ticket)

    async def _submit_batch(self, batch: list[Record]) -> Awaitable[AppendAck]:
        """Submit a batch to the append session (at the next position, if it is kept)."""
        position = self.match_seq_num
        if position is not None:
            self.match_seq_num = position + len(batch)
        session = cast(AppendSession, self.session)  # not a Producer: see write
        return await session.submit(AppendInput(batch, position))

    async def close(self) -> None:
        """Close the underlying session (waiting for what was submitted)."""
        await self.session.close()


class DeserializingReadSession(AsyncClosing, Generic[M]):
    """The typed messages of a stream, from a read session: an async iterator.

    Repeated records (a retried append) are dropped by their dedupe headers (unless
    ``enable_dedupe`` is False), frames are assembled into messages, and messages are
    deserialized. A reader that starts in the middle of a message skips to the next whole
    one. What cannot be part of a whole message is dropped as the TypeScript reader drops
    it, but never silently: a warning names the sequence numbers and :attr:`dropped`
    counts them.

    Args:
        read_session: A read session (``stream.read_session(...)``).
        deserializer: Bytes to message; :func:`json_deserializer` for JSON.
        enable_dedupe: Drop repeated records.
        max_frame_bytes: The largest message assembled; a larger declared size raises
            :class:`FrameSizeError`.
    """

    def __init__(
        self,
        read_session: ReadSession,
        deserializer: Callable[[bytes], M],
        *,
        enable_dedupe: bool = True,
        max_frame_bytes: int = DEFAULT_MAX_FRAME_BYTES,
    ) -> None:
        self.read_session = read_session
        self.deserializer = deserializer
        self.duplicates = 0
        """Repeated records dropped by their dedupe headers."""
        self.last_seq_num: int | None = None
        """The first sequence number of the message last yielded."""
        self.next_seq_num: int | None = None
        """The sequence number after the message last yielded's records: where a reader
        that resumes starts."""
        self._dedupe = DedupeFilter() if enable_dedupe else None
        self._assembler = FrameAssembler(max_frame_bytes=max_frame_bytes)
        self._ready: deque[tuple[M, int | None, int | None]] = deque()
        joined = isinstance(read_session, ReadSession) and read_session._deliver_joined_headers()
        self._fields: Callable[[Any], Fields | None] = (
            fields_of_joined if joined else fields_of_pairs
        )

    @property
    def dropped(self) -> int:
        """Records dropped for not making a whole message (each drop was logged)."""
        return self._assembler.dropped

    def __aiter__(self) -> DeserializingReadSession[M]:
        return self

    async def __anext__(self) -> M:
        if not self._ready:
            await self._fill()
        return self._pop()

    async def _fill(self) -> None:
        """Read until a message is ready.

        Raises:
            StopAsyncIteration: the read session ended.
        """
        while not self._ready:
            self._take((await anext(self.read_session)).records)

    def _has_ready(self) -> bool:
        return bool(self._ready)

    def _pop(self) -> M:
        """The next ready message (there is one), noting where it was."""
        message, first, last = self._ready.popleft()
        self.last_seq_num = first
        self.next_seq_num = None if last is None else last + 1
        return message

    def _take(self, records: list[SequencedRecord]) -> None:
        """Drop repeats, assemble frames, deserialize the messages completed (one read of
        each record's headers, as pairs or, from our read sessions, as their encodings
        joined: what ``parse_dedupe_headers`` and ``parse_frame_headers`` read, on this
        per-record path)."""
        dedupe, assembler, ready = self._dedupe, self._assembler, self._ready
        accepts = dedupe.accepts_seq if dedupe is not None else None
        push, deserialize, fields = assembler.push_parsed, self.deserializer, self._fields
        joined = records if isinstance(records, JoinedRecords) else None
        for record in records:
            found = fields(record)
            if found is None:  # joined headers the reader could not take apart
                assert joined is not None
                found = fields_of_headers(joined.header_pairs(record))
            seq, writer, size, count = found
            if (
                seq is not None
                and accepts is not None
                and not accepts(_LEGACY_WRITER_BYTES if writer is None else writer, seq)
            ):
                self.duplicates += 1
                continue
            seq_num = record.seq_num
            part: bytes | memoryview
            if count == 1 or joined is None:
                body = part = record.body
                if count == 1 and size == len(body) and assembler.takes_whole(size):
                    ready.append((deserialize(body), seq_num, seq_num))  # the common case
                    continue
            else:  # part of a message: copied once, into the whole message
                part = joined.body_part(record)
            frame = push(None if size is None or count is None else (size, count), part, seq_num)
            if frame is not None:
                ready.append((deserialize(frame.payload), frame.first_seq_num, seq_num))

    async def close(self) -> None:
        """Close the read session."""
        await self.read_session.close()
