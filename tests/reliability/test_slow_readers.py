"""Read sessions whose clients take nothing: the server's memory stays bounded, and is
given back when they go (s2-local as a process, measured by its resident set size)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from faults.hostile import slow_readers


@pytest.mark.skipif(
    not Path("/proc/self/status").exists() or sys.platform != "linux",
    reason="reads the server's resident set size from /proc",
)
def test_twenty_sessions_that_never_read_hold_little_and_give_it_back() -> None:
    figures = slow_readers(sessions=20, megabytes=40, seconds=2)
    assert figures.memory_ok, figures.notes
    assert figures.intact and figures.checked > 50, figures
