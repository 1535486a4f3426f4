"""structlog both ways, and reading logs back (function and `tail --follow`)."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import time
from datetime import timedelta

import structlog
from s2_logging import S2Handler, S2LoggerFactory, read_log_events
from s2_sdk.sync import S2, read_records


def test_handler_under_processor_formatter(client: S2, basin: str) -> None:
    handler = S2Handler(basin, "sl-stdlib")
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            processors=[
                structlog.stdlib.ProcessorFormatter.remove_processors_meta,
                structlog.processors.JSONRenderer(),
            ]
        )
    )
    log = logging.getLogger("sl")
    log.addHandler(handler)
    log.propagate = False
    log.setLevel(logging.INFO)
    logger = structlog.wrap_logger(
        log,
        processors=[
            structlog.stdlib.add_log_level,
            structlog.stdlib.ProcessorFormatter.wrap_for_formatter,
        ],
        wrapper_class=structlog.stdlib.BoundLogger,
    )
    logger.info("paid", amount=12)
    handler.flush()
    log.removeHandler(handler)
    handler.close()
    (record,) = list(read_records(basin, "sl-stdlib", client=client))
    assert json.loads(record.body) == {"event": "paid", "amount": 12, "level": "info"}


def test_native_sink_rendered_and_dict(client: S2, basin: str) -> None:
    factory = S2LoggerFactory(basin, "sl-native")
    rendered = structlog.wrap_logger(
        factory("svc"),
        processors=[structlog.processors.add_log_level, structlog.processors.JSONRenderer()],
    )
    rendered.warning("disk low", free=5)
    as_dict = structlog.wrap_logger(
        factory("svc"),
        processors=[structlog.processors.add_log_level, lambda _, __, event: ((), event)],
    )
    as_dict.error("boom", code=7)
    factory.close()
    first, second = list(read_records(basin, "sl-native", client=client))
    assert json.loads(first.body) == {"free": 5, "event": "disk low", "level": "warning"}
    assert dict(first.headers)[b"level"] == b"warning"
    body = json.loads(second.body)
    assert body["event"] == "boom" and body["code"] == 7 and body["logger"] == "svc"
    assert dict(second.headers)[b"logger"] == b"svc"


def test_read_log_events_filters(client: S2, basin: str) -> None:
    handler = S2Handler(basin, "read")
    log = logging.getLogger("reader")
    log.addHandler(handler)
    log.propagate = False
    log.setLevel(logging.DEBUG)
    log.info("info line")
    log.error("error line")
    handler.close()
    events = list(read_log_events(basin, "read", client=client))
    assert [e["message"] for e in events] == ["info line", "error line"]
    assert [e["message"] for e in read_log_events(basin, "read", level="ERROR", client=client)] == [
        "error line"
    ]
    assert list(read_log_events(basin, "read", since=timedelta(seconds=60), client=client))
    assert events[0]["seq_num"] == 0


def test_tail_follow_shows_a_record_appended_after_it_started(client: S2, basin: str) -> None:
    client[basin].create_stream("follow")
    proc = subprocess.Popen(
        [sys.executable, "-m", "s2_logging", "tail", basin, "follow", "--follow", "--json"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=os.environ,
    )
    try:
        time.sleep(1.5)
        handler = S2Handler(basin, "follow")
        log = logging.getLogger("late")
        log.addHandler(handler)
        log.propagate = False
        log.warning("appended after tail started")
        handler.close()
        assert proc.stdout is not None
        line = proc.stdout.readline()
        assert json.loads(line)["message"] == "appended after tail started"
    finally:
        proc.terminate()
        proc.communicate(timeout=10)


def test_tail_shows_extra_fields_and_the_trace(client: S2, basin: str) -> None:
    from opentelemetry.sdk.trace import TracerProvider

    handler = S2Handler(basin, "readable")
    log = logging.getLogger("shop")
    log.addHandler(handler)
    log.propagate = False
    tracer = TracerProvider().get_tracer("t")
    with tracer.start_as_current_span("place") as span:
        log.warning("order placed", extra={"order_id": "o-1", "note": "two words"})
        trace_id = format(span.get_span_context().trace_id, "032x")
    handler.close()
    log.removeHandler(handler)
    done = subprocess.run(
        [sys.executable, "-m", "s2_logging", "tail", basin, "readable"],
        capture_output=True, text=True, timeout=60, env=os.environ,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    (line,) = done.stdout.splitlines()
    assert line.endswith(
        f'WARNING  shop: order placed  note="two words" order_id=o-1 trace_id={trace_id}'
    ), line
