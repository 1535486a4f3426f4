"""Telemetry still buffered when a Celery pool process exits is flushed, not lost.

A prefork pool process ends with ``os._exit``: the OpenTelemetry SDK's exit hooks never run
there, so spans waiting in a ``BatchSpanProcessor`` (up to its 5 s delay), log records in a
``BatchLogRecordProcessor`` and the last metrics were lost, every task span of a
short-lived worker. Once an S2 exporter exists in a process, a child forked from it in which
Celery is loaded (a pool process) flushes every OpenTelemetry provider, whatever their
exporters, on Celery's ``worker_process_shutdown``. Processes that exit normally (the
worker's main process with the solo or threads pool, gunicorn's workers) flush through the
SDK's own exit hook.
"""

from __future__ import annotations

import logging
import os
import sys
from typing import Any

from opentelemetry import metrics, trace
from opentelemetry._logs import get_logger_provider

__all__ = ["flush_at_pool_process_exit", "flush_providers"]

log = logging.getLogger("s2_otel")
_watching = False


def flush_at_pool_process_exit() -> None:
    """Have pool processes forked from this one flush telemetry as they exit (once)."""
    global _watching
    if not _watching:
        _watching = True
        os.register_at_fork(after_in_child=_in_child)


def _in_child() -> None:
    if "celery.signals" not in sys.modules:
        return  # not a Celery pool process
    from celery import signals

    signals.worker_process_shutdown.connect(
        flush_providers, weak=False, dispatch_uid="s2_otel.flush"
    )


def flush_providers(**_: Any) -> None:
    """Flush the tracer, logger and meter providers (those of the SDK; never raises)."""
    providers = (trace.get_tracer_provider(), get_logger_provider(), metrics.get_meter_provider())
    for provider in providers:
        force_flush = getattr(provider, "force_flush", None)
        if callable(force_flush):
            try:
                force_flush()
            except Exception:
                log.warning("flushing %s failed", type(provider).__name__, exc_info=True)
