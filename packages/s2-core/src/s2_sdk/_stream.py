"""Stream-level operations."""

from __future__ import annotations

import base64
import binascii
import json
from typing import TYPE_CHECKING
from urllib.parse import quote

from s2_sdk._append_session import AppendSession
from s2_sdk._config import StreamConfig
from s2_sdk._exactly_once import Placed, mismatch_after_doubt, resolve
from s2_sdk._exceptions import AppendIndefiniteFailureError, S2ClientError, fallible
from s2_sdk._json import position, stream_config_json
from s2_sdk._options import Batching
from s2_sdk._producer import Producer
from s2_sdk._proto import append_ack, append_input_bytes, parse, read_batch
from s2_sdk._query import read_params
from s2_sdk._read_session import ReadSession
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
from s2_sdk._retry import append_retry_on
from s2_sdk._validate import check_append_input, check_stream_config
from s2_sdk.protocol import pb

if TYPE_CHECKING:
    from s2_sdk._basin import S2Basin

__all__ = ["S2Stream"]

PROTO = "application/x-protobuf"
_PROTO_HEADERS = {"content-type": PROTO, "accept": PROTO}


def encode_key(key: bytes | str | None) -> str | None:
    """An encryption key as the ``s2-encryption-key`` header value."""
    if key is None:
        return None
    if isinstance(key, bytes):
        if len(key) != 32:
            raise S2ClientError(f"encryption key must be 32 bytes, got {len(key)}")
        return base64.b64encode(key).decode()
    try:
        decoded = base64.b64decode(key, validate=True)
    except (binascii.Error, ValueError) as e:
        raise S2ClientError("encryption key must be base64-encoded when given as str") from e
    if len(decoded) != 32:
        raise S2ClientError(f"encryption key must decode to 32 bytes, got {len(decoded)}")
    return key


def data_headers(
    stream: S2Stream, stream_config: StreamConfig | None, **extra: str
) -> dict[str, str]:
    """Headers of a request that reads or writes records: the basin's, the encryption
    key, and the ``s2-stream-config`` applied if the request creates the stream."""
    headers = {**stream._headers, **stream._key_headers, **extra}
    if stream_config is not None:
        check_stream_config(stream_config)
        headers["s2-stream-config"] = json.dumps(stream_config_json(stream_config))
    return headers


@fallible()
class S2Stream:
    """Operations on one stream.

    Caution:
        Returned by :meth:`S2Basin.stream`. Do not instantiate directly.
    """

    __slots__ = ("_basin", "_headers", "_key_headers", "_name", "_path")

    def __init__(self, basin: S2Basin, name: str, encryption_key: bytes | str | None) -> None:
        self._basin = basin
        self._name = name
        self._path = f"/v1/streams/{quote(name, safe='')}/records"
        self._headers = basin._headers
        key = encode_key(encryption_key)
        self._key_headers = {} if key is None else {"s2-encryption-key": key}

    @property
    def name(self) -> str:
        """Stream name."""
        return self._name

    @property
    def basin(self) -> S2Basin:
        """The basin this stream is in."""
        return self._basin

    def __repr__(self) -> str:
        return f"S2Stream(basin={self._basin.name!r}, name={self._name!r})"

    async def check_tail(self) -> StreamPosition:
        """Check the tail of a stream.

        Returns:
            The tail position — the next sequence number to be assigned and the
            timestamp of the last record on the stream.
        """
        resp = await self._basin._http.request("GET", f"{self._path}/tail", headers=self._headers)
        return resp.json(lambda data: position(data["tail"]))

    async def append(self, inp: AppendInput) -> AppendAck:
        """Append a batch of records to a stream.

        Args:
            inp: Batch of records and optional conditions.

        Returns:
            Acknowledgement with assigned sequence numbers and tail position.

        With ``inp.match_seq_num``, a retry refused for its position after an attempt that
        may have taken effect is resolved by reading the stream back: the batch is found
        there (its acknowledgement is returned) or another writer's records are (the
        mismatch is raised). Exactly once: see the delivery guarantees.
        """
        check_append_input(inp)
        http = self._basin._http
        try:
            resp = await http.request(
                "POST",
                self._path,
                content=append_input_bytes(inp),
                headers=data_headers(self, inp.stream_config, **_PROTO_HEADERS),
                retry_on=append_retry_on(http.retry.append_retry_policy),
                track_uncertainty=True,
            )
        except AppendIndefiniteFailureError as e:
            # refused for its position after an attempt that may have taken effect: the
            # stream tells whether it did (exactly once with match_seq_num)
            mismatch = mismatch_after_doubt(e)
            if mismatch is None or inp.match_seq_num is None:
                raise
            placed = Placed(inp.match_seq_num, inp.records)
            (ack,) = await resolve(self, [placed], mismatch)
            return ack
        return append_ack(parse(pb.AppendAck, resp.content))

    def append_session(
        self,
        *,
        max_unacked_bytes: int = 5 * 1024 * 1024,
        max_unacked_batches: int | None = None,
        stream_config: StreamConfig | None = None,
    ) -> AppendSession:
        """Open a session for appending batches of records continuously.

        Pipelined inputs are guaranteed to be processed in order.

        Args:
            max_unacked_bytes: Maximum total metered bytes of unacknowledged batches
                before backpressure is applied. Default is 5 MiB.
            max_unacked_batches: Maximum number of unacknowledged batches before
                backpressure is applied. If None, no limit is applied.
            stream_config: Configuration to apply if the session creates the stream
                (unset fields inherit the basin's defaults); ignored if it exists. Sent
                whenever the session connects.

        Returns:
            An :class:`AppendSession` to use as an async context manager::

                async with stream.append_session() as session:
                    ticket = await session.submit(AppendInput(records=[...]))
                    ack = await ticket
        """
        return AppendSession(
            self, max_unacked_bytes, max_unacked_batches, data_headers(self, stream_config)
        )

    def producer(
        self,
        *,
        fencing_token: str | None = None,
        match_seq_num: int | None = None,
        batching: Batching | None = None,
        max_unacked_bytes: int = 5 * 1024 * 1024,
        stream_config: StreamConfig | None = None,
    ) -> Producer:
        """Open a producer with per-record submit and auto-batching.

        Args:
            fencing_token: Fencing token applied to every batch.
            match_seq_num: Expected sequence number for the first record. Automatically
                advanced after each batch.
            batching: Auto-batching configuration. If None, default values are used.
            max_unacked_bytes: Maximum total metered bytes of unacknowledged batches
                before backpressure is applied. Default is 5 MiB.
            stream_config: Configuration to apply if the producer creates the stream
                (unset fields inherit the basin's defaults); ignored if it exists. Sent
                whenever its session connects.

        Returns:
            A :class:`Producer` to use as an async context manager::

                async with stream.producer() as p:
                    ticket = await p.submit(Record(body=b"hello"))
                    ack = await ticket
        """
        session = self.append_session(
            max_unacked_bytes=max_unacked_bytes, stream_config=stream_config
        )
        return Producer(session, fencing_token, match_seq_num, batching)

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
        """Read batches of records from a stream continuously.

        Args:
            start: Inclusive start position.
            limit: Maximum number of records or metered bytes to return across the
                entire session.
            until_timestamp: Exclusive upper-bound timestamp.
            clamp_to_tail: Clamp the start position to the tail when it exceeds the
                tail, instead of raising.
            wait: Number of seconds to wait for new records when the tail is reached.
            ignore_command_records: Filter out command records from batches.
            stream_config: Configuration to apply if the session creates the stream
                (the basin creates streams on read); ignored if it exists.

        Returns:
            A :class:`ReadSession`: iterate it for :class:`ReadBatch` es; use it as an
            async context manager to release the connection early.

        Note:
            Sessions without bounds (no limit or until_timestamp) default to infinite
            wait. Sessions with bounds default to zero wait, ending when the bounds are
            met or the tail is reached; a non-zero wait makes a bounded session wait up
            to that many seconds for new records before ending.
        """
        return ReadSession(
            self,
            data_headers(self, stream_config),
            start,
            limit,
            until_timestamp,
            clamp_to_tail,
            wait,
            ignore_command_records,
        )

    async def read(
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
        """Read a batch of records from a stream.

        Args:
            start: Inclusive start position.
            limit: Maximum number of records or metered bytes to return.
            until_timestamp: Exclusive upper-bound timestamp. All returned records are
                guaranteed to have timestamps less than this value.
            clamp_to_tail: Clamp the start position to the tail when it exceeds the
                tail, instead of raising.
            wait: Number of seconds to wait for records before returning.
            ignore_command_records: Filter out command records from the batch.
            stream_config: Configuration to apply if the read creates the stream (the
                basin creates streams on read); ignored if it exists.

        Returns:
            A ReadBatch containing sequenced records and an optional tail position.
            Records can be empty only if limit, until_timestamp, or wait were provided
            (or every record read was a filtered command record).

        Raises:
            ReadUnwrittenError: the start is beyond the tail (and not clamped), or at
                the tail with nothing to wait for.
        """
        params = read_params(start, limit, until_timestamp, clamp_to_tail, wait)
        resp = await self._basin._http.request(
            "GET",
            self._path,
            params=params,
            headers=data_headers(self, stream_config, accept=PROTO),
            extra_timeout=float(wait or 0),
        )
        return read_batch(resp.content, ignore_command_records).batch
