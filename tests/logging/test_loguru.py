"""The loguru sink against s2-local: fields and exceptions kept as fields, the caller never
waits on the network, a forked child delivers its own messages, the last messages before
exit are delivered."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator

import pytest
from loguru import logger
from s2_logging import S2LoguruSink
from s2_sdk.sync import S2, read_records


@pytest.fixture
def sink_on(basin: str) -> Iterator[tuple[S2LoguruSink, str]]:
    """A sink writing to ``loguru`` in ``basin``, added to loguru (alone: no stderr)."""
    logger.remove()
    sink = S2LoguruSink(basin, "loguru")
    sink_id = logger.add(sink, level="DEBUG")
    yield sink, basin
    logger.remove(sink_id)
    logger.add(sys.stderr)


def _events(client: S2, basin: str, stream: str = "loguru") -> list[dict[str, object]]:
    return [json.loads(r.body) for r in read_records(basin, stream, client=client)]


def test_fields_and_exceptions_stay_fields(client: S2, sink_on: tuple[S2LoguruSink, str]) -> None:
    sink, basin = sink_on
    with logger.contextualize(request_id="r-1"):
        logger.bind(order_id=42).info("order {} placed", "A7", amount=12.5)
    try:
        {}["missing"]
    except KeyError:
        logger.opt(exception=True).error("lookup failed")
    assert sink.drain(10) and sink.delivered == 2
    placed, failed = _events(client, basin)
    assert placed["message"] == "order A7 placed" and placed["level"] == "INFO"
    assert placed["extra"] == {"amount": 12.5, "order_id": 42, "request_id": "r-1"}
    assert placed["logger"] == __name__ and "exception" not in placed
    assert failed["message"] == "lookup failed"  # not flattened with the traceback
    assert failed["exception"]["type"] == "KeyError"
    assert failed["exception"]["message"] == "'missing'"
    assert "Traceback (most recent call last)" in failed["exception"]["traceback"]
    records = list(read_records(basin, "loguru", client=client))
    assert dict(records[1].headers)[b"level"] == b"ERROR"


def test_the_caller_never_waits_on_an_unreachable_s2() -> None:
    script = textwrap.dedent(
        """
        import time
        from loguru import logger
        from s2_logging import S2LoguruSink
        logger.remove()
        sink = S2LoguruSink("nowhere-basin", "x", max_queue=100)
        logger.add(sink)
        worst = 0.0
        for i in range(2000):
            start = time.perf_counter()
            logger.info("line {}", i)
            worst = max(worst, time.perf_counter() - start)
        print(f"{worst * 1000:.1f} {sink.dropped}")
        sink.stop(0.5)
        """
    )
    env = {
        **os.environ,
        "S2_ACCESS_TOKEN": "t",
        "S2_ACCOUNT_ENDPOINT": "http://127.0.0.1:9",  # nothing listens there
        "S2_BASIN_ENDPOINT": "http://127.0.0.1:9",
    }
    started = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60, env=env
    )
    assert done.returncode == 0, done.stderr
    worst_ms, dropped = done.stdout.split()
    assert float(worst_ms) < 50  # no call waited for the network
    assert int(dropped) >= 1800  # beyond the queue's 100: dropped and counted
    assert time.monotonic() - started < 30
    assert "Traceback" not in done.stderr, done.stderr


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")
def test_a_forked_child_delivers_its_own(client: S2, sink_on: tuple[S2LoguruSink, str]) -> None:
    sink, basin = sink_on
    logger.info("parent")
    assert sink.drain(10)
    pid = os.fork()
    if pid == 0:
        code = 1
        try:
            logger.info("child")
            code = 0 if sink.drain(10) and sink.delivered == 1 else 2
        finally:
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    logger.info("parent again")
    assert sink.drain(10)
    assert [e["message"] for e in _events(client, basin)] == ["parent", "child", "parent again"]


def test_the_last_messages_before_exit_are_delivered(client: S2, basin: str) -> None:
    script = textwrap.dedent(
        f"""
        from loguru import logger
        from s2_logging import S2LoguruSink
        logger.remove()
        logger.add(S2LoguruSink({basin!r}, "exit"))
        for i in range(2000):
            logger.info("line {{}}", i)
        """
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert done.returncode == 0 and not done.stderr, done.stderr
    messages = [e["message"] for e in _events(client, basin, "exit")]
    assert messages == [f"line {i}" for i in range(2000)]
