"""The default record body: one JSON object per log record."""

from __future__ import annotations

import json
import logging
import traceback
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

__all__ = ["S2JsonFormatter", "event_of", "render_event", "trace_context"]

_STANDARD = frozenset(
    logging.LogRecord("", 0, "", 0, "", None, None).__dict__.keys()
    | {"message", "asctime", "taskName"}
)


def _current_span_getter() -> Callable[[], Any] | None:
    try:
        from opentelemetry.trace import get_current_span
    except ImportError:  # OpenTelemetry is optional
        return None
    return get_current_span


_current_span = _current_span_getter()


def trace_context() -> dict[str, str]:
    """``trace_id``/``span_id`` (lowercase hex) of the active OpenTelemetry span, if any."""
    if _current_span is None:
        return {}
    context = _current_span().get_span_context()
    if not context.is_valid:
        return {}
    return {
        "trace_id": format(context.trace_id, "032x"),
        "span_id": format(context.span_id, "016x"),
        "trace_flags": format(context.trace_flags, "02x"),
    }


def event_of(record: logging.LogRecord) -> dict[str, Any]:
    """A log record as a JSON-ready dict (message, extra fields, exception, stack, trace).

    ``timestamp`` is left as the record's float ``created``; :func:`render_event`
    turns it into ISO 8601 (off the caller's thread, for the handler).
    """
    event: dict[str, Any] = {
        "timestamp": record.created,
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


def render_event(event: dict[str, Any]) -> bytes:
    """The JSON body for an event built by :func:`event_of`."""
    event["timestamp"] = datetime.fromtimestamp(event["timestamp"], UTC).isoformat()
    return json.dumps(event, default=repr, ensure_ascii=False).encode()


class S2JsonFormatter(logging.Formatter):
    """Formats a record as one JSON object (the handler's default body).

    Keys: ``timestamp`` (ISO 8601 UTC), ``level``, ``logger``, ``message``, ``extra``
    (attributes passed with ``extra=``), ``exception`` (type, message, traceback),
    ``stack_info``, ``process``, ``thread``, ``thread_name``, and ``trace_id`` /
    ``span_id`` / ``trace_flags`` when an OpenTelemetry span is active.
    """

    def format(self, record: logging.LogRecord) -> str:
        return render_event(event_of(record)).decode()
