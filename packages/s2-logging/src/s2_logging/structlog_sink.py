"""A native structlog sink: ``structlog.configure(logger_factory=S2LoggerFactory(...))``.

The last processor may return rendered JSON (``str``/``bytes``, e.g. from
``JSONRenderer``) or the event dict itself; either way ``level``, ``logger`` and
``trace_id`` are lifted into S2 headers and the record timestamp is the time of
the call.
"""

from __future__ import annotations

import json
import time
from typing import Any

from s2_sdk import Batching, Record
from s2_sdk.sync import connect

from s2_logging._format import trace_context
from s2_logging._sink import Entry, LogSink, Overflow
from s2_logging.handler import encode_record

__all__ = ["S2Logger", "S2LoggerFactory"]

_HEADER_KEYS = ("level", "logger", "trace_id")


def _render(entry: Entry) -> Record:
    """A queued event, ``(stream, body, headers, timestamp)`` as :meth:`S2Logger._log`
    makes it, as a record."""
    return encode_record(*entry[1:])


class S2Logger:
    """What structlog wraps: level-named methods that queue one S2 record per event."""

    def __init__(self, factory: S2LoggerFactory, name: str | None) -> None:
        self._factory = factory
        self.name = name

    def _log(self, method: str, *args: Any, **event: Any) -> None:
        if args:
            rendered = args[0]
            body = rendered.encode() if isinstance(rendered, str) else bytes(rendered)
            try:
                parsed = json.loads(body)
            except ValueError:
                parsed = None
            fields = parsed if isinstance(parsed, dict) else {}
        else:
            fields = {**trace_context(), **event}
            fields.setdefault("level", method)
            if self.name and "logger" not in fields:
                fields["logger"] = self.name
            body = json.dumps(fields, default=repr, ensure_ascii=False).encode()
        fields.setdefault("level", method)
        headers = (
            *((key.encode(), str(fields[key]).encode()) for key in _HEADER_KEYS if key in fields),
            (b"content-type", b"application/json"),
        )
        self._factory.sink.put((self._factory.stream, body, headers, int(time.time() * 1000)))

    def msg(self, *args: Any, **event: Any) -> None:
        """Queue an event (structlog calls this for every level)."""
        self._log("info", *args, **event)

    def debug(self, *args: Any, **event: Any) -> None:
        """Queue a debug event."""
        self._log("debug", *args, **event)

    def info(self, *args: Any, **event: Any) -> None:
        """Queue an info event."""
        self._log("info", *args, **event)

    def warning(self, *args: Any, **event: Any) -> None:
        """Queue a warning event."""
        self._log("warning", *args, **event)

    warn = warning

    def error(self, *args: Any, **event: Any) -> None:
        """Queue an error event."""
        self._log("error", *args, **event)

    exception = error

    def critical(self, *args: Any, **event: Any) -> None:
        """Queue a critical event."""
        self._log("critical", *args, **event)

    fatal = critical


class S2LoggerFactory:
    """A structlog ``logger_factory`` writing every event to one S2 stream.

    Takes the same connection and queue options as :class:`s2_logging.S2Handler`.
    """

    def __init__(
        self,
        basin: str,
        stream: str = "logs",
        *,
        access_token: str | None = None,
        account_endpoint: str | None = None,
        basin_endpoint: str | None = None,
        max_queue: int = 10_000,
        overflow: Overflow = "drop_oldest",
        create_stream: bool = True,
    ) -> None:
        self.stream = stream
        self.sink = LogSink(
            connect(access_token, account_endpoint, basin_endpoint),
            basin,
            max_queue=max_queue,
            overflow=overflow,
            batching=Batching(),
            create_streams=create_stream,
            max_streams=1,
            render=_render,
        )

    def __call__(self, *args: Any) -> S2Logger:
        return S2Logger(self, str(args[0]) if args else None)

    @property
    def dropped(self) -> int:
        """Events dropped because the queue was full."""
        return self.sink.dropped

    def flush(self, timeout: float = 5.0) -> None:
        """Wait (bounded) until queued events are acknowledged."""
        self.sink.flush(timeout)

    def close(self, timeout: float = 5.0) -> None:
        """Flush (bounded) and stop."""
        self.sink.close(timeout)
