"""Set the one version every package carries: VERSION and every ``s2-core==`` pin.

Usage: ``hatch run bump 0.2.0`` (or ``python tools/bump_version.py 0.2.0``).
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PIN = re.compile(r'"s2-core==[^"]*"')
VERSION_RE = re.compile(r"\d+\.\d+\.\d+([.-]?(a|b|rc|dev|post)\d+)?")


def member_pyprojects() -> list[Path]:
    """Every workspace member's pyproject.toml."""
    return sorted((ROOT / "packages").glob("*/pyproject.toml"))


def bump(version: str) -> list[Path]:
    """Write ``version`` to VERSION and to every pin; return the files changed."""
    if not VERSION_RE.fullmatch(version):
        raise SystemExit(f"not a version: {version!r}")
    changed = [ROOT / "VERSION"]
    (ROOT / "VERSION").write_text(version + "\n")
    for path in member_pyprojects():
        text = path.read_text()
        new = PIN.sub(f'"s2-core=={version}"', text)
        if new != text:
            path.write_text(new)
            changed.append(path)
    return changed


def main() -> None:
    if len(sys.argv) != 2:
        raise SystemExit("usage: bump_version.py NEW_VERSION")
    for path in bump(sys.argv[1]):
        print(f"updated {path.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
