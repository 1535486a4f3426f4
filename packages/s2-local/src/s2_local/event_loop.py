"""The event loop s2-local's own processes and threads run on.

``s2-local serve``, :class:`~s2_local.server.ServerProcess` and the background-thread
:class:`~s2_local.server.Server` run on uvloop where it is installed (a dependency of
s2-local on Linux and macOS), else on asyncio's own loop: uvloop's loop and transports are
written in C, and they take about a sixth off the server's CPU per request (see
``docs/architecture.md``). ``S2_LOCAL_LOOP`` (``auto``, ``uvloop`` or ``asyncio``) sets
the default for all three. :func:`~s2_local.server.serve` runs on whatever loop calls it.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable, Coroutine
from typing import Any, Literal, TypeVar, cast

try:
    import uvloop
except ImportError:  # Windows, or installed without it
    uvloop = None  # type: ignore[assignment]

__all__ = ["LOOPS", "LoopName", "check", "default", "run"]

T = TypeVar("T")
LoopName = Literal["auto", "uvloop", "asyncio"]
LOOPS: tuple[LoopName, ...] = ("auto", "uvloop", "asyncio")
"""``auto``: uvloop if it is installed, else asyncio's."""


def default() -> LoopName:
    """The loop ``S2_LOCAL_LOOP`` names, else ``auto``."""
    name = os.environ.get("S2_LOCAL_LOOP", "auto") or "auto"
    return cast(LoopName, name)


def _factory(loop: LoopName | None) -> Callable[[], asyncio.AbstractEventLoop] | None:
    if loop is None:
        loop = default()
    if loop not in LOOPS:
        raise ValueError(f"unknown event loop {loop!r} (one of {', '.join(LOOPS)})")
    if loop == "asyncio" or (loop == "auto" and uvloop is None):
        return None
    if uvloop is None:
        raise ValueError("the uvloop event loop was asked for, and uvloop is not installed")
    return uvloop.new_event_loop


def check(loop: LoopName | None = None) -> None:
    """Raise ``ValueError`` if ``loop`` (by default :func:`default`) is unknown or not
    installed."""
    _factory(loop)


def run(main: Coroutine[Any, Any, T], loop: LoopName | None = None) -> T:
    """Run ``main`` on a new event loop of the kind asked for, like :func:`asyncio.run`."""
    try:
        factory = _factory(loop)
    except ValueError:
        main.close()
        raise
    with asyncio.Runner(loop_factory=factory) as runner:
        return runner.run(main)
