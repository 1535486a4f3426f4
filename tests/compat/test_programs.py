"""Programs written for the published SDK run unchanged with `s2-core`, with the same results.

Each program runs twice against one s2-local: with the published client of its release
(in its own virtualenv) and with this repository's `s2_sdk`. Every step must come out
the same; a step that raises with the published client would be an s2-local gap, so
every step must also succeed there.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import pytest
from interop_clients import REFERENCE_PY_SDK_VERSION, official_python, run_script
from s2_local.pytest_plugin import S2TestServer
from s2_local.server import Server
from s2_sdk._duplex import authority
from support.evil_server import Answer, EvilServer

PROGRAMS = Path(__file__).parent / "programs"
pytestmark = pytest.mark.interop


def _run(python: str, program: str, endpoint: str) -> dict[str, Any]:
    basin = f"compat-{uuid.uuid4().hex[:12]}"
    tokens = f"compat-{uuid.uuid4().hex[:8]}"
    out = run_script([python, str(PROGRAMS / program), endpoint, basin, tokens], timeout=180)
    results: dict[str, Any] = json.loads(out)
    return results


@pytest.mark.parametrize(
    ("program", "version"),
    [("written_for_0_8.py", REFERENCE_PY_SDK_VERSION), ("written_for_0_13.py", "0.13.0")],
)
def test_a_program_runs_the_same_as_with_the_published_client(
    s2_server: S2TestServer, program: str, version: str
) -> None:
    theirs = _run(str(official_python(version)), program, s2_server.account_endpoint)
    ours = _run(sys.executable, program, s2_server.account_endpoint)
    assert list(ours) == list(theirs)
    failed_there = {name: r for name, r in theirs.items() if "ok" not in r}
    assert not failed_there, f"steps the published {version} client failed: {failed_there}"
    different = {name: (theirs[name], ours[name]) for name in theirs if theirs[name] != ours[name]}
    assert not different, json.dumps(different, indent=1)


def _headers(python: str, server: EvilServer) -> list[tuple[dict[str, str], set[str]]]:
    server.requests.clear()
    run_script([python, str(PROGRAMS / "wire.py"), server.endpoint])
    out = []
    for seen in server.requests:
        headers = {k: v for k, v in seen.headers if k != "user-agent"}
        out.append((headers, seen.never_indexed))
    return out


def test_requests_match_the_published_client_on_the_wire() -> None:
    with EvilServer() as server:
        server.answer = Answer(
            404, [("content-type", "application/json")], b'{"code":"x","message":"no"}'
        )
        theirs = _headers(str(official_python()), server)
        ours = _headers(sys.executable, server)
    assert len(theirs) == len(ours) == 9
    for (their_headers, their_secret), (our_headers, our_secret) in zip(theirs, ours, strict=True):
        assert our_headers == their_headers
        assert our_secret == their_secret == {"authorization"}
    # the token's trailing newline is stripped; the key goes only where records are
    assert ours[0][0]["authorization"] == "Bearer token-from-a-file"
    with_key = [
        h[":path"].split("?")[0].rsplit("/", 1)[-1] for h, _ in ours if "s2-encryption-key" in h
    ]
    assert with_key == ["records"] * 6


@pytest.mark.parametrize(
    ("scheme", "host", "port", "expected"),
    [
        ("https", "a.s2.dev", 443, "a.s2.dev"),
        ("https", "a.s2.dev", None, "a.s2.dev"),
        ("http", "localhost", 80, "localhost"),
        ("http", "localhost", 8080, "localhost:8080"),
        ("https", "::1", 8443, "[::1]:8443"),
    ],
)
def test_authority_drops_a_default_port(
    scheme: str, host: str, port: int | None, expected: str
) -> None:
    assert authority(scheme, host, port) == expected


@pytest.mark.parametrize(("client", "drains"), [("published", 1), ("ours", 2)])
def test_sessions_ride_through_a_drain(client: str, drains: int) -> None:
    """The published 0.13 client (and ours) reconnect on s2-local's drain without using an
    attempt: every append acknowledged once, in order, and read back exactly once.

    Ours also rides through a second drain right after the first: it ignores that advice
    (once a minute at most) and is ended by the terminal ``server_draining`` as it appends.
    The published 0.13 client can lose the input it was about to send when an attempt is
    torn down that way (its body generator drops an input it already dequeued, and the
    ticket never resolves), so it gets the single drain a real server restart would be.
    """
    python = str(official_python()) if client == "published" else sys.executable
    program = str(PROGRAMS / "rides_a_drain.py")
    with Server() as server:
        proc = subprocess.Popen(
            [python, program, server.endpoint, f"drain-{uuid.uuid4().hex[:10]}"],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )  # fmt: skip
        try:
            assert proc.stdout is not None
            assert proc.stdout.readline().strip() == "ready"
            time.sleep(1)
            for _ in range(drains):
                server.drain()
                time.sleep(0.5)
            out, err = proc.communicate(timeout=60)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.communicate()
    assert proc.returncode == 0, err
    result = json.loads(out)
    n = len(result["acks"])
    assert n > 100
    assert result["acks"] == list(range(n)) and result["tail"] == n
    assert result["read"] == list(range(n))
