"""A clear warning, instead of silence, when ``opentelemetry-instrument`` was asked for the
``s2`` exporters but cannot run them.

``opentelemetry-instrument`` configures nothing by itself: without a distro
(``opentelemetry-distro``), no SDK is set up and ``--traces_exporter s2`` exports nothing,
creates no stream, and says nothing. And the SDK sends Python's log records to the logs
exporter only with ``opentelemetry-instrumentation-logging`` installed (or the deprecated
``OTEL_PYTHON_LOGGING_AUTO_INSTRUMENTATION_ENABLED=true``). ``pip install
"s2-otel[instrument]"`` brings both. :func:`check` runs when ``opentelemetry-instrument``
loads this package's instrumentor, after the SDK would have been configured.
"""

from __future__ import annotations

import importlib.util
import logging
import os
import sys

from opentelemetry import metrics, trace
from opentelemetry._logs import get_logger_provider

__all__ = ["check", "problems"]

log = logging.getLogger("s2_otel")
_FIX = 'pip install "s2-otel[instrument]"'


def _asked(signal: str) -> bool:
    names = os.environ.get(f"OTEL_{signal.upper()}_EXPORTER", "")
    return "s2" in {name.strip().lower() for name in names.split(",")}


def _from_sdk(provider: object) -> bool:
    return type(provider).__module__.startswith("opentelemetry.sdk.")


def problems() -> list[str]:
    """Why signals asked of the ``s2`` exporters will not reach S2 (empty: they will)."""
    found = []
    providers = {
        "traces": trace.get_tracer_provider(),
        "logs": get_logger_provider(),
        "metrics": metrics.get_meter_provider(),
    }
    unconfigured = [s for s, p in providers.items() if _asked(s) and not _from_sdk(p)]
    if unconfigured:
        variables = ", ".join(f"OTEL_{s.upper()}_EXPORTER=s2" for s in unconfigured)
        if importlib.util.find_spec("opentelemetry.distro") is None:
            why = (
                f"opentelemetry-instrument needs a distro to set the SDK up ({_FIX} brings "
                "opentelemetry-distro)"
            )
        else:
            why = (
                "its configuration failed (see the error above: each exporter named must be "
                "installed, and the distro gives a signal you name none for OTLP's, so name "
                "s2 or none for each of traces, logs and metrics)"
            )
        found.append(
            f"{variables} is set, but no OpenTelemetry SDK was configured, so nothing will be "
            f"exported: {why}"
        )
    if (
        _asked("logs")
        and _from_sdk(providers["logs"])
        and os.environ.get("OTEL_PYTHON_LOGGING_AUTO_INSTRUMENTATION_ENABLED", "").lower() != "true"
        and importlib.util.find_spec("opentelemetry.instrumentation.logging") is None
    ):
        found.append(
            "OTEL_LOGS_EXPORTER=s2 is set, but nothing hands Python's log records to "
            f"OpenTelemetry, so the logs stream stays empty: {_FIX} brings "
            "opentelemetry-instrumentation-logging"
        )
    return found


def check() -> None:
    """Under ``opentelemetry-instrument``, warn of every :func:`problems` (once each)."""
    if "opentelemetry.instrumentation.auto_instrumentation" not in sys.modules:
        return
    for problem in problems():
        log.warning("s2-otel: %s", problem)
