"""A Celery app whose process configures logging and OpenTelemetry when it loads, as a
Django project or any app module does before its worker starts: an ``S2Handler`` on the
root logger, and a ``BatchSpanProcessor`` with an ``S2SpanExporter``.

``S2_TEST_BASIN`` names the basin (streams ``logs`` and ``traces``), ``S2_TEST_BROKER`` the
broker and ``S2_TEST_QUEUE`` the queue; the ``S2_*`` variables say where S2 is.
"""

from __future__ import annotations

import logging
import logging.config
import os

from celery import Celery
from opentelemetry import trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from s2_otel import S2SpanExporter

BASIN = os.environ.get("S2_TEST_BASIN", "unset-basin")

logging.config.dictConfig(
    {
        "version": 1,
        "disable_existing_loggers": False,
        "handlers": {"s2": {"class": "s2_logging.S2Handler", "basin": BASIN, "stream": "logs"}},
        "root": {"handlers": ["s2"], "level": "INFO"},
    }
)
provider = TracerProvider(resource=Resource.create({"service.name": "telemetry-worker"}))
provider.add_span_processor(BatchSpanProcessor(S2SpanExporter(BASIN, "traces")))
trace.set_tracer_provider(provider)

app = Celery("telemetry", broker=os.environ.get("S2_TEST_BROKER", "redis://127.0.0.1:6379/10"))
app.conf.task_default_queue = os.environ.get("S2_TEST_QUEUE", "celery")
app.conf.task_ignore_result = True

log = logging.getLogger("telemetry_worker")


@app.task(name="work", shared=False)
def work(n: int) -> None:
    """Log a line and record a span, both naming ``n``."""
    with trace.get_tracer("telemetry_worker").start_as_current_span(f"work {n}"):
        log.info("working on %d", n)
