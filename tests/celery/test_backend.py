"""S2Backend with a real Celery worker and a real Redis broker, against s2-local."""

from __future__ import annotations

import os
import pickle
import signal
import subprocess
import sys
import textwrap
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from celery import Celery, chord, group, states
from celery.app.backends import by_url
from celery.contrib.testing.worker import start_worker
from celery.exceptions import BackendStoreError, TaskRevokedError
from celery.exceptions import TimeoutError as CeleryTimeoutError
from s2_celery import S2Backend
from s2_local.pytest_plugin import S2TestServer
from s2_local.server import ServerProcess
from s2_sdk import BasinMetricSet, Record, metered_bytes
from s2_sdk.sync import connect, read_records
from support.celery_app import make_app, tasks_app
from support.rest import unique_basin

BROKER = "redis://127.0.0.1:6379/15"
RABBITMQ = "amqp://guest:guest@127.0.0.1:5672//"


@pytest.fixture
def app(basin: str, s2_env: S2TestServer) -> Iterator[Celery]:
    yield tasks_app(basin, BROKER)


@pytest.fixture
def worker(app: Celery) -> Iterator[None]:
    with start_worker(
        app, pool="threads", concurrency=4, perform_ping_check=False, loglevel="WARNING"
    ):
        yield


def test_with_a_rabbitmq_broker(basin: str, s2_env: S2TestServer) -> None:
    app = tasks_app(basin, RABBITMQ)
    # With the AMQP transport the worker's event loop may sleep up to 10 s between
    # checks for shutdown: Celery's default 10 s shutdown timeout is too tight.
    with start_worker(
        app, pool="threads", concurrency=4, perform_ping_check=False, loglevel="WARNING",
        shutdown_timeout=30,
    ):  # fmt: skip
        assert app.tasks["add"].delay(2, 3).get(timeout=20) == 5
        with pytest.raises(ValueError, match="kaboom"):
            app.tasks["boom"].delay().get(timeout=20)
        parts = chord(app.tasks["flaky"].s(i) for i in range(10))
        assert parts(app.tasks["total"].s()).get(timeout=30) == 45
    with app.connection_for_write() as conn:  # RabbitMQ keeps queues: remove this test's
        conn.default_channel.queue_delete(app.conf.task_default_queue)


def test_url_and_entry_point(basin: str, app: Celery) -> None:
    backend_cls, url = by_url("s2://:secret-token@" + basin + "/results", app.loader)
    assert backend_cls is S2Backend
    backend = backend_cls(app=app, url=url)
    assert (backend.basin, backend.prefix) == (basin, "results")
    assert "secret-token" not in backend.as_uri()
    clone = pickle.loads(pickle.dumps(backend))
    assert clone.url == backend.url


def test_results_success_failure_and_long_poll(app: Celery, worker: None, basin: str) -> None:
    assert app.tasks["add"].delay(2, 3).get(timeout=20) == 5
    started = time.monotonic()
    result = app.tasks["slow"].delay(21)
    assert result.get(timeout=20) == 42
    assert time.monotonic() - started < 3
    failed = app.tasks["boom"].delay()
    with pytest.raises(ValueError, match="kaboom"):
        failed.get(timeout=20)
    assert failed.state == states.FAILURE
    with connect() as client:
        names = [s.name for s in client[basin].list_streams(prefix="results/").items]
        assert f"results/celery-task-meta-{result.id}" in names
        states_written = [
            dict(r.headers)[b"state"]
            for r in list(
                read_records(basin, f"results/celery-task-meta-{result.id}", client=client)
            )
        ]
        assert states_written[-1] == b"SUCCESS"


def test_sending_a_task_creates_its_result_stream(app: Celery, basin: str) -> None:
    result = app.tasks["add"].delay(1, 2)  # no worker: the task waits in the queue
    name = f"results/celery-task-meta-{result.id}"
    try:
        with connect() as client:
            deadline = time.monotonic() + 10
            while name not in [s.name for s in client[basin].list_streams(prefix="results/").items]:
                assert time.monotonic() < deadline, "on_task_call did not create the stream"
                time.sleep(0.05)
            assert list(read_records(basin, name, client=client)) == []
            assert client[basin].get_stream_config(name).retention_policy == 3600
        worker_side = S2Backend(app=app, url=app.conf.result_backend)
        worker_side.store_result(result.id, 3, states.SUCCESS)  # appends to the stream
        assert result.get(timeout=5) == 3
    finally:
        with app.connection_for_write() as conn:
            conn.default_channel.queue_purge(app.conf.task_default_queue)


def test_failures_keep_their_own_expiry(app: Celery, basin: str) -> None:
    app.conf.result_failure_expires = 600
    backend = S2Backend(app=app, url=app.conf.result_backend)  # reads the setting anew
    ok_id, failed_id, late_id = (str(uuid.uuid4()) for _ in range(3))
    backend.store_result(ok_id, 1, states.SUCCESS)
    backend.store_result(failed_id, ValueError("x"), states.FAILURE)
    backend.store_result(late_id, None, states.STARTED)  # created with the usual retention
    backend.store_result(late_id, ValueError("y"), states.FAILURE)
    with connect() as client:
        retention = {
            task_id: client[basin]
            .get_stream_config(f"results/celery-task-meta-{task_id}")
            .retention_policy
            for task_id in (ok_id, failed_id, late_id)
        }
    assert retention == {ok_id: 3600, failed_id: 600, late_id: 600}
    assert backend.get_task_meta(late_id)["status"] == states.FAILURE


def test_result_extended_and_revoked(app: Celery, worker: None) -> None:
    app.conf.result_extended = True
    result = app.tasks["add"].delay(20, 22)
    assert result.get(timeout=20) == 42
    app.backend._cache.clear()
    meta = app.backend.get_task_meta(result.id)
    assert (meta["name"], meta["args"], meta["status"]) == ("add", [20, 22], states.SUCCESS)
    revoked = app.tasks["add"].apply_async((1, 2), countdown=1)
    revoked.revoke()
    with pytest.raises(TaskRevokedError):
        revoked.get(timeout=20)
    assert revoked.state == states.REVOKED


def test_group_and_get_many(app: Celery, worker: None) -> None:
    res = group(app.tasks["add"].s(i, i) for i in range(8)).apply_async()
    assert res.get(timeout=30) == [2 * i for i in range(8)]


def test_success_is_never_overwritten(app: Celery, basin: str) -> None:
    backend = app.backend
    task_id = str(uuid.uuid4())
    backend.store_result(task_id, 7, states.SUCCESS)
    backend.store_result(task_id, None, states.STARTED)
    backend._cache.clear()
    assert backend.get_task_meta(task_id)["status"] == states.SUCCESS
    assert backend.get_task_meta(task_id)["result"] == 7


def test_pending_timeout_forget_and_oversized(app: Celery, basin: str) -> None:
    backend = app.backend
    result = app.AsyncResult(str(uuid.uuid4()))
    assert result.state == states.PENDING
    started = time.monotonic()
    with pytest.raises(CeleryTimeoutError):
        result.get(timeout=1.5)
    assert 1.0 < time.monotonic() - started < 5
    task_id = str(uuid.uuid4())
    backend.store_result(task_id, "x", states.SUCCESS)
    backend.forget(task_id)
    assert app.AsyncResult(task_id).state == states.PENDING
    with pytest.raises(BackendStoreError):
        backend.store_result(str(uuid.uuid4()), "x" * (2 * 1024 * 1024), states.SUCCESS)


def test_native_chord(app: Celery, worker: None) -> None:
    result = chord(app.tasks["add"].s(i, i) for i in range(6))(app.tasks["total"].s())
    assert result.get(timeout=30) == sum(2 * i for i in range(6))


def test_hundred_part_chord_and_retried_parts(app: Celery, worker: None) -> None:
    result = chord(app.tasks["add"].s(i, 1) for i in range(100))(app.tasks["total"].s())
    assert result.get(timeout=60) == sum(i + 1 for i in range(100))
    result = chord(app.tasks["flaky"].s(i) for i in range(5))(app.tasks["total"].s())
    assert result.get(timeout=30) == 10  # every part failed once, then counted once


def test_add_to_chord_extends_a_running_chord(app: Celery, worker: None) -> None:
    header = [app.tasks["add"].s(1, 1), app.tasks["grow"].s(5), app.tasks["grow"].s(7)]
    result = chord(header)(app.tasks["total"].s())
    # the body fires once, after the two added parts, and receives their results
    assert result.get(timeout=30) == 2 + 5 + 7 + 105 + 107


def test_chord_counter_is_idempotent(app: Celery) -> None:
    backend = app.backend
    group_id = str(uuid.uuid4())
    key = backend.get_key_for_chord(group_id)
    assert backend._count_part(key, b"part-1") == (1, None)  # no size written: unknown
    assert backend._count_part(key, b"part-1") == (0, None)  # the same part again: not counted
    backend.set_chord_size(group_id, 7)  # recorded for inspection, and not a part
    name = backend._name(key)
    backend._counter_append(name, b"expect", b"3")  # what saving a chord's group writes
    backend._counter_append(name, b"expect", b"2")  # sizes only grow: the largest holds
    assert backend._count_part(key, b"part-2") == (2, 3)
    assert backend.incr(key) == 3  # a fresh part each call


def test_chord_parts_too_early_to_complete_are_not_read(app: Celery) -> None:
    backend = app.backend
    key = backend.get_key_for_chord(str(uuid.uuid4()))
    backend._counter_append(backend._name(key), b"expect", b"4")  # as saving the chord does
    counts = [backend._count_part(key, f"p{i}".encode(), exact=False) for i in range(1, 5)]
    # the first part learns the size; the next two cannot complete the chord and read
    # nothing; the fourth may, and counts exactly
    assert counts == [(1, 4), (None, 4), (None, 4), (4, 4)]
    assert backend._count_part(key, b"p4", exact=False) == (0, 4)  # repeated: not counted


class Prefork:
    """``support.celery_app`` on a fresh queue, and real prefork workers for it."""

    def __init__(self, env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> None:
        tests_dir = str(Path(__file__).parents[1])
        env = {
            **env,
            "S2_TEST_QUEUE": f"q-{uuid.uuid4().hex[:8]}",
            "PYTHONPATH": os.pathsep.join([tests_dir, os.environ.get("PYTHONPATH", "")]),
        }
        for name, value in env.items():
            monkeypatch.setenv(name, value)
        self.app = make_app()
        self.workers: list[subprocess.Popen[str]] = []

    def start(self) -> subprocess.Popen[str]:
        """A ``celery worker --pool=prefork`` in its own process group."""
        worker = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "support.celery_app", "worker",
             "--pool=prefork", "--concurrency=2", "--loglevel=WARNING", "--without-mingle",
             "--without-gossip", "--without-heartbeat"],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, start_new_session=True,
        )  # fmt: skip
        self.workers.append(worker)
        return worker

    def stop_all(self, *, clean: bool = True) -> None:
        """Warm-stop the workers still running (``clean``: and check they logged no error)."""
        for worker in self.workers:
            if worker.poll() is None:
                _stop(worker, clean=clean)


@pytest.fixture
def prefork(
    basin: str, s2_server: S2TestServer, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Prefork]:
    pool = Prefork({**s2_server.env(), "S2_TEST_BASIN": basin}, monkeypatch)
    yield pool
    pool.stop_all()


def _stop(worker: subprocess.Popen[str], *, clean: bool = True) -> None:
    """Warm shutdown (SIGTERM): running tasks finish, prefetched ones go back to the broker."""
    worker.terminate()
    _, err = worker.communicate(timeout=60)
    assert not clean or "Traceback" not in err, err


def test_prefork_worker_process(prefork: Prefork) -> None:
    """A real ``celery worker --pool=prefork``: forked children share nothing they should not."""
    app = prefork.app
    worker = prefork.start()
    results = [app.tasks["pid_square"].delay(i) for i in range(20)]
    values = [r.get(timeout=60) for r in results]
    assert [square for _, square in values] == [i * i for i in range(20)]
    assert worker.pid not in {pid for pid, _ in values}  # computed in forked children
    header = chord(app.tasks["pid_square"].s(i) for i in range(10))
    assert header(app.tasks["pid_total"].s()).get(timeout=60) == 285
    _stop(worker)


def _wait_until_some_ready(results: list[Any], n: int) -> None:
    deadline = time.monotonic() + 60
    while sum(r.ready() for r in results) < n and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not all(r.ready() for r in results), "everything finished before the fault"


def test_prefork_worker_restarted_mid_run(prefork: Prefork) -> None:
    app = prefork.app
    first = prefork.start()
    results = [app.tasks["pid_slow_square"].delay(i) for i in range(30)]
    _wait_until_some_ready(results, 4)
    _stop(first)
    prefork.start()
    values = [r.get(timeout=60) for r in results]
    assert [square for _, square in values] == [i * i for i in range(30)]


def test_prefork_worker_killed_mid_task(prefork: Prefork) -> None:
    """SIGKILL of the whole worker: ``acks_late`` tasks it was running are redelivered and run."""
    app = prefork.app
    first = prefork.start()
    results = [app.tasks["late_slow_square"].delay(i) for i in range(20)]
    _wait_until_some_ready(results, 4)
    os.killpg(first.pid, signal.SIGKILL)
    first.communicate(timeout=30)
    lost = [r for r in results if not r.ready()]
    prefork.start()  # picks up the unacknowledged messages once their visibility timeout passed
    values = [r.get(timeout=90) for r in results]
    assert [square for _, square in values] == [i * i for i in range(20)]
    assert lost and all(r.state == states.SUCCESS for r in lost)


def test_s2_local_restarted_mid_run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Durable s2-local SIGKILLed and restarted under a running worker: no result is lost."""
    basin = unique_basin()
    server = ServerProcess(data_dir=tmp_path / "s2").start()
    try:
        env = {"S2_ACCOUNT_ENDPOINT": server.endpoint, "S2_BASIN_ENDPOINT": server.endpoint,
               "S2_ACCESS_TOKEN": "local", "S2_TEST_BASIN": basin}  # fmt: skip
        with connect("local", server.endpoint) as client:
            client.create_basin(basin)
        pool = Prefork(env, monkeypatch)
        try:
            pool.start()
            results = [pool.app.tasks["pid_slow_square"].delay(i) for i in range(30)]
            _wait_until_some_ready(results, 4)
            stored_before = [r.id for r in results if r.ready()]
            server.kill()
            time.sleep(1.0)  # results finished meanwhile wait, retried by the backend
            server = ServerProcess(data_dir=tmp_path / "s2", port=server.port).start()
            values = [r.get(timeout=60) for r in results]
            assert [square for _, square in values] == [i * i for i in range(30)]
            fresh = make_app()  # nothing from a cache: read back from the restarted server
            assert all(fresh.AsyncResult(i).state == states.SUCCESS for i in stored_before)
        finally:
            pool.stop_all(clean=False)  # the worker logged its retries during the outage
    finally:
        server.stop()


def test_chord_parts_are_counted_reading_each_record_once(app: Celery, basin: str) -> None:
    """Counting n parts in one process reads the counter stream once: O(n) bytes, not
    O(n²) (each part used to re-read every part before it)."""
    backend = app.backend
    key = backend.get_key_for_chord(str(uuid.uuid4()))
    parts = [uuid.uuid4().hex.encode() for _ in range(300)]
    counts = [backend._count_part(key, part)[0] for part in parts]
    assert counts == list(range(1, 301))
    assert backend._count_part(key, parts[7])[0] == 0  # a repeat is still not counted
    with connect() as client:
        metrics = client.basin_metrics(basin, set=BasinMetricSet.READ_THROUGHPUT)
    read = sum(value for m in metrics for _, value in getattr(m, "values", []))
    stored = metered_bytes(Record(p, [(b"part", p)]) for p in parts)
    assert read <= 2 * stored, (read, stored)  # re-reading would be ~150x


def test_transport_options_and_environment_are_read_as_documented(
    s2_env: S2TestServer, basin: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """docs/configuration.md: the basin, token and endpoints may come from
    result_backend_transport_options, the basin also from S2_CELERY_BASIN."""
    env = s2_env.env()
    for name in ("S2_ACCESS_TOKEN", "S2_ACCOUNT_ENDPOINT", "S2_BASIN_ENDPOINT"):
        monkeypatch.delenv(name, raising=False)
    app = Celery("opts", broker=BROKER, backend="s2:///results")
    app.conf.result_backend_transport_options = {
        "basin": basin,
        "access_token": env["S2_ACCESS_TOKEN"],
        "account_endpoint": env["S2_ACCOUNT_ENDPOINT"],
        "basin_endpoint": env["S2_BASIN_ENDPOINT"],
    }
    app.backend.set("documented", b"yes")
    assert app.backend.get("documented") == b"yes"
    monkeypatch.setenv("S2_CELERY_BASIN", basin)
    app = Celery("env", broker=BROKER, backend="s2:///results")
    app.conf.result_backend_transport_options = {
        "access_token": env["S2_ACCESS_TOKEN"],
        "account_endpoint": env["S2_ACCOUNT_ENDPOINT"],
    }
    assert app.backend.basin == basin
    assert app.backend.get("documented") == b"yes"


def test_bad_input_is_not_retried(app: Celery) -> None:
    from s2_sdk import ConnectError, S2ClientError

    refused = S2ClientError("ConnectError: refused")
    refused.__cause__ = ConnectError("refused")
    assert app.backend.exception_safe_to_retry(refused)
    assert not app.backend.exception_safe_to_retry(S2ClientError("a record body must be bytes"))


def test_client_process_exits_silently(s2_env: S2TestServer, basin: str) -> None:
    """A process that sent a task, waited on it and used the backend ends without
    warnings (no "Task was destroyed but it is pending!")."""
    program = textwrap.dedent(
        f"""
        from celery import Celery
        from celery.exceptions import TimeoutError
        app = Celery("quiet", broker="{BROKER}", backend="s2://{basin}/results")
        result = app.send_task("nobody-runs-this")
        try:
            result.get(timeout=1)
        except TimeoutError:
            pass
        app.backend.set("k", b"v")
        print(app.backend.get("k"))
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", program], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "b'v'"
    assert done.stderr == ""
