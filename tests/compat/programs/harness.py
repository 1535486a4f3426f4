"""What the compatibility programs share: steps, and plain pictures of their outcomes.

A program registers its steps with :func:`step` and ends with ``run()``; every step's
outcome (or the error it raised) is printed as one JSON object, so that a run with the
published client and a run with ``s2-core`` can be compared step by step. The programs
take ``ENDPOINT BASIN TOKEN_PREFIX`` as arguments.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import sys
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from enum import Enum
from typing import Any

from s2_sdk import S2, Endpoints, S2Error

__all__ = ["BASIN", "ENDPOINT", "TOKENS", "client", "error", "plain", "run", "step"]

ENDPOINT, BASIN, TOKENS = sys.argv[1], sys.argv[2], sys.argv[3]

Step = Callable[[], Awaitable[Any]]
_STEPS: list[tuple[str, Step]] = []


def step(fn: Step) -> Step:
    """Register a step (they run in the order they are defined)."""
    _STEPS.append((fn.__name__, fn))
    return fn


def client(**kwargs: Any) -> S2:
    """A client of the server under test."""
    return S2("token", endpoints=Endpoints(ENDPOINT, ENDPOINT), **kwargs)


def plain(value: Any) -> Any:
    """A JSON picture of a value that both clients must agree on."""
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, bool | int | float | str) or value is None:
        return value
    if isinstance(value, bytes):
        return value.decode("latin-1")
    if isinstance(value, datetime):
        return "<datetime>"
    if isinstance(value, timedelta):
        return value.total_seconds()
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    return f"<{type(value).__name__}>"


def error(e: BaseException) -> dict[str, Any]:
    """The documented parts of an error: its type and attributes (not its message)."""
    out: dict[str, Any] = {"error": type(e).__name__, "is_s2_error": isinstance(e, S2Error)}
    for attr in ("code", "status_code", "expected_seq_num", "expected_fencing_token"):
        if hasattr(e, attr):
            out[attr] = plain(getattr(e, attr))
    if hasattr(e, "tail"):
        out["tail_seq_num"] = e.tail.seq_num
    return out


def run() -> None:
    """Run every step and print the outcomes."""

    async def main() -> None:
        results: dict[str, Any] = {}
        for name, fn in _STEPS:
            try:
                results[name] = {"ok": await fn()}
            except Exception as e:
                results[name] = {"raised": error(e)}
                print(f"{name}: {type(e).__name__}: {e}", file=sys.stderr)
        print(json.dumps(results))

    asyncio.run(main())
