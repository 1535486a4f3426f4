"""Celery events in S2: workers write them straight to a stream, and history replays.

- :class:`S2Events` (``Celery(events="s2_celery.events:S2Events")``) gives workers an
  event dispatcher that appends every event to S2 (JSON, headers ``type``,
  ``hostname``, ``uuid``) and, by default, still publishes it to the broker. Events
  then work even on brokers without event support (``s2_events_tee = False``).
- :class:`S2EventReceiver` mirrors Celery's ``EventReceiver`` (handlers by type or
  ``"*"``, ``capture``, ``itercapture``) over a read session, from any seq num,
  timestamp or tail offset, so ``celery.events.state.State`` can be rebuilt.

Settings: ``s2_events_basin`` (default: the basin of an ``s2://`` result backend),
``s2_events_stream`` (default ``celery-events``), ``s2_events_tee`` (default True).
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable, Iterator
from typing import Any

from celery.app.events import Events
from celery.events.dispatcher import EventDispatcher
from s2_sdk import Record, SeqNum, TailOffset, Timestamp
from s2_sdk.sync import S2, PerProcess, Producer, connect

__all__ = ["S2EventDispatcher", "S2EventReceiver", "S2Events", "event_record"]

Handler = Callable[[dict[str, Any]], Any]


def _where(app: Any) -> tuple[S2, str, str]:
    """(client, basin, stream) for an app's events."""
    from s2_celery.backend import S2Backend

    conf = app.conf
    stream = conf.get("s2_events_stream") or "celery-events"
    backend = app.backend
    if isinstance(backend, S2Backend):
        return backend.client, conf.get("s2_events_basin") or backend.basin, stream
    basin = conf.get("s2_events_basin") or os.environ.get("S2_CELERY_BASIN")
    if not basin:
        raise ValueError("set s2_events_basin (or use an s2:// result backend)")
    return connect(), basin, stream


def event_record(event: dict[str, Any]) -> Record:
    """A Celery event as an S2 record: JSON body, ``type``/``hostname``/``uuid`` headers."""
    headers = [
        (name.encode(), str(event[name]).encode())
        for name in ("type", "hostname", "uuid")
        if event.get(name) is not None
    ]
    return Record(body=json.dumps(event, default=repr).encode(), headers=headers)


class S2EventDispatcher(EventDispatcher):  # type: ignore[misc]
    """An event dispatcher that appends events to an S2 stream (and, by default, the broker)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._s2_producer = PerProcess(self._open_producer)
        self._tee = bool(self.app.conf.get("s2_events_tee", True))

    def _open_producer(self) -> Producer:
        client, basin, stream = _where(self.app)
        client[basin].create_stream_if_missing(stream)
        return client[basin][stream].producer()

    def _publish(self, event: Any, producer: Any, routing_key: str, **kwargs: Any) -> None:
        s2_producer = self._s2_producer.get()
        for item in event if isinstance(event, list) else [event]:
            s2_producer.submit(event_record(item))
        if self._tee:
            super()._publish(event, producer, routing_key, **kwargs)

    def flush(self, errors: bool = True, groups: bool = True) -> None:
        super().flush(errors=errors, groups=groups)
        s2_producer = self._s2_producer.peek()
        if s2_producer is not None:
            s2_producer.flush()

    def close(self) -> None:
        super().close()
        s2_producer = self._s2_producer.peek()
        if s2_producer is not None:
            s2_producer.close()
            self._s2_producer = PerProcess(self._open_producer)  # reopened if used again


class S2Events(Events):  # type: ignore[misc]
    """``app.events`` whose dispatchers also write to S2."""

    dispatcher_cls = "s2_celery.events:S2EventDispatcher"


class S2EventReceiver:
    """Replays (and follows) Celery events stored in S2, like ``EventReceiver``."""

    def __init__(
        self,
        app: Any,
        handlers: dict[str, Handler] | None = None,
        *,
        start: SeqNum | Timestamp | TailOffset | None = None,
        basin: str | None = None,
        stream: str | None = None,
    ) -> None:
        client, default_basin, default_stream = _where(app)
        self.client = client
        self.basin = basin or default_basin
        self.stream = stream or default_stream
        self.handlers = handlers or {}
        self.start = start or SeqNum(0)
        self.position: int | None = None
        """Sequence number after the last event delivered (to resume from later)."""

    def itercapture(
        self, limit: int | None = None, timeout: float | None = None
    ) -> Iterator[dict[str, Any]]:
        """Yield events from the start position, following live ones.

        Stops after ``limit`` events, or once ``timeout`` seconds pass without one.
        """
        wait = None if timeout is None else max(int(timeout), 1)
        session = self.client[self.basin][self.stream].read_session(
            start=self.start, clamp_to_tail=True, wait=wait
        )
        count = 0
        with session:
            for batch in session:
                for record in batch.records:
                    event = json.loads(record.body)
                    event["local_received"] = time.time()
                    self.position = record.seq_num + 1
                    yield event
                    count += 1
                    if limit is not None and count >= limit:
                        return

    def capture(self, limit: int | None = None, timeout: float | None = None) -> None:
        """Call the handlers for each event (``"*"`` catches every type)."""
        for event in self.itercapture(limit, timeout):
            handler = self.handlers.get(event.get("type", "")) or self.handlers.get("*")
            if handler is not None:
                handler(event)
