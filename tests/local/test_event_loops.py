"""s2-local runs on uvloop where it is installed, else on asyncio's loop; ``--loop`` and
``S2_LOCAL_LOOP`` choose. The HTTP layer's hardening tests hold on both loops."""

from __future__ import annotations

import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from s2_local.server import ServerProcess
from s2_sdk import AppendInput, BasinConfig, Record, SeqNum
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
    """Eight clients, each on its own connection, append and read back distinct large
    bodies at once: what the server reads, into one buffer its connections share, stays
    each connection's own."""
    server = ServerProcess(args=["--loop", loop]).start()

    def client_run(i: int) -> list[bytes]:
        with connect("ignored", server.endpoint) as client:
            stream = client["event-loops"][f"s{i}"]
            for j in range(6):
                body = bytes([i * 16 + j]) * (300_000 + 7 * j) + loop.encode()
                stream.append(AppendInput([Record(body), Record(body[:1000])]))
            bodies: list[bytes] = []
            while len(bodies) < 12:  # a unary read returns at most 1 MiB
                bodies += [r.body for r in stream.read(start=SeqNum(len(bodies))).records]
            return bodies

    try:
        with connect("ignored", server.endpoint) as client:
            client.create_basin("event-loops", config=BasinConfig(create_stream_on_append=True))
        with ThreadPoolExecutor(8) as pool:
            results = list(pool.map(client_run, range(8)))
    finally:
        server.stop()
    for i, bodies in enumerate(results):
        sent = [bytes([i * 16 + j]) * (300_000 + 7 * j) + loop.encode() for j in range(6)]
        assert bodies == [b for body in sent for b in (body, body[:1000])]


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
