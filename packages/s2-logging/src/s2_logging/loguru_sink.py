"""A loguru sink: ``logger.add(S2LoguruSink("my-basin", "logs"))``.

Each message becomes one S2 record with the body :class:`~s2_logging.S2Handler` writes
(the same JSON keys, so one reader serves both): loguru's ``extra`` fields (from
``bind``, ``contextualize`` and keyword arguments) stay fields under ``extra``, and an
exception is kept as ``exception`` (type, message, traceback), never flattened into the
message. The caller only captures the message and queues it: rendering and delivery
happen on the ``s2_sdk`` background thread, and nothing blocks on the network. A forked
child delivers its own messages. loguru itself is not needed to import this module.
"""

from __future__ import annotations

import traceback
from typing import Any

from s2_sdk import Batching, Record
from s2_sdk.sync import connect, on_background_thread

from s2_logging._format import Event, active_trace, render_event
from s2_logging._sink import Entry, LogSink, Overflow
from s2_logging.handler import _HOST, _JSON, encode_record

__all__ = ["S2LoguruSink"]


def _exception(exc: Any) -> tuple[str | None, str | None, str] | None:
    """loguru's ``record["exception"]`` (type, value, traceback) as the body's fields."""
    if exc is None or exc.type is None:
        return None
    text = "".join(traceback.format_exception(exc.type, exc.value, exc.traceback))
    return (exc.type.__qualname__, str(exc.value), text)


class S2LoguruSink:
    """Writes loguru messages to an S2 stream without ever blocking the caller.

    Args:
        basin: The basin to write to.
        stream: Stream name, or a template with ``{name}`` (the module that logged),
            ``{levelname}`` or ``{hostname}``.
        access_token: Defaults to ``S2_ACCESS_TOKEN``.
        account_endpoint: Defaults to ``S2_ACCOUNT_ENDPOINT`` (else the S2 cloud).
        basin_endpoint: Defaults to ``S2_BASIN_ENDPOINT`` (else the account endpoint).
        max_queue: Messages kept while S2 is slow or unreachable; beyond it messages are
            dropped and counted in :attr:`dropped`.
        overflow: ``"drop_oldest"`` (default) or ``"drop_newest"`` when the queue is full.
        create_stream: Create streams that do not exist yet.

    Messages still queued are delivered at exit (bounded), or by :meth:`drain`;
    ``logger.remove()`` closes the sink.
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
        self.stream_template = stream
        self._templated = "{" in stream
        self._headers: dict[tuple[str, str], tuple[tuple[bytes, bytes], ...]] = {}
        self._sink = LogSink(
            connect(access_token, account_endpoint, basin_endpoint),
            basin,
            max_queue=max_queue,
            overflow=overflow,
            batching=Batching(),
            create_streams=create_stream,
            max_streams=64,
            render=_render,
        )

    def write(self, message: Any) -> None:
        """Queue one loguru message (loguru calls this; never raises for bad fields)."""
        if on_background_thread():
            return  # what delivery itself logs
        record = message.record
        level, name = record["level"].name, record["name"] or ""
        extra = record["extra"]
        thread, process = record["thread"], record["process"]
        event: Event = (
            record["time"].timestamp(),
            level,
            name,
            record["message"],
            tuple(sorted(extra.items())) if extra else None,
            _exception(record["exception"]),
            None,
            process.id,
            thread.id,
            thread.name,
            active_trace(),
        )
        headers = self._headers.get((level, name))
        if headers is None:
            headers = ((b"level", level.encode()), (b"logger", name.encode()), _JSON)
            if len(self._headers) > 1024:
                self._headers.clear()
            self._headers[(level, name)] = headers
        stream = self.stream_template
        if self._templated:
            stream = stream.format(name=name, levelname=level, hostname=_HOST)
        self._sink.put((stream, int(event[0] * 1000), headers, event))

    @property
    def dropped(self) -> int:
        """Messages dropped because the queue was full (or the sink closed)."""
        return self._sink.dropped

    @property
    def delivered(self) -> int:
        """Messages acknowledged by S2."""
        return self._sink.delivered

    def drain(self, timeout: float = 5.0) -> bool:
        """Wait, at most ``timeout`` seconds, until queued messages are acknowledged;
        whether they all were."""
        return self._sink.flush(timeout)

    def stop(self, timeout: float = 5.0) -> None:
        """Deliver what is queued (bounded) and release the sink (``logger.remove()``
        calls this)."""
        self._sink.close(timeout)


def _render(entry: Entry) -> Record:
    """A queued message, ``(stream, timestamp, headers, event)``, as a record."""
    return encode_record(render_event(entry[3]), entry[2], entry[1])
