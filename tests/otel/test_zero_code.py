"""Zero-code OpenTelemetry in an environment holding only what the s2-otel README installs:
without the ``instrument`` extra, ``opentelemetry-instrument`` with the s2 exporters says
why nothing will be exported (it used to export nothing, silently), and with a distro but
no logging instrumentation, why the logs stream will stay empty; with the extra, spans
reach S2 and nothing is said."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from s2_local.pytest_plugin import S2TestServer
from s2_otel import read_traces
from s2_sdk.sync import S2

ROOT = Path(__file__).resolve().parents[2]
APP = """
from opentelemetry import trace
with trace.get_tracer("app").start_as_current_span("zero-code"):
    pass
print("done")
"""


def readme_installs() -> list[str]:
    """The two ``pip install`` lines of the s2-otel README."""
    text = (ROOT / "packages" / "s2-otel" / "README.md").read_text()
    lines = re.findall(r"^pip install (.+?)\s*(?:#.*)?$", text, re.M)
    assert len(lines) == 2, lines
    return lines


def _install(venv: Path, line: str) -> None:
    """``pip install`` a README line, its package names pointing at this repository."""
    specs = []
    for word in line.split():
        name = word.strip('"')
        base, _, extra = name.partition("[")
        if (ROOT / "packages" / base).is_dir():
            name = str(ROOT / "packages" / base) + (f"[{extra}" if extra else "")
        specs.append(name)
    uv = shutil.which("uv")
    if uv:
        command = [uv, "pip", "install", "-q", "--python", str(venv / "bin" / "python")]
    else:
        command = [str(venv / "bin" / "python"), "-m", "pip", "install", "-q"]
    subprocess.run([*command, *specs], check=True, timeout=600)


def _instrumented(venv: Path, env: dict[str, str], app: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(venv / "bin" / "opentelemetry-instrument"), "--traces_exporter", "s2",
         "--logs_exporter", "s2", "--metrics_exporter", "s2", str(venv / "bin" / "python"),
         str(app)],
        capture_output=True, text=True, timeout=120, env=env,
    )  # fmt: skip


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX virtualenv layout")
def test_what_the_readme_installs_exports_or_says_why_not(
    s2_server: S2TestServer, client: S2, basin: str, tmp_path: Path
) -> None:
    plain, with_extra = readme_installs()
    assert "[instrument]" in with_extra and "[instrument]" not in plain
    venv = tmp_path / "venv"
    uv = shutil.which("uv")
    if uv:
        subprocess.run([uv, "venv", "-q", "--python", sys.executable, str(venv)], check=True)
    else:
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    app = tmp_path / "app.py"
    app.write_text(APP)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OTEL_", "PYTHONPATH"))}
    env.update(s2_server.env(), OTEL_EXPORTER_S2_BASIN=basin, OTEL_SERVICE_NAME="zero-code")

    _install(venv, plain)
    silent = _instrumented(venv, env, app)
    assert silent.returncode == 0 and "done" in silent.stdout, silent.stderr
    assert (
        "OTEL_TRACES_EXPORTER=s2, OTEL_LOGS_EXPORTER=s2, OTEL_METRICS_EXPORTER=s2 is set, but no OpenTelemetry SDK"
        in silent.stderr
    )
    assert 'pip install "s2-otel[instrument]"' in silent.stderr
    assert not list(client[basin].list_all_streams())  # nothing went, but it said so

    _install(venv, "opentelemetry-distro")  # the SDK is set up; logs still have no way in
    unhandled = _instrumented(venv, env, app)
    assert unhandled.returncode == 0, unhandled.stderr
    assert "OTEL_LOGS_EXPORTER=s2 is set, but nothing hands Python's log records" in (
        unhandled.stderr
    )
    assert _span_names(client, basin) == ["zero-code"]  # the traces did go

    _install(venv, with_extra)
    loud = _instrumented(venv, env, app)
    assert loud.returncode == 0 and "done" in loud.stdout, loud.stderr
    assert "s2-otel:" not in loud.stderr, loud.stderr
    assert _span_names(client, basin) == ["zero-code", "zero-code"]


def _span_names(client: S2, basin: str) -> list[str]:
    return [
        span.name
        for _, data in read_traces(basin, client=client)
        for resource in data.resource_spans
        for scope in resource.scope_spans
        for span in scope.spans
    ]
