"""The default record body: one JSON object per log record.

Formatting is split in two so the caller's thread does as little as possible:
:func:`capture` takes what must be read at call time (message, extra fields,
exception, active trace) into a flat tuple, and :func:`render_event` turns that
into JSON later, on the delivery thread. Captured events hold only strings and
numbers (unless extra fields hold containers), so the garbage collector stops
tracking them while they wait in the queue: a full queue during an outage does
not lengthen collection pauses in the application.
"""

from __future__ import annotations

import json
import logging
import time
import traceback
from collections.abc import Callable
from json.encoder import encode_basestring
from typing import Any

__all__ = ["Event", "S2JsonFormatter", "active_trace", "capture", "render_event", "trace_context"]

_PLAIN = logging.LogRecord("", 0, "", 0, "", None, None).__dict__.keys()
_PLAIN_SIZE = len(_PLAIN)  # a record with no more attributes than this has no extra fields
_STANDARD = frozenset(_PLAIN | {"message", "asctime", "taskName"})
_ENCODER = json.JSONEncoder(default=repr, ensure_ascii=False, separators=(",", ":"))

Event = tuple[Any, ...]
"""A captured log record: see :func:`capture`."""


def _current_span_getter() -> Callable[[], Any] | None:
    try:
        from opentelemetry.trace import get_current_span
    except ImportError:  # OpenTelemetry is optional
        return None
    return get_current_span


_current_span = _current_span_getter()


def active_trace() -> tuple[int, int, int] | None:
    """(trace id, span id, flags) of the active OpenTelemetry span, if there is one."""
    if _current_span is None:
        return None
    context = _current_span().get_span_context()
    if not context.is_valid:
        return None
    return (context.trace_id, context.span_id, context.trace_flags)


def _trace_fields(trace: tuple[int, int, int]) -> dict[str, str]:
    trace_id, span_id, flags = trace
    return {
        "trace_id": format(trace_id, "032x"),
        "span_id": format(span_id, "016x"),
        "trace_flags": format(flags, "02x"),
    }


def trace_context() -> dict[str, str]:
    """``trace_id``/``span_id``/``trace_flags`` (lowercase hex) of the active OpenTelemetry span."""
    trace = active_trace()
    return {} if trace is None else _trace_fields(trace)


def capture(record: logging.LogRecord) -> Event:
    """What the JSON body needs from ``record``, read now (on the logging thread)."""
    fields = record.__dict__
    extra = None
    if len(fields) > _PLAIN_SIZE:
        extra_keys = fields.keys() - _STANDARD
        if extra_keys:
            extra = tuple([(k, fields[k]) for k in sorted(extra_keys)])
    exception: tuple[str | None, str | None, str] | None = None
    if record.exc_info and record.exc_info[0] is not None:
        exc_type, exc, tb = record.exc_info
        exception = (
            exc_type.__qualname__,
            str(exc),
            "".join(traceback.format_exception(exc_type, exc, tb)),
        )
    elif record.exc_text:
        exception = (None, None, record.exc_text)
    return (
        record.created,
        record.levelname,
        record.name,
        record.getMessage(),
        extra,
        exception,
        record.stack_info,
        record.process,
        record.thread,
        record.threadName,
        active_trace(),
    )


_second: tuple[int, str] = (-1, "")


def _iso_utc(created: float) -> str:
    """``created`` as ISO 8601 UTC with microseconds (the date part cached per second)."""
    global _second
    seconds = int(created)
    micros = round((created - seconds) * 1e6)
    if micros == 1_000_000:
        seconds, micros = seconds + 1, 0
    if _second[0] != seconds:
        _second = (seconds, time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(seconds)))
    return f"{_second[1]}.{micros:06d}+00:00"


def render_event(event: Event) -> bytes:
    """The JSON body of a captured event."""
    (created, level, logger, message, extra, exception, stack, process, thread, thread_name,
     trace) = event  # fmt: skip
    if extra or exception is not None or stack:
        return _render_full(event)
    # The common case, written directly (the JSON encoder's own string escaping, a
    # sixth of the time of building and encoding a dict); same keys, same order.
    body = (
        f'{{"timestamp":"{_iso_utc(created)}","level":{_string(level)},'
        f'"logger":{_string(logger)},"message":{_string(message)},'
        f'"process":{_integer(process)},"thread":{_integer(thread)},'
        f'"thread_name":{_string(thread_name)}'
    )
    if trace is not None:
        body += "".join(f',"{key}":"{value}"' for key, value in _trace_fields(trace).items())
    return (body + "}").encode()


def _string(value: str | None) -> str:
    return "null" if value is None else encode_basestring(value)


def _integer(value: int | None) -> str:
    return "null" if value is None else str(int(value))


def _render_full(event: Event) -> bytes:
    (created, level, logger, message, extra, exception, stack, process, thread, thread_name,
     trace) = event  # fmt: skip
    out: dict[str, Any] = {
        "timestamp": _iso_utc(created),
        "level": level,
        "logger": logger,
        "message": message,
    }
    if extra:
        out["extra"] = dict(extra)
    if exception is not None:
        exc_type, exc_message, exc_traceback = exception
        out["exception"] = (
            {"traceback": exc_traceback}
            if exc_type is None
            else {"type": exc_type, "message": exc_message, "traceback": exc_traceback}
        )
    if stack:
        out["stack_info"] = stack
    out["process"] = process
    out["thread"] = thread
    out["thread_name"] = thread_name
    if trace is not None:
        out.update(_trace_fields(trace))
    return _ENCODER.encode(out).encode()


class S2JsonFormatter(logging.Formatter):
    """Formats a record as one JSON object (the handler's default body).

    Keys: ``timestamp`` (ISO 8601 UTC), ``level``, ``logger``, ``message``, ``extra``
    (attributes passed with ``extra=``), ``exception`` (type, message, traceback),
    ``stack_info``, ``process``, ``thread``, ``thread_name``, and ``trace_id`` /
    ``span_id`` / ``trace_flags`` when an OpenTelemetry span is active.
    """

    def format(self, record: logging.LogRecord) -> str:
        return render_event(capture(record)).decode()
