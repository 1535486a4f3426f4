"""The README's demo command runs end to end on an embedded s2-local."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_demo_runs_and_summarises() -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("S2_")}
    env["S2_DEMO_RECORDS"] = "3000"
    proc = subprocess.run(
        [sys.executable, str(ROOT / "tools" / "demo.py")],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
    )
    assert proc.returncode == 0, proc.stderr
    assert "records produced     3,000" in proc.stdout
    assert "3,000 records, in order, no gaps" in proc.stdout
    assert "#2999: 'event 2999'" in proc.stdout
    assert "100 records in logs/shop" in proc.stdout
    assert "4 spans in traces: charge, checkout, reserve, ship" in proc.stdout
    assert "add(40, 2) = 42" in proc.stdout
