"""Stream-level operations."""

from __future__ import annotations

import base64
import binascii
from typing import TYPE_CHECKING
from urllib.parse import quote

from s2_sdk._errors import S2ClientError
from s2_sdk._json import position
from s2_sdk._proto import append_ack, append_input_pb, read_batch
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
from s2_sdk._retry import append_safe
from s2_sdk._validate import check_append_input, check_read_limits, check_u64
from s2_sdk.protocol import pb

if TYPE_CHECKING:
    from s2_sdk._basin import S2Basin

__all__ = ["S2Stream", "read_params"]

PROTO = "application/x-protobuf"


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


def read_params(
    start: SeqNum | Timestamp | TailOffset,
    limit: ReadLimit | None,
    until_timestamp: int | None,
    clamp_to_tail: bool,
    wait: int | None,
) -> dict[str, str | int]:
    """Query parameters of a read."""
    check_read_limits(limit)
    check_u64(until_timestamp, "until_timestamp")
    if wait is not None and not 0 <= wait < 2**32:
        raise S2ClientError(f"wait must be a non-negative number of seconds, got {wait!r}")
    if not isinstance(start, SeqNum | Timestamp | TailOffset):
        raise S2ClientError("start must be SeqNum, Timestamp or TailOffset")
    check_u64(start.value, "start")
    key = {SeqNum: "seq_num", Timestamp: "timestamp", TailOffset: "tail_offset"}[type(start)]
    params: dict[str, str | int] = {key: start.value}
    if limit is not None and limit.count is not None:
        params["count"] = limit.count
    if limit is not None and limit.bytes is not None:
        params["bytes"] = limit.bytes
    if until_timestamp is not None:
        params["until"] = until_timestamp
    if clamp_to_tail:
        params["clamp"] = "true"
    if wait is not None:
        params["wait"] = wait
    return params


class S2Stream:
    """Operations on one stream.

    Caution:
        Returned by :meth:`S2Basin.stream`. Do not instantiate directly.
    """

    __slots__ = ("_basin", "_headers", "_name", "_path")

    def __init__(self, basin: S2Basin, name: str, encryption_key: bytes | str | None) -> None:
        self._basin = basin
        self._name = name
        self._path = f"/v1/streams/{quote(name, safe='')}/records"
        self._headers = dict(basin._headers)
        key = encode_key(encryption_key)
        if key is not None:
            self._headers["s2-encryption-key"] = key

    @property
    def name(self) -> str:
        """Stream name."""
        return self._name

    def __repr__(self) -> str:
        return f"S2Stream(basin={self._basin.name!r}, name={self._name!r})"

    async def check_tail(self) -> StreamPosition:
        """Check the tail of a stream.

        Returns:
            The tail position — the next sequence number to be assigned and the
            timestamp of the last record on the stream.
        """
        resp = await self._basin._http.request("GET", f"{self._path}/tail", headers=self._headers)
        return position(resp.json()["tail"])

    async def append(self, inp: AppendInput) -> AppendAck:
        """Append a batch of records to a stream.

        Args:
            inp: Batch of records and optional conditions.

        Returns:
            Acknowledgement with assigned sequence numbers and tail position.
        """
        check_append_input(inp)
        http = self._basin._http
        resp = await http.request(
            "POST",
            self._path,
            content=append_input_pb(inp).SerializeToString(),
            headers={**self._headers, "content-type": PROTO, "accept": PROTO},
            retry_on=append_safe(http.retry.append_retry_policy),
        )
        return append_ack(pb.AppendAck.FromString(resp.content))

    async def read(
        self,
        *,
        start: SeqNum | Timestamp | TailOffset,
        limit: ReadLimit | None = None,
        until_timestamp: int | None = None,
        clamp_to_tail: bool = False,
        wait: int | None = None,
        ignore_command_records: bool = False,
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
            headers={**self._headers, "accept": PROTO},
            extra_timeout=float(wait or 0),
        )
        return read_batch(pb.ReadBatch.FromString(resp.content), ignore_command_records)
