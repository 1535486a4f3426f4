"""`s2-local serve --help` documents every flag, the server says where it listens, and
start-up errors are one clear line."""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

import httpx
from s2_local.cli import _parser
from s2_local.server import ServerProcess


def test_every_flag_is_documented() -> None:
    serve = next(
        a for a in _parser()._actions if isinstance(a, argparse._SubParsersAction)
    ).choices["serve"]
    flags = [a for a in serve._actions if a.option_strings and a.dest != "help"]
    assert {"--init-file", "--metrics-token", "--cors-origin", "--no-cors", "--tls-self"} <= {
        s for a in flags for s in a.option_strings
    }
    for action in flags:
        assert action.help and len(action.help) > 15, action.option_strings


def test_it_prints_where_it_listens_the_exports_and_the_console() -> None:
    proc = subprocess.Popen(
        [sys.executable, "-m", "s2_local", "serve", "--port", "0"],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        lines = [proc.stdout.readline().strip() for _ in range(5)]
        endpoint = lines[0].split()[2]
        assert httpx.get(f"{endpoint}/console").status_code == 200
    finally:
        proc.terminate()
        proc.wait(30)
        if proc.stdout is not None:
            proc.stdout.close()
    assert lines[0] == f"s2-local serving {endpoint} (in memory). For clients:"
    assert lines[1:3] == [
        f"export S2_ACCOUNT_ENDPOINT={endpoint}",
        f"export S2_BASIN_ENDPOINT={endpoint}",
    ]
    assert lines[4] == f"Console: {endpoint}/console (basins, streams and live records)"


def _serve(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "s2_local", "serve", *args],
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_start_up_errors_are_one_line_and_exit_1(tmp_path: Path) -> None:
    """A data dir another s2-local holds, a port in use: one line on stderr, exit 1."""
    with ServerProcess(data_dir=tmp_path / "data") as first:
        for args, message in (
            (["--port", "0", "--data-dir", str(tmp_path / "data")], "is in use by another"),
            (["--port", str(first.port)], "cannot listen on"),
        ):
            done = _serve(*args)
            assert done.returncode == 1, done
            assert done.stderr.startswith("s2-local: ") and message in done.stderr, done.stderr
            assert len(done.stderr.strip().splitlines()) == 1, done.stderr
