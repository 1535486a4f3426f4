"""The README's demo command runs end to end on an embedded s2-local."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

from s2_local.pytest_plugin import S2TestServer
from s2_sdk.sync import connect

ROOT = Path(__file__).resolve().parents[2]


def _run_demo(**env: str) -> subprocess.CompletedProcess[str]:
    """tools/demo.py with ``env`` in place of the caller's ``S2_*`` variables."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith("S2_")}
    proc = subprocess.run(
        [sys.executable, str(ROOT / "tools" / "demo.py")],
        capture_output=True,
        text=True,
        timeout=120,
        env={**clean, **env},
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == ""  # no warning, no traceback, nothing left running at exit
    return proc


def test_demo_runs_and_summarises() -> None:
    proc = _run_demo(S2_DEMO_RECORDS="3000")
    assert "records produced     3,000" in proc.stdout
    assert "3,000 records, in order, no gaps" in proc.stdout
    assert "#2999: 'event 2999'" in proc.stdout
    assert "100 records in logs/shop" in proc.stdout
    assert "4 spans in traces: charge, checkout, reserve, ship" in proc.stdout
    assert "add(40, 2) = 42" in proc.stdout


def test_demo_uses_the_s2_it_is_given(s2_server: S2TestServer) -> None:
    proc = _run_demo(**s2_server.env(), S2_DEMO_RECORDS="2000")
    assert f"S2 at {s2_server.account_endpoint}" in proc.stdout
    assert "embedded" not in proc.stdout
    assert "2,000 records, in order, no gaps" in proc.stdout
    basin = re.search(r"basin (demo-[0-9a-f]+), deleted on exit", proc.stdout)
    assert basin, proc.stdout
    with connect(s2_server.access_token, s2_server.account_endpoint) as client:
        infos = client.list_basins(prefix=basin[1]).items
        assert all(info.deleted_at is not None for info in infos)  # gone, or going
