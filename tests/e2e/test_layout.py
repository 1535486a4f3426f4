"""The tree's layering beyond what import-linter sees: the tools stand on their own."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
TEST_ONLY = {"support", "conftest"}  # the packages under tests/


def test_tools_do_not_import_from_tests() -> None:
    """Shared scenarios live in tools/faults, which the tests import, not the reverse."""
    offenders = []
    for path in sorted((ROOT / "tools").rglob("*.py")):
        text = path.read_text()
        if '"tests"' in text or "'tests'" in text:
            offenders.append(f"{path.relative_to(ROOT)}: puts tests/ on the path")
        for node in ast.walk(ast.parse(text)):
            names = (
                [a.name for a in node.names]
                if isinstance(node, ast.Import)
                else [node.module or ""]
                if isinstance(node, ast.ImportFrom)
                else []
            )
            offenders += [
                f"{path.relative_to(ROOT)}: imports {n}"
                for n in names
                if n.split(".")[0] in TEST_ONLY
            ]
    assert offenders == []
