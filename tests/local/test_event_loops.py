"""s2-local runs on uvloop where it is installed, else on asyncio's loop; ``--loop`` and
``S2_LOCAL_LOOP`` choose. The HTTP layer's hardening tests hold on both loops."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from s2_local.server import ServerProcess
from s2_sdk import AppendInput, Record, SeqNum
from s2_sdk.sync import connect

TESTS = Path(__file__).resolve().parent.parent
HTTP_LAYER_TESTS = [
    "local/test_transport.py",
    "local/test_h2_edge_cases.py",
    "reliability/test_hostile_clients.py",
    "reliability/test_slow_readers.py",
    "reliability/test_limits.py",
]


@pytest.mark.parametrize("loop", ["uvloop", "asyncio"])
def test_serve_on_either_loop(loop: str) -> None:
    server = ServerProcess(args=["--loop", loop]).start()
    try:
        with connect("ignored", server.endpoint) as client:
            client.create_basin("event-loops")
            client["event-loops"].create_stream("s")
            stream = client["event-loops"]["s"]
            stream.append(AppendInput([Record(b"on " + loop.encode())]))
            records = stream.read(start=SeqNum(0), clamp_to_tail=True).records
    finally:
        server.stop()
    assert [r.body for r in records] == [b"on " + loop.encode()]


def test_the_loop_is_logged_and_chosen_by_the_environment() -> None:
    for env, expected in (({}, "uvloop"), ({"S2_LOCAL_LOOP": "asyncio"}, "asyncio")):
        proc = subprocess.Popen(
            [sys.executable, "-m", "s2_local", "serve", "--port", "0", "--log-level", "info"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env={**os.environ, "S2_LOCAL_LOOP": "", **env},
        )
        assert proc.stdout is not None
        proc.stdout.readline()  # serving: the loop was logged before
        proc.terminate()
        _, stderr = proc.communicate(timeout=30)
        assert proc.returncode == 0, stderr
        assert f"serving on {expected}'s event loop" in stderr


@pytest.mark.parametrize(
    ("args", "env", "message"),
    [
        ([], {"S2_LOCAL_LOOP": "trio"}, "s2-local: unknown event loop 'trio'"),
        (["--loop", "trio"], {}, "argument --loop: invalid choice: 'trio'"),
    ],
)
def test_an_unknown_loop_is_one_clear_line(
    args: list[str], env: dict[str, str], message: str
) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "s2_local", "serve", "--port", "0", *args],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, **env},
    )
    assert proc.returncode in (1, 2)
    assert message in proc.stderr and "Traceback" not in proc.stderr


def test_the_http_layer_holds_on_asyncio_s_loop() -> None:
    """The hardening tests of the HTTP layer (flow control, slow readers, hostile clients,
    limits, drains), run again with ``S2_LOCAL_LOOP=asyncio``: the background-thread
    servers of the pytest plugin and every ``s2-local serve`` child use asyncio's loop."""
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "no:xdist",
         *HTTP_LAYER_TESTS],
        cwd=TESTS, capture_output=True, text=True, timeout=600,
        env={**os.environ, "S2_LOCAL_LOOP": "asyncio"},
    )  # fmt: skip
    summary = proc.stdout.strip().splitlines()[-1]
    assert proc.returncode == 0, proc.stdout[-5000:]
    assert " passed" in summary and "failed" not in summary, summary
