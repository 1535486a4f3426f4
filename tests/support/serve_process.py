"""s2-local as a child process (``python -m s2_local serve``), for tests of how it stops."""

from __future__ import annotations

import contextlib
import re
import subprocess
import sys
from collections.abc import Iterator


@contextlib.contextmanager
def serve_process(*args: str) -> Iterator[tuple[subprocess.Popen[str], str]]:
    """``s2_local serve --port 0 ARGS`` in a child process, and the endpoint it prints;
    killed, and its pipes closed, on the way out (read its stderr before that)."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "s2_local", "serve", "--port", "0", *args],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    assert proc.stdout is not None and proc.stderr is not None
    try:
        endpoint = next(
            m.group(1)
            for line in proc.stdout
            if (m := re.search(r"S2_ACCOUNT_ENDPOINT=(\S+)", line))
        )
        yield proc, endpoint
    finally:
        proc.kill()
        proc.wait()
        proc.stdout.close()
        proc.stderr.close()
