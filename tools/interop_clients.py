"""The published S2 clients in their own environments (for interop tests and benchmarks)."""

from __future__ import annotations

import os
import shutil
import subprocess
import venv
from pathlib import Path

CACHE = Path(os.environ.get("S2_TEST_CACHE", Path.home() / ".cache" / "s2-python-tests"))
OFFICIAL_PY_SDK_VERSION = "0.13.0"
REFERENCE_PY_SDK_VERSION = "0.8.0"
"""The release the API reference documents."""
OFFICIAL_NODE_SDK = "@s2-dev/streamstore@0.27.0"
OFFICIAL_NODE_PATTERNS = "@s2-dev/streamstore-patterns@2.1.4"


def official_python(version: str = OFFICIAL_PY_SDK_VERSION) -> Path:
    """A virtualenv with the official `s2-sdk` of ``version`` (it shares our import name)."""
    requirement = f"s2-sdk=={version}"
    home = CACHE / f"s2-sdk-{version}"
    python = home / "bin" / "python"
    if not (home / ".ready").exists():
        shutil.rmtree(home, ignore_errors=True)
        venv.create(home, with_pip=True)
        subprocess.run(
            [python, "-m", "pip", "install", "-q", "--disable-pip-version-check", requirement],
            check=True,
        )
        (home / ".ready").touch()
    return python


def official_node(*packages: str) -> Path | None:
    """A folder with the official `@s2-dev/streamstore` (and ``packages``) installed (None
    without npm)."""
    npm, node = shutil.which("npm"), shutil.which("node")
    if not npm or not node:
        return None
    wanted = (OFFICIAL_NODE_SDK, *packages)
    home = CACHE / "+".join(p.replace("/", "_").replace("@", "") for p in wanted)
    if not (home / ".ready").exists():
        shutil.rmtree(home, ignore_errors=True)
        home.mkdir(parents=True)
        (home / "package.json").write_text('{"name": "s2-interop", "private": true}\n')
        subprocess.run(
            [npm, "install", "--silent", "--no-audit", "--no-fund", *wanted],
            cwd=home,
            check=True,
        )
        (home / ".ready").touch()
    return home


def run_script(argv: list[str], cwd: Path | None = None, timeout: float = 120) -> str:
    """Run a client script and return its stdout (its stderr is shown on failure)."""
    proc = subprocess.run(argv, cwd=cwd, capture_output=True, text=True, timeout=timeout)
    if proc.returncode != 0:
        raise AssertionError(f"{argv[0]} exited {proc.returncode}:\n{proc.stderr[-4000:]}")
    return proc.stdout


__all__ = ["OFFICIAL_NODE_PATTERNS", "official_node", "official_python", "run_script"]
