"""Every script in examples/ runs to completion against the test server.

The examples assert on what they read back, so a wrong result fails here too.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from s2_local.pytest_plugin import S2TestServer

EXAMPLES = sorted((Path(__file__).resolve().parents[2] / "examples").glob("*.py"))

EXPECTED_OUTPUT = {
    "basins_and_streams": "streams: ['inventory/warehouse-1', 'inventory/warehouse-2']",
    "metrics": "basin append ops: [Accumulation(name='append-ops'",
    "append_and_read": "conditional append refused; tail is 10",
    "sessions": "tailed 500 records live",
    "producer": "5000 records at #0..#4999",
    "encryption": "wrong key refused: decryption_failed",
    "access_tokens": "revoked",
    "logging_dictconfig": "refund failed - ZeroDivisionError",
    "otel_traces": "spans in S2: ['charge-card', 'place-order']",
    "celery_results": "sum of squares via a native chord: 285",
    "ai_token_stream": "resumed after 5 tokens at #5; the replay matches",
}


def test_every_example_is_covered() -> None:
    assert {path.stem for path in EXAMPLES} == set(EXPECTED_OUTPUT)


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda path: path.stem)
def test_example_runs(path: Path, s2_server: S2TestServer) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("S2_")}
    env.update(s2_server.env())
    env["S2_EXAMPLE_BASIN"] = f"example-{path.stem.replace('_', '-')}"
    proc = subprocess.run(
        [sys.executable, str(path)], capture_output=True, text=True, timeout=120, env=env
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert EXPECTED_OUTPUT[path.stem] in proc.stdout
