"""``celery s2-events``: capture the broker's task and worker events into an S2 stream.

Like ``celery events --camera`` or Flower, it listens on the broker's event
exchange (workers need ``-E`` / ``worker_send_task_events``); every event is
appended to S2 as JSON with ``type``/``hostname``/``uuid`` headers.
"""

from __future__ import annotations

import contextlib
from typing import Any

import click
from celery.bin.base import CeleryCommand

from s2_celery.events import _where, event_record

__all__ = ["capture_events", "s2_events"]


def capture_events(
    app: Any,
    *,
    limit: int | None = None,
    timeout: float | None = None,
    heartbeats: bool = False,
    ready: Any = None,
) -> int:
    """Append broker events to S2 until ``limit`` events or ``timeout`` seconds idle.

    Returns the number of events captured. ``worker-heartbeat`` events are skipped
    unless ``heartbeats`` is set. ``ready`` (an Event) is set once listening.
    """
    client, basin, stream = _where(app)
    client[basin].create_stream_if_missing(stream)
    producer = client[basin][stream].producer()
    captured = 0

    def on_event(event: dict[str, Any]) -> None:
        nonlocal captured
        if event.get("type") == "worker-heartbeat" and not heartbeats:
            return
        producer.submit(event_record(event))
        captured += 1

    try:
        with app.connection_for_read() as connection:
            receiver = app.events.Receiver(connection, handlers={"*": on_event})
            if ready is not None:
                ready.set()
            with contextlib.suppress(TimeoutError):
                receiver.capture(limit=limit, timeout=timeout, wakeup=True)
    finally:
        producer.close()
    return captured


@click.command(cls=CeleryCommand, name="s2-events")
@click.option("--heartbeats", is_flag=True, help="also keep worker-heartbeat events")
@click.pass_context
def s2_events(ctx: click.Context, heartbeats: bool) -> None:
    """Capture task and worker events from the broker into S2 (Ctrl-C to stop)."""
    app = ctx.obj.app
    _, basin, stream = _where(app)
    click.echo(f"capturing events into s2://{basin}/{stream}")
    with contextlib.suppress(KeyboardInterrupt):
        capture_events(app, heartbeats=heartbeats)
