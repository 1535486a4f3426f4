"""Time, injectable so retention and delete-on-empty can be tested without waiting."""

from __future__ import annotations

import time
from datetime import UTC, datetime

__all__ = ["Clock", "ManualClock"]


class Clock:
    """Wall-clock time (the default)."""

    def now(self) -> float:
        """Seconds since the Unix epoch."""
        return time.time()

    def now_ms(self) -> int:
        """Milliseconds since the Unix epoch."""
        return int(self.now() * 1000)

    def utcnow(self) -> datetime:
        """The current time as an aware UTC datetime."""
        return datetime.fromtimestamp(self.now(), UTC)


class ManualClock(Clock):
    """A clock that moves only when told to (for tests)."""

    def __init__(self, start: float | None = None) -> None:
        self._now = time.time() if start is None else start

    def now(self) -> float:
        return self._now

    def advance(self, seconds: float) -> None:
        """Move time forward."""
        self._now += seconds
