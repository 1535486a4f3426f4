"""Query parameters of reads and list calls."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from typing import TypeVar

from s2_sdk._exceptions import S2ClientError
from s2_sdk._records import Page, ReadLimit, SeqNum, TailOffset, Timestamp
from s2_sdk._validate import check_read_limits, check_u64

__all__ = ["list_params", "paginate", "read_params"]

T = TypeVar("T")


def list_params(prefix: str, start_after: str, limit: int | None) -> dict[str, str | int]:
    """List query parameters, sending only those that differ from the defaults."""
    params: dict[str, str | int] = {}
    if prefix:
        params["prefix"] = prefix
    if start_after:
        params["start_after"] = start_after
    if limit is not None and limit != 1000:
        params["limit"] = max(0, min(limit, 1000))
    return params


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


async def paginate(
    fetch: Callable[[str], Awaitable[Page[T]]],
    start_after: str,
    key: Callable[[T], str],
    keep: Callable[[T], bool] = lambda _: True,
) -> AsyncIterator[T]:
    """Every item of a listing, page by page (``fetch(start_after)`` returns one page)."""
    while True:
        page = await fetch(start_after)
        for item in page.items:
            if keep(item):
                yield item
        if not page.has_more or not page.items:
            return
        start_after = key(page.items[-1])
