"""S2Backend on basins that create streams themselves: what each task costs in requests,
and a get() that comes before the task's stream; with a real worker and Redis broker."""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from celery import states
from celery.contrib.testing.worker import start_worker
from celery.result import AsyncResult, GroupResult
from prometheus_client.parser import text_string_to_metric_families
from s2_celery import S2Backend
from s2_local.server import Server
from s2_sdk import BasinConfig
from s2_sdk.sync import connect, read_records
from support.celery_app import tasks_app
from support.rest import unique_basin

BROKER = "redis://127.0.0.1:6379/15"


@pytest.fixture(scope="module")
def server() -> Iterator[Server]:
    """A server of these tests' own, so that the requests it counts are theirs."""
    with Server() as server:
        yield server


@pytest.fixture
def env(server: Server, monkeypatch: pytest.MonkeyPatch) -> Server:
    for name, value in server.env().items():
        monkeypatch.setenv(name, value)
    return server


def _basin(on_append: bool, on_read: bool) -> str:
    name = unique_basin()
    config = BasinConfig(create_stream_on_append=on_append, create_stream_on_read=on_read)
    with connect() as client:
        client.create_basin(name, config=config)
    return name


def _requests(server: Server) -> int:
    """Requests the server answered so far, but those for its metrics."""
    text = httpx.get(f"{server.endpoint}/metrics").text
    return int(
        sum(
            sample.value
            for family in text_string_to_metric_families(text)
            if family.name == "s2_local_requests"
            for sample in family.samples
            if sample.name.endswith("_total") and sample.labels["route"] != "/metrics"
        )
    )


def _retention(basin: str, task_id: str) -> Any:
    with connect() as client:
        return (
            client[basin].get_stream_config(f"results/celery-task-meta-{task_id}").retention_policy
        )


def test_two_requests_per_task_where_the_basin_creates_streams(env: Server) -> None:
    basin = _basin(on_append=True, on_read=True)
    app = tasks_app(basin, BROKER)
    with start_worker(
        app, pool="threads", concurrency=4, perform_ping_check=False, loglevel="WARNING"
    ):
        assert app.tasks["add"].delay(1, 1).get(timeout=20) == 2  # connections, basin config
        before = _requests(env)
        results = [app.tasks["add"].delay(i, i) for i in range(20)]
        assert [r.get(timeout=20) for r in results] == [2 * i for i in range(20)]
        assert _requests(env) - before == 2 * 20  # the worker's append, the client's read
        # the stream was made by the append or the read, with the backend's retention
        assert _retention(basin, results[0].id) == 3600
        failed = app.tasks["boom"].delay()
        with pytest.raises(ValueError, match="kaboom"):
            failed.get(timeout=20)
    with connect() as client:
        written = [
            dict(r.headers)[b"state"]
            for r in read_records(basin, f"results/celery-task-meta-{results[5].id}", client=client)
        ]
    assert written == [b"SUCCESS"]


@pytest.mark.parametrize(
    ("on_append", "on_read"), [(True, True), (True, False), (False, False)]
)  # fmt: skip
def test_get_before_the_stream_exists_waits_for_the_result(
    env: Server, on_append: bool, on_read: bool
) -> None:
    basin = _basin(on_append, on_read)
    app = tasks_app(basin, BROKER)
    task_id = str(uuid.uuid4())  # never sent: nothing created its stream
    got: list[Any] = []
    waiter = threading.Thread(target=lambda: got.append(app.AsyncResult(task_id).get(timeout=20)))
    started = time.monotonic()
    waiter.start()
    time.sleep(1.0)  # the waiter is in get() now, on a stream that did not exist
    S2Backend(app=app, url=app.conf.result_backend).store_result(task_id, 42, states.SUCCESS)
    waiter.join(20)
    assert got == [42]
    assert time.monotonic() - started < 5  # woken by the append, not by a poll
    assert _retention(basin, task_id) == 3600


def test_failures_keep_their_own_expiry_where_appends_create_streams(env: Server) -> None:
    basin = _basin(on_append=True, on_read=True)
    app = tasks_app(basin, BROKER)
    app.conf.result_failure_expires = 600
    backend = S2Backend(app=app, url=app.conf.result_backend)
    ok_id, failed_id, late_id = (str(uuid.uuid4()) for _ in range(3))
    backend.store_result(ok_id, 1, states.SUCCESS)
    backend.store_result(failed_id, ValueError("x"), states.FAILURE)
    backend.store_result(late_id, None, states.STARTED)  # created with the usual retention
    backend.store_result(late_id, ValueError("y"), states.FAILURE)
    retention = {task_id: _retention(basin, task_id) for task_id in (ok_id, failed_id, late_id)}
    assert retention == {ok_id: 3600, failed_id: 600, late_id: 600}


def test_a_basin_that_does_not_create_streams_is_named_in_a_warning(
    env: Server, caplog: pytest.LogCaptureFixture
) -> None:
    basin = _basin(on_append=False, on_read=False)
    app = tasks_app(basin, BROKER)
    with caplog.at_level(logging.WARNING, logger="s2_celery.backend"):
        S2Backend(app=app, url=app.conf.result_backend).store_result(
            str(uuid.uuid4()), 1, states.SUCCESS
        )
    warned = [r.getMessage() for r in caplog.records if r.name == "s2_celery.backend"]
    assert len(warned) == 1
    assert basin in warned[0] and "create_stream_on_append" in warned[0]


def test_a_group_saved_where_appends_create_streams_gets_the_backends_retention(
    env: Server,
) -> None:
    basin = _basin(on_append=True, on_read=True)
    app = tasks_app(basin, BROKER)
    backend = S2Backend(app=app, url=app.conf.result_backend)
    group = GroupResult(str(uuid.uuid4()), [AsyncResult(str(uuid.uuid4()), app=app)], app=app)
    backend.save_group(group.id, group)
    backend.save_group(group.id, group)  # saved again: replaced, not refused
    with connect() as client:
        name = f"results/celery-taskset-meta-{group.id}"
        assert client[basin].get_stream_config(name).retention_policy == 3600
        assert client[basin][name].check_tail().seq_num == 2
    backend._cache.clear()
    assert backend.restore_group(group.id).results[0].id == group.results[0].id
