"""``S2Handler``: a logging handler that turns log records into S2 records."""

from __future__ import annotations

import logging
import socket
from collections.abc import Iterable

from s2_sdk import Batching, Record
from s2_sdk._bridge import on_bridge_thread
from s2_sdk.protocol import MAX_RECORD_METERED_BYTES
from s2_sdk.sync import connect

from s2_logging._format import event_of, render_event
from s2_logging._sink import LogSink, Overflow

__all__ = ["S2Handler"]

_HOST = socket.gethostname()
_TRUNCATED = b"s2-truncated"


def encode_record(body: bytes, headers: list[tuple[bytes, bytes]], timestamp: int | None) -> Record:
    """A record within the 1 MiB limit: oversized bodies are cut, marked by a header."""
    size = 8 + len(body) + sum(2 + len(n) + len(v) for n, v in headers)
    if size > MAX_RECORD_METERED_BYTES:
        marker = (_TRUNCATED, str(len(body)).encode())
        room = MAX_RECORD_METERED_BYTES - (size - len(body)) - (2 + len(marker[0]) + len(marker[1]))
        body = body[: max(room, 0)]
        headers = [*headers, marker]
    return Record(body=body, headers=headers, timestamp=timestamp)


class S2Handler(logging.Handler):
    """Writes log records to an S2 stream without ever blocking the caller.

    ``emit`` formats the record (JSON by default, or the handler's formatter) and
    queues it; delivery runs on the shared ``s2_sdk`` background loop through one
    append session per stream. Records produced by that delivery (the ``s2_sdk``,
    ``h2`` and ``asyncio`` loggers on the bridge thread) are ignored.

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
        client = connect(access_token, account_endpoint, basin_endpoint)
        self._sink = LogSink(
            client,
            basin,
            max_queue=max_queue,
            overflow=overflow,
            batching=Batching(max_records=max_batch_records),
            create_streams=create_stream,
            max_streams=max_streams,
            render=_render,
        )
        self._closed = False

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

    def _headers(self, record: logging.LogRecord) -> list[tuple[str, str]]:
        headers = []
        for field in self.header_fields:
            if field == "level":
                value = record.levelname
            elif field == "logger":
                value = record.name
            else:
                value = str(getattr(record, field, ""))
            headers.append((field, value))
        return headers

    def emit(self, record: logging.LogRecord) -> None:
        """Queue the record for S2 (never blocks on the network, never raises).

        With the default JSON body, only the record's fields are captured here; the
        JSON is rendered on the bridge thread. A user formatter runs here.
        """
        if on_bridge_thread():
            return
        try:
            headers = self._headers(record)
            timestamp = int(record.created * 1000)
            if self.formatter is None:
                item: object = (event_of(record), headers, timestamp)
            else:
                body = self.formatter.format(record).encode()
                item = encode_record(body, _encode_headers(headers), timestamp)
            self._sink.put(self.stream_for(record), item)
        except Exception:
            self.handleError(record)

    def flush(self) -> None:
        """Wait, at most ``flush_timeout``, until queued records are acknowledged.

        Does not wait when called with logging's module lock held (``dictConfig``),
        where waiting could deadlock.
        """
        if _holds_logging_lock():
            return
        self._sink.flush(self.flush_timeout)

    def close(self) -> None:
        """Flush (bounded) and release the handler; safe to call twice."""
        if self._closed:
            return
        self._closed = True
        try:
            if _holds_logging_lock():
                self._sink.close_soon()
            else:
                self._sink.close(self.flush_timeout)
        finally:
            super().close()

    def _at_fork_reinit(self) -> None:
        super()._at_fork_reinit()  # type: ignore[misc]
        self._sink.reset_after_fork()


def _encode_headers(headers: list[tuple[str, str]]) -> list[tuple[bytes, bytes]]:
    return [(name.encode(), value.encode()) for name, value in headers]


def _render(item: tuple[dict[str, object], list[tuple[str, str]], int]) -> Record:
    event, headers, timestamp = item
    encoded = [*_encode_headers(headers), (b"content-type", b"application/json")]
    return encode_record(render_event(event), encoded, timestamp)


def _holds_logging_lock() -> bool:
    lock = getattr(logging, "_lock", None)
    is_owned = getattr(lock, "_is_owned", None)
    return bool(is_owned and is_owned())
