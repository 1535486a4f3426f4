"""The Python examples in s2-core's README run as written against s2-local."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from s2_local.pytest_plugin import S2TestServer

README = Path(__file__).resolve().parents[2] / "packages" / "s2-core" / "README.md"
BLOCKS = re.findall(r"```python\n(.*?)```", README.read_text(), re.S)


@pytest.mark.parametrize("index", range(len(BLOCKS)))
def test_readme_block_runs(s2_env: S2TestServer, index: int) -> None:
    proc = subprocess.run(
        [sys.executable, "-c", BLOCKS[index]],
        capture_output=True,
        text=True,
        timeout=60,
        env=os.environ,
    )
    assert proc.returncode == 0, proc.stderr
    if index == 0:  # it prints the first batch it reads back
        assert proc.stdout.splitlines()[-1].startswith("[b'hello', b'world'")
