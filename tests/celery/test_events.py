"""Celery events written to S2 by the workers' dispatcher, replayed into celery's State."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator

import pytest
from celery import Celery
from celery.contrib.testing.worker import start_worker
from celery.events.state import State
from s2_celery import S2EventReceiver
from s2_local.pytest_plugin import S2TestServer
from s2_sdk import SeqNum
from s2_sdk.sync import connect
from support.rest import unique_basin

BROKER = "redis://127.0.0.1:6379/14"


@pytest.fixture
def app(s2_env: S2TestServer) -> Iterator[Celery]:
    with connect() as client:
        basin = unique_basin()
        client.create_basin(basin)
        app = Celery(
            f"ev{uuid.uuid4().hex[:6]}",
            broker=BROKER,
            backend=f"s2://{basin}/results",
            events="s2_celery.events:S2Events",
        )
        app.conf.update(
            worker_send_task_events=True,
            task_send_sent_event=True,
            task_default_queue=f"q-{uuid.uuid4().hex[:8]}",
        )

        @app.task(name="double", shared=False)
        def double(x: int) -> int:
            return 2 * x

        @app.task(name="fail", shared=False)
        def fail() -> None:
            raise RuntimeError("nope")

        yield app
        client.delete_basin(basin, ignore_not_found=True)


def test_worker_events_replay_into_state(app: Celery) -> None:
    with start_worker(app, pool="threads", perform_ping_check=False, loglevel="WARNING"):
        ok = app.tasks["double"].delay(21)
        bad = app.tasks["fail"].delay()
        assert ok.get(timeout=20) == 42
        with pytest.raises(RuntimeError):
            bad.get(timeout=20)
        time.sleep(0.5)
    state = State()
    seen: list[str] = []

    def on_event(event: dict) -> None:
        seen.append(event["type"])
        state.event(event)

    receiver = S2EventReceiver(app, {"*": on_event}, start=SeqNum(0))
    receiver.capture(timeout=1)
    assert "task-received" in seen and "task-succeeded" in seen and "task-failed" in seen
    assert state.tasks[ok.id].state == "SUCCESS"
    assert state.tasks[ok.id].result == "42"
    assert state.tasks[bad.id].state == "FAILURE"
    assert receiver.position is not None and receiver.position >= len(seen)
    again = list(S2EventReceiver(app, start=SeqNum(receiver.position)).itercapture(timeout=1))
    assert again == []


def test_broker_events_captured_into_s2(s2_env: S2TestServer) -> None:
    import threading

    from s2_celery.capture import capture_events

    with connect() as client:
        basin = unique_basin()
        client.create_basin(basin)
        app = Celery(f"cap{uuid.uuid4().hex[:6]}", broker=BROKER, backend=f"s2://{basin}/results")
        app.conf.update(
            worker_send_task_events=True,
            task_default_queue=f"q-{uuid.uuid4().hex[:8]}",
            s2_events_stream="captured",
        )

        @app.task(name="triple", shared=False)
        def triple(x: int) -> int:
            return 3 * x

        ready = threading.Event()
        counts: list[int] = []
        capturer = threading.Thread(
            target=lambda: counts.append(capture_events(app, timeout=3, ready=ready))
        )
        capturer.start()
        assert ready.wait(10)
        with start_worker(app, pool="threads", perform_ping_check=False, loglevel="WARNING"):
            result = triple.delay(14)
            assert result.get(timeout=20) == 42
        capturer.join(30)
        assert counts and counts[0] >= 2
        state = State()
        S2EventReceiver(app, {"*": state.event}, start=SeqNum(0)).capture(timeout=1)
        assert state.tasks[result.id].state == "SUCCESS"
        client.delete_basin(basin, ignore_not_found=True)


def test_capture_command_is_registered() -> None:
    import subprocess
    import sys

    proc = subprocess.run(
        [sys.executable, "-m", "celery", "s2-events", "--help"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    assert "Capture task and worker events from the broker into S2" in proc.stdout
