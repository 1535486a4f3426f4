"""``python -m s2_logging tail BASIN STREAM [--since 10m] [--level LEVEL] [--follow] [--json]``.

One line per event: time, level, logger, message, its extra fields as ``key=value`` and
the ``trace_id`` of the span it was logged in; then the traceback, if any.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from datetime import timedelta
from typing import Any

from s2_logging.reader import read_log_events

_COLORS = {
    "DEBUG": "\033[2m",
    "INFO": "",
    "WARNING": "\033[33m",
    "ERROR": "\033[31m",
    "CRITICAL": "\033[1;31m",
}
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days"}


def _duration(text: str) -> timedelta:
    match = re.fullmatch(r"(\d+)([smhd])", text)
    if not match:
        raise argparse.ArgumentTypeError(
            f"expected a duration like 30s, 10m, 2h or 1d, not {text!r}"
        )
    return timedelta(**{_UNITS[match.group(2)]: int(match.group(1))})


def _context(event: dict[str, Any]) -> str:
    """An event's extra fields as ``key=value``, then the trace it belongs to."""
    parts = []
    extra = event.get("extra")
    if isinstance(extra, dict):
        for key, value in extra.items():
            shown = value if isinstance(value, str) and " " not in value else json.dumps(value)
            parts.append(f"{key}={shown}")
    if event.get("trace_id"):
        parts.append(f"trace_id={event['trace_id']}")
    return "  " + " ".join(parts) if parts else ""


def main(argv: list[str] | None = None) -> None:
    """Entry point of ``python -m s2_logging``."""
    parser = argparse.ArgumentParser(prog="python -m s2_logging")
    sub = parser.add_subparsers(dest="command", required=True)
    tail = sub.add_parser("tail", help="print log events from a stream")
    tail.add_argument("basin")
    tail.add_argument("stream")
    tail.add_argument("--since", type=_duration, help="only the last DURATION (30s, 10m, 2h, 1d)")
    tail.add_argument("--level", help="minimum level (DEBUG, INFO, WARNING, ERROR, CRITICAL)")
    tail.add_argument("--follow", "-f", action="store_true", help="keep printing new events")
    tail.add_argument("--json", action="store_true", help="print each event as JSON")
    args = parser.parse_args(argv)
    color = sys.stdout.isatty() and not args.json
    try:
        for event in read_log_events(
            args.basin, args.stream, since=args.since, level=args.level, follow=args.follow
        ):
            if args.json:
                print(json.dumps(event, ensure_ascii=False), flush=True)
                continue
            level = str(event.get("level", "")).upper()
            line = (
                f"{event.get('timestamp', event['s2_timestamp'])} {level:<8} "
                f"{event.get('logger', '-')}: {event.get('message', '')}{_context(event)}"
            )
            if "exception" in event:
                line += "\n" + str(event["exception"].get("traceback", "")).rstrip()
            if color and _COLORS.get(level):
                line = f"{_COLORS[level]}{line}\033[0m"
            print(line, flush=True)
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
