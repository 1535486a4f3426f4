"""The published S2 clients, unchanged, against s2-local (`s2-sdk`, `@s2-dev/streamstore`)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from interop_clients import official_node, official_python, run_script
from s2_local.pytest_plugin import S2TestServer
from support.rest import unique_basin

HERE = Path(__file__).parent / "interop"
pytestmark = pytest.mark.interop


def test_official_python_sdk(s2_server: S2TestServer) -> None:
    python = official_python()
    out = json.loads(
        run_script(
            [
                str(python),
                str(HERE / "official_python.py"),
                s2_server.account_endpoint,
                unique_basin(),
            ]
        )
    )
    assert out["unary_ack"] == [0, 2]
    assert out["unary_read"] == [[0, "a", []], [1, "b", [["k", "v"]]]]
    assert out["tail"] == 2 and out["unwritten_tail"] == 2
    assert out["seq_mismatch"] == 2 and out["fence_mismatch"] == "owner-1"
    assert out["session_acks"] == [[0, 1], [1, 3], [3, 6], [6, 10], [10, 15]]
    assert out["producer_seq"] == [15, 16, 17]
    assert out["live"] == ["live0", "live1", "live2"]
    assert out["catchup"] == list(range(15))
    assert out["caught_up"] == list(range(18))  # the batch that reaches the tail says so
    assert out["caught_up_from_tail"] == [15, 16, 17]
    assert out["session_unwritten"] == 18
    assert out["streams"] == ["interop/session", "interop/unary"]


@pytest.mark.parametrize("transport", ["s2s", "fetch"])
def test_official_typescript_sdk(s2_server: S2TestServer, transport: str) -> None:
    """Over both of its session transports: S2S on HTTP/2, and JSON with SSE on HTTP/1.1."""
    home = official_node()
    if home is None:
        pytest.skip("Node.js and npm are needed for the TypeScript SDK interop test")
    script = home / "official_node.mjs"
    shutil.copy(HERE / "official_node.mjs", script)
    out = json.loads(
        run_script(
            ["node", str(script), s2_server.account_endpoint, unique_basin(), transport], cwd=home
        )
    )
    assert out["unary_ack"] == [0, 2]
    assert out["unary_read"][0] == [0, "hello", [["k", "v"]]]
    assert out["tail"] == 2 and out["unwritten"] == 2
    assert out["seq_mismatch"] == 2 and out["fence_mismatch"] == "node-owner"
    assert out["session_acks"] == [[0, 1], [1, 2], [2, 3], [3, 4]]
    assert out["live"] == ["s0", "s1", "s2", "s3"]
