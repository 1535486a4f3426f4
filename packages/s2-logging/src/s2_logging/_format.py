"""The default record body: one JSON object per log record."""

from __future__ import annotations

import json
import logging
import traceback
from datetime import UTC, datetime
from typing import Any

__all__ = ["S2JsonFormatter", "event_of", "trace_context"]

_STANDARD = frozenset(
    logging.LogRecord("", 0, "", 0, "", None, None).__dict__.keys()
    | {"message", "asctime", "taskName"}
)


def trace_context() -> dict[str, str]:
    """``trace_id``/``span_id`` (lowercase hex) of the active OpenTelemetry span, if any."""
    try:
        from opentelemetry import trace
    except ImportError:
        return {}
    context = trace.get_current_span().get_span_context()
    if not context.is_valid:
        return {}
    return {
        "trace_id": format(context.trace_id, "032x"),
        "span_id": format(context.span_id, "016x"),
        "trace_flags": format(context.trace_flags, "02x"),
    }


def event_of(record: logging.LogRecord) -> dict[str, Any]:
    """A log record as a JSON-ready dict (message, extra fields, exception, stack, trace)."""
    event: dict[str, Any] = {
        "timestamp": datetime.fromtimestamp(record.created, UTC).isoformat(),
        "level": record.levelname,
        "logger": record.name,
        "message": record.getMessage(),
    }
    extra = {k: v for k, v in record.__dict__.items() if k not in _STANDARD}
    if extra:
        event["extra"] = extra
    if record.exc_info and record.exc_info[0] is not None:
        exc_type, exc, tb = record.exc_info
        event["exception"] = {
            "type": exc_type.__qualname__,
            "message": str(exc),
            "traceback": "".join(traceback.format_exception(exc_type, exc, tb)),
        }
    elif record.exc_text:
        event["exception"] = {"traceback": record.exc_text}
    if record.stack_info:
        event["stack_info"] = record.stack_info
    event["process"] = record.process
    event["thread"] = record.thread
    event["thread_name"] = record.threadName
    event.update(trace_context())
    return event


class S2JsonFormatter(logging.Formatter):
    """Formats a record as one JSON object (the handler's default body).

    Keys: ``timestamp`` (ISO 8601 UTC), ``level``, ``logger``, ``message``, ``extra``
    (attributes passed with ``extra=``), ``exception`` (type, message, traceback),
    ``stack_info``, ``process``, ``thread``, ``thread_name``, and ``trace_id`` /
    ``span_id`` / ``trace_flags`` when an OpenTelemetry span is active.
    """

    def format(self, record: logging.LogRecord) -> str:
        return json.dumps(event_of(record), default=repr, ensure_ascii=False)
