"""Read sessions whose clients take nothing: the server's memory stays bounded, and is
given back when they go (s2-local as a process, measured by its resident set size).
Clients that stop reading their socket, and clients that read it but give no HTTP/2
flow-control credit: the server's sends wait for the window (back-pressure)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from faults.hostile import slow_readers


@pytest.mark.skipif(
    not Path("/proc/self/status").exists() or sys.platform != "linux",
    reason="reads the server's resident set size from /proc",
)
@pytest.mark.parametrize("credit", [True, False], ids=["never-read-socket", "no-window-update"])
def test_twenty_sessions_that_never_read_hold_little_and_give_it_back(credit: bool) -> None:
    figures = slow_readers(sessions=20, megabytes=40, seconds=2, credit=credit)
    assert figures.memory_ok, figures.notes
    assert figures.intact and figures.checked > 50, figures
