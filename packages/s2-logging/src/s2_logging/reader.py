"""Reading logs back: parsed events from a stream, and the ``tail`` command."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

from s2_sdk import SeqNum, Timestamp
from s2_sdk.sync import S2, read_records

__all__ = ["LEVELS", "read_log_events"]

LEVELS = {"DEBUG": 10, "INFO": 20, "WARNING": 30, "ERROR": 40, "CRITICAL": 50}


def read_log_events(
    basin: str,
    stream: str,
    *,
    since: timedelta | None = None,
    level: str | None = None,
    follow: bool = False,
    client: S2 | None = None,
) -> Iterator[dict[str, Any]]:
    """Yield log events (parsed JSON bodies) from a stream, oldest first.

    Each event also carries ``seq_num`` and ``s2_timestamp`` (ms). Records whose body
    is not a JSON object are yielded as ``{"message": <text>}``.

    Args:
        since: Only events of the last ``since`` (default: from the start).
        level: Minimum level name (``"WARNING"`` keeps WARNING, ERROR, CRITICAL).
        follow: Keep waiting for new events instead of stopping at the tail.
        client: A blocking client (default: from the ``S2_*`` environment variables).
    """
    import time

    start: SeqNum | Timestamp = SeqNum(0)
    if since is not None:
        start = Timestamp(max(int((time.time() - since.total_seconds()) * 1000), 0))
    minimum = LEVELS.get((level or "").upper(), 0)
    for record in read_records(basin, stream, start=start, follow=follow, client=client):
        try:
            event = json.loads(record.body)
        except ValueError:
            event = None
        if not isinstance(event, dict):
            event = {"message": record.body.decode(errors="replace")}
        if LEVELS.get(str(event.get("level", "")).upper(), 0) < minimum:
            continue
        event["seq_num"] = record.seq_num
        event["s2_timestamp"] = record.timestamp
        yield event
