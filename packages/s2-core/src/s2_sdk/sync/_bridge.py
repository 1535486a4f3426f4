"""Running the async client from blocking callers: one trip to the background loop per call."""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
from collections.abc import AsyncIterator, Coroutine, Iterator
from typing import Any, TypeVar

from s2_sdk._background import background

T = TypeVar("T")


def run(coro: Coroutine[Any, Any, T], timeout: float | None = None) -> T:
    """Run ``coro`` on the background loop and wait (at most ``timeout``) for its result."""
    return background().run(coro, timeout)


def next_item(items: AsyncIterator[T]) -> T:
    """The next item of an async iterator, fetched on the loop.

    Raises:
        StopIteration: the iterator is exhausted.
    """

    async def step() -> tuple[bool, T | None]:
        try:
            return True, await anext(items)
        except StopAsyncIteration:
            return False, None

    more, item = run(step())
    if not more:
        raise StopIteration
    return item  # type: ignore[return-value]


def iterate(items: AsyncIterator[T]) -> Iterator[T]:
    """An async iterator walked from a blocking caller, one item per trip to the loop."""
    try:
        while True:
            try:
                item = next_item(items)
            except StopIteration:
                return
            yield item
    finally:
        aclose = getattr(items, "aclose", None)
        if aclose is not None:
            with contextlib.suppress(Exception):
                run(aclose(), 10.0)


def copy_result(target: concurrent.futures.Future[T], source: asyncio.Future[T]) -> None:
    if target.done():
        return
    if source.cancelled():
        target.cancel()
    elif (error := source.exception()) is not None:
        target.set_exception(error)
    else:
        target.set_result(source.result())
