"""The lockstep version: VERSION, the installed packages and every s2-core pin agree."""

from __future__ import annotations

import importlib.util
import re
import shutil
import tomllib
from importlib.metadata import version
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
VERSION = (ROOT / "VERSION").read_text().strip()
PACKAGES = ["s2-core", "s2-local", "s2-logging", "s2-otel", "s2-celery"]


def _dependencies(package: str) -> list[str]:
    data = tomllib.loads((ROOT / "packages" / package / "pyproject.toml").read_text())
    deps: list[str] = data["project"]["dependencies"]
    return deps


@pytest.mark.parametrize("package", PACKAGES)
def test_installed_version_is_the_workspace_version(package: str) -> None:
    assert version(package) == VERSION


@pytest.mark.parametrize("package", [p for p in PACKAGES if p != "s2-core"])
def test_plugins_pin_s2_core_to_the_workspace_version(package: str) -> None:
    pins = [d for d in _dependencies(package) if re.match(r"s2-core\b", d)]
    assert pins == [f"s2-core=={VERSION}"], f"{package} pins {pins}, VERSION is {VERSION}"


def test_every_package_is_typed_and_documented() -> None:
    for package in PACKAGES:
        pkg_dir = ROOT / "packages" / package
        (src,) = (pkg_dir / "src").iterdir()
        assert (src / "py.typed").is_file(), f"{package} lacks py.typed"
        assert (pkg_dir / "README.md").read_text().strip(), f"{package} lacks a README"


def test_bump_version_rewrites_version_and_pins(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for package in PACKAGES:
        target = tmp_path / "packages" / package
        target.mkdir(parents=True)
        shutil.copy(ROOT / "packages" / package / "pyproject.toml", target)
    script = ROOT / "tools" / "bump_version.py"
    spec = importlib.util.spec_from_file_location("bump_version", script)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    monkeypatch.setattr(module, "ROOT", tmp_path)
    module.bump("9.8.7")
    assert (tmp_path / "VERSION").read_text() == "9.8.7\n"
    for package in PACKAGES[1:]:
        text = (tmp_path / "packages" / package / "pyproject.toml").read_text()
        assert '"s2-core==9.8.7"' in text
