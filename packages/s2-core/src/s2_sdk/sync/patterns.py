"""Typed messages from blocking code: :mod:`s2_sdk.patterns`' writer and reader over
the blocking sessions of :mod:`s2_sdk.sync`.

Writing::

    from s2_sdk.patterns import json_serializer
    from s2_sdk.sync.patterns import SerializingAppendSession

    with SerializingAppendSession(stream.append_session(), json_serializer) as writer:
        where = writer.submit({"role": "assistant", "text": "hello"})

Reading::

    from s2_sdk.patterns import json_deserializer
    from s2_sdk.sync.patterns import DeserializingReadSession

    with DeserializingReadSession(stream.read_session(start=SeqNum(0)), json_deserializer) as r:
        for message in r:
            ...

Same arguments, behaviour and wire format as the async classes; the building blocks
(chunking, headers, :class:`~s2_sdk.patterns.DedupeFilter`, frame assembly) are plain
functions and classes, used from :mod:`s2_sdk.patterns` as they are.
"""

from __future__ import annotations

import concurrent.futures
from collections.abc import Callable, Iterator
from typing import Generic, TypeVar

from s2_sdk import patterns
from s2_sdk._background import background
from s2_sdk._closing import Closing
from s2_sdk.patterns import (
    DEFAULT_MAX_FRAME_BYTES,
    MAX_CHUNK_BODY_BYTES,
    MessageRange,
    MessageTicket,
)
from s2_sdk.sync._bridge import run
from s2_sdk.sync._sessions import AppendSession, Producer, ReadSession

__all__ = ["DeserializingReadSession", "SerializingAppendSession"]

M = TypeVar("M")


async def _ranged(ticket: MessageTicket) -> MessageRange:
    return await ticket


class SerializingAppendSession(Closing, Generic[M]):
    """Appends typed messages of any size from blocking code; see
    :class:`s2_sdk.patterns.SerializingAppendSession` (same arguments).

    Args:
        session: A blocking :class:`~s2_sdk.sync.AppendSession` or
            :class:`~s2_sdk.sync.Producer` (give the Producer its records through this
            writer only: its own ``submit`` queue is not ordered with the writer's).
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
        self.session = session
        inner = session._session if isinstance(session, AppendSession) else session._producer
        self._writer: patterns.SerializingAppendSession[M] = patterns.SerializingAppendSession(
            inner,
            serializer,
            chunk_size=chunk_size,
            match_seq_num=match_seq_num,
            dedupe_seq=dedupe_seq,
            max_frame_bytes=max_frame_bytes,
        )

    @property
    def writer_id(self) -> str:
        """This writer's id in the dedupe headers."""
        return self._writer.writer_id

    @property
    def dedupe_seq(self) -> int | None:
        """The dedupe sequence number of the next record (None: no dedupe headers)."""
        return self._writer.dedupe_seq

    def submit(self, message: M, *, timeout: float | None = None) -> MessageRange:
        """Append ``message`` and wait (at most ``timeout``) until it is acknowledged.

        Returns:
            The sequence numbers its records took.
        """
        return run(self._writer.submit(message), timeout)

    def write(
        self, message: M, *, timeout: float | None = None
    ) -> concurrent.futures.Future[MessageRange]:
        """Hand ``message`` to the session, waiting (at most ``timeout``) only for its
        back-pressure; the future resolves to the sequence numbers it took."""
        ticket = run(self._writer.write(message), timeout)
        return background().submit(_ranged(ticket))

    def close(self, timeout: float | None = 10.0) -> None:
        """Close the underlying session (waiting, at most ``timeout``, for what was written)."""
        self.session.close(timeout)


class DeserializingReadSession(Closing, Generic[M]):
    """The typed messages of a stream, for blocking code: an iterator; see
    :class:`s2_sdk.patterns.DeserializingReadSession` (same arguments). Messages come
    from the background loop a read batch at a time, not one trip per message."""

    def __init__(
        self,
        read_session: ReadSession,
        deserializer: Callable[[bytes], M],
        *,
        enable_dedupe: bool = True,
        max_frame_bytes: int = DEFAULT_MAX_FRAME_BYTES,
    ) -> None:
        self.read_session = read_session
        self._reader: patterns.DeserializingReadSession[M] = patterns.DeserializingReadSession(
            read_session._session,
            deserializer,
            enable_dedupe=enable_dedupe,
            max_frame_bytes=max_frame_bytes,
        )

    @property
    def last_seq_num(self) -> int | None:
        """The first sequence number of the message last yielded."""
        return self._reader.last_seq_num

    @property
    def next_seq_num(self) -> int | None:
        """Where a reader that resumes after the message last yielded starts."""
        return self._reader.next_seq_num

    @property
    def duplicates(self) -> int:
        """Repeated records dropped by their dedupe headers."""
        return self._reader.duplicates

    @property
    def dropped(self) -> int:
        """Records dropped for not making a whole message (each drop was logged)."""
        return self._reader.dropped

    def __iter__(self) -> Iterator[M]:
        return self

    def __next__(self) -> M:
        reader = self._reader
        if not reader._has_ready() and not run(_filled(reader)):
            raise StopIteration
        return reader._pop()

    def close(self, timeout: float | None = 10.0) -> None:
        """Close the read session."""
        self.read_session.close(timeout)


async def _filled(reader: patterns.DeserializingReadSession[M]) -> bool:
    """Whether a message is ready (False: the read session ended)."""
    try:
        await reader._fill()
    except StopAsyncIteration:
        return False
    return True
