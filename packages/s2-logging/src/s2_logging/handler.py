"""``S2Handler``: a logging handler that turns log records into S2 records."""

from __future__ import annotations

import logging
import socket
from collections.abc import Iterable, Sequence
from operator import attrgetter
from typing import Any

from s2_sdk import Batching, Record
from s2_sdk.protocol import MAX_RECORD_METERED_BYTES, metered_size
from s2_sdk.sync import connect, on_background_thread

from s2_logging._format import capture, render_event
from s2_logging._sink import Entry, LogSink, Overflow
from s2_logging.celery_workers import keep_root_handlers

__all__ = ["S2Handler"]

_HOST = socket.gethostname()
_TRUNCATED = b"s2-truncated"
_JSON = (b"content-type", b"application/json")
_ATTRIBUTES = {"level": "levelname", "logger": "name"}
_MAX_CACHED_HEADERS = 1024


def encode_record(
    body: bytes, headers: Sequence[tuple[bytes, bytes]], timestamp: int | None
) -> Record:
    """A record within the 1 MiB limit: oversized bodies are cut, marked by a header."""
    if metered_size(headers, body) <= MAX_RECORD_METERED_BYTES:
        return Record(body=body, headers=list(headers), timestamp=timestamp)
    marked = [*headers, (_TRUNCATED, str(len(body)).encode())]
    room = MAX_RECORD_METERED_BYTES - metered_size(marked, b"")
    return Record(body=body[: max(room, 0)], headers=marked, timestamp=timestamp)


class S2Handler(logging.Handler):
    """Writes log records to an S2 stream without ever blocking the caller.

    ``emit`` captures the record and queues it: with the default body, what the JSON
    needs is read at call time and the JSON is rendered on the shared ``s2_sdk``
    background loop; a formatter set on the handler runs in ``emit``. Delivery runs
    on that loop through one append session per stream. Records produced by that
    delivery (the ``s2_sdk``, ``h2`` and ``asyncio`` loggers on the background thread) are
    ignored.

    Args:
        basin: The basin to write to.
        stream: Stream name, or a template with ``{name}`` (logger name),
            ``{levelname}`` or ``{hostname}``, e.g. ``"logs/{name}"``.
        access_token: Defaults to ``S2_ACCESS_TOKEN``.
        account_endpoint: Defaults to ``S2_ACCOUNT_ENDPOINT`` (else the S2 cloud).
        basin_endpoint: Defaults to ``S2_BASIN_ENDPOINT`` (else the account endpoint).
        level: The handler's level.
        max_queue: Records kept while S2 is slow or unreachable; beyond it records are
            dropped and counted in :attr:`dropped`.
        overflow: ``"drop_oldest"`` (default) or ``"drop_newest"`` when the queue is full.
        max_batch_records: Most records per appended batch (1–1000); batches take what
            is queued, so a lone record goes out at once and bursts go out together.
        flush_timeout: Bound, in seconds, on ``flush()`` and ``close()``.
        header_fields: Record attributes copied into S2 headers (``level`` and
            ``logger`` are the level name and logger name).
        create_stream: Create streams that do not exist yet.
        max_streams: Streams kept open at once (least recently used ones close).
    """

    def __init__(
        self,
        basin: str,
        stream: str = "logs",
        *,
        access_token: str | None = None,
        account_endpoint: str | None = None,
        basin_endpoint: str | None = None,
        level: int | str = logging.NOTSET,
        max_queue: int = 10_000,
        overflow: Overflow = "drop_oldest",
        max_batch_records: int = 1000,
        flush_timeout: float = 5.0,
        header_fields: Iterable[str] = ("level", "logger"),
        create_stream: bool = True,
        max_streams: int = 64,
    ) -> None:
        super().__init__(level)
        self.stream_template = stream
        self.flush_timeout = float(flush_timeout)
        self.header_fields = tuple(header_fields)
        self._templated = "{" in stream
        self._header_cache: dict[Any, tuple[tuple[bytes, bytes], ...]] = {}
        self._header_names = tuple(field.encode() for field in self.header_fields)
        self._header_attributes = tuple(_ATTRIBUTES.get(f, f) for f in self.header_fields)
        self._header_values = (  # one C call reads every header field
            attrgetter(*self._header_attributes) if self._header_attributes else None
        )
        client = connect(access_token, account_endpoint, basin_endpoint)
        self._sink = LogSink(
            client,
            basin,
            max_queue=max_queue,
            overflow=overflow,
            batching=Batching(max_records=max_batch_records),
            create_streams=create_stream,
            max_streams=max_streams,
            render=self._render,
        )
        self._closed = False
        keep_root_handlers()

    @property
    def dropped(self) -> int:
        """Records dropped because the queue was full (or the handler closed)."""
        return self._sink.dropped

    @property
    def delivered(self) -> int:
        """Records acknowledged by S2."""
        return self._sink.delivered

    def stream_for(self, record: logging.LogRecord) -> str:
        """The stream a record goes to."""
        if not self._templated:
            return self.stream_template
        return self.stream_template.format(
            name=record.name, levelname=record.levelname, hostname=_HOST
        )

    def _capture_headers(self, record: logging.LogRecord) -> tuple[Any, ...]:
        if self._header_values is None:
            return ()
        try:
            values = self._header_values(record)
            return values if len(self._header_attributes) > 1 else (values,)
        except AttributeError:  # a field this record does not have: an empty value
            return tuple(getattr(record, a, "") for a in self._header_attributes)

    def emit(self, record: logging.LogRecord) -> None:
        """Queue the record for S2 (never blocks on the network, never raises).

        With the default JSON body, what the body needs is captured here and the JSON
        is rendered on the delivery thread. A user formatter runs here.
        """
        if on_background_thread():
            return
        try:
            # One flat tuple per record (the fewer objects queued, the shorter the
            # collector's pauses on the caller's thread): stream, timestamp, encoded
            # headers, then the captured event or the formatted body.
            formatted = self.formatter is not None
            payload = (self.format(record).encode(),) if formatted else capture(record)
            headers = self._headers_for(self._capture_headers(record), formatted)
            stream, timestamp = self.stream_for(record), int(record.created * 1000)
            self._sink.put((stream, timestamp, headers, *payload))
        except Exception:
            self.handleError(record)

    def _render(self, entry: Entry) -> Record:
        """A queued entry (``(stream, timestamp, headers, *payload)``, made by :meth:`emit`)
        as a record, on the delivery thread. The payload is the formatted body (bytes),
        or the event fields :func:`capture` took, for :func:`render_event`."""
        timestamp, headers, payload = entry[1], entry[2], entry[3]
        body = payload if isinstance(payload, bytes) else render_event(entry[3:])
        return encode_record(body, headers, timestamp)

    def _headers_for(
        self, values: tuple[Any, ...], formatted: bool
    ) -> tuple[tuple[bytes, bytes], ...]:
        """Encoded headers for captured field values.

        Cached, so that queued records share one (long-lived) header object.
        """
        key: tuple[tuple[Any, ...], bool] | None = (values, formatted)
        try:
            return self._header_cache[key]
        except KeyError:
            pass
        except TypeError:  # an unhashable field value
            key = None
        names = self._header_names
        headers = tuple(
            (name, str(value).encode()) for name, value in zip(names, values, strict=True)
        ) + (() if formatted else (_JSON,))
        if key is not None:
            if len(self._header_cache) >= _MAX_CACHED_HEADERS:
                self._header_cache.clear()
            self._header_cache[key] = headers
        return headers

    def flush(self) -> None:
        """Wait, at most ``flush_timeout``, until queued records are acknowledged.

        Stops waiting early if the delivery loop is blocked, which it can be when the
        caller holds logging's module lock (``dictConfig`` flushes and closes handlers
        so): delivery then finishes in the background.
        """
        self._sink.flush(self.flush_timeout)

    def close(self) -> None:
        """Flush (bounded, as :meth:`flush`) and release the handler; safe to call twice."""
        if self._closed:
            return
        self._closed = True
        try:
            self._sink.close(self.flush_timeout)
        finally:
            super().close()
