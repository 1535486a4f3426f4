"""In-memory persistence: :class:`Store`, the interface every store implements, which keeps
nothing (everything is durable as soon as it is sequenced), and :class:`AppendEntry`, what
a store replays."""

from __future__ import annotations

import asyncio
from array import array
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from s2_local.engine.stream import Stream

__all__ = ["AppendEntry", "Store"]


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
    on_fsync: Callable[[float], object] | None = None
    """Told how long each fsync of the log took, in seconds (durable stores)."""

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
