"""Blocking stream operations."""

from __future__ import annotations

from typing import TYPE_CHECKING

from s2_sdk import _append_session, _producer, _read_session, _stream
from s2_sdk._config import StreamConfig
from s2_sdk._options import Batching
from s2_sdk._records import (
    AppendAck,
    AppendInput,
    ReadBatch,
    ReadLimit,
    SeqNum,
    StreamPosition,
    TailOffset,
    Timestamp,
)
from s2_sdk.sync._bridge import run
from s2_sdk.sync._sessions import AppendSession, Producer, ReadSession

if TYPE_CHECKING:
    from s2_sdk.sync._basin import S2Basin


class S2Stream:
    """Blocking stream operations; see :class:`s2_sdk.S2Stream`."""

    def __init__(self, basin: S2Basin, name: str, encryption_key: bytes | str | None) -> None:
        self._basin = basin
        self._name = name
        self._key = encryption_key

    @property
    def name(self) -> str:
        """The stream's name."""
        return self._name

    @property
    def basin(self) -> S2Basin:
        """The basin this stream is in."""
        return self._basin

    def _async(self) -> _stream.S2Stream:
        return self._basin._async().stream(self._name, encryption_key=self._key)

    def append_session(
        self,
        *,
        max_unacked_bytes: int = 5 * 1024 * 1024,
        max_unacked_batches: int | None = None,
        stream_config: StreamConfig | None = None,
    ) -> AppendSession:
        """A blocking :class:`AppendSession`; see :meth:`s2_sdk.S2Stream.append_session`."""
        stream = self._async()

        async def open_session() -> _append_session.AppendSession:
            return stream.append_session(
                max_unacked_bytes=max_unacked_bytes,
                max_unacked_batches=max_unacked_batches,
                stream_config=stream_config,
            )

        return AppendSession(self, run(open_session()))

    def check_tail(self) -> StreamPosition:
        """See :meth:`s2_sdk.S2Stream.check_tail`."""
        return run(self._async().check_tail())

    def append(self, inp: AppendInput, *, timeout: float | None = None) -> AppendAck:
        """See :meth:`s2_sdk.S2Stream.append`."""
        return run(self._async().append(inp), timeout)

    def read(
        self,
        *,
        start: SeqNum | Timestamp | TailOffset,
        limit: ReadLimit | None = None,
        until_timestamp: int | None = None,
        clamp_to_tail: bool = False,
        wait: int | None = None,
        ignore_command_records: bool = False,
        stream_config: StreamConfig | None = None,
    ) -> ReadBatch:
        """See :meth:`s2_sdk.S2Stream.read`."""
        return run(
            self._async().read(
                start=start,
                limit=limit,
                until_timestamp=until_timestamp,
                clamp_to_tail=clamp_to_tail,
                wait=wait,
                ignore_command_records=ignore_command_records,
                stream_config=stream_config,
            )
        )

    def read_session(
        self,
        *,
        start: SeqNum | Timestamp | TailOffset,
        limit: ReadLimit | None = None,
        until_timestamp: int | None = None,
        clamp_to_tail: bool = False,
        wait: int | None = None,
        ignore_command_records: bool = False,
        stream_config: StreamConfig | None = None,
    ) -> ReadSession:
        """A blocking iterator of :class:`ReadBatch`; see :meth:`s2_sdk.S2Stream.read_session`."""
        stream = self._async()

        async def open_session() -> _read_session.ReadSession:
            return stream.read_session(
                start=start,
                limit=limit,
                until_timestamp=until_timestamp,
                clamp_to_tail=clamp_to_tail,
                wait=wait,
                ignore_command_records=ignore_command_records,
                stream_config=stream_config,
            )

        return ReadSession(self, run(open_session()))

    def producer(
        self,
        *,
        fencing_token: str | None = None,
        match_seq_num: int | None = None,
        batching: Batching | None = None,
        max_unacked_bytes: int = 5 * 1024 * 1024,
        stream_config: StreamConfig | None = None,
    ) -> Producer:
        """A blocking :class:`Producer`; see :meth:`s2_sdk.S2Stream.producer`."""
        stream = self._async()

        async def open_producer() -> _producer.Producer:
            return stream.producer(
                fencing_token=fencing_token,
                match_seq_num=match_seq_num,
                batching=batching,
                max_unacked_bytes=max_unacked_bytes,
                stream_config=stream_config,
            )

        return Producer(run(open_producer()))
