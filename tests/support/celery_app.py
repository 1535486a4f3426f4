"""A Celery app configured from the environment, for worker processes the tests start.

``S2_TEST_BASIN`` names the result basin, ``S2_TEST_BROKER`` the broker and
``S2_TEST_QUEUE`` the queue; the ``S2_*`` variables say where S2 is. Workers load
``app``; a test builds its own with :func:`make_app` after setting the variables.
"""

from __future__ import annotations

import os
import time
import uuid
from typing import Any

from celery import Celery


def tasks_app(basin: str, broker: str) -> Celery:
    """An app storing results in S2, with the tasks the tests run."""
    app = Celery(f"t{uuid.uuid4().hex[:6]}", broker=broker, backend=f"s2://{basin}/results")
    app.conf.update(result_expires=3600, task_default_queue=f"q-{uuid.uuid4().hex[:8]}")

    @app.task(name="add", shared=False)
    def add(x: int, y: int) -> int:
        return x + y

    @app.task(name="slow", shared=False)
    def slow(x: int) -> int:
        time.sleep(1.0)
        return x * 2

    @app.task(name="boom", shared=False)
    def boom() -> None:
        raise ValueError("kaboom")

    @app.task(name="total", shared=False)
    def total(values: list[int]) -> int:
        return sum(values)

    @app.task(name="grow", bind=True, shared=False)
    def grow(self: Any, x: int) -> int:
        self.add_to_chord(add.s(x, 100))  # the chord waits for this extra part too
        return x

    @app.task(name="flaky", bind=True, shared=False, max_retries=3)
    def flaky(self: Any, x: int) -> int:
        if self.request.retries == 0:
            raise self.retry(countdown=0.05)
        return x

    return app


def make_app() -> Celery:
    """The app, with its tasks, as the environment describes it now."""
    app = Celery(
        "prefork",
        broker=os.environ.get("S2_TEST_BROKER", "redis://127.0.0.1:6379/15"),
        backend=f"s2://{os.environ.get('S2_TEST_BASIN', 'unset-basin')}/results",
    )
    queue = os.environ.get("S2_TEST_QUEUE", "celery")
    app.conf.update(
        task_default_queue=queue,
        result_expires=3600,
        # ride out an S2 outage (the s2-local restart test)
        result_backend_always_retry=True,
        result_backend_max_sleep_between_retries_ms=500,
        # messages a killed worker held come back after 3 s (kombu looks every second)
        broker_transport_options={
            "visibility_timeout": 3,
            "unacked_restore_interval": 1,
            "unacked_restore_throttle": 1,
        },
    )

    @app.task(name="pid_square", shared=False)
    def pid_square(x: int) -> tuple[int, int]:
        """The square of ``x`` and the pid of the worker child that computed it."""
        return os.getpid(), x * x

    @app.task(name="pid_slow_square", shared=False)
    def pid_slow_square(x: int) -> tuple[int, int]:
        """Like ``pid_square``, taking 0.2 s."""
        time.sleep(0.2)
        return os.getpid(), x * x

    @app.task(name="late_slow_square", shared=False, acks_late=True)
    def late_slow_square(x: int) -> tuple[int, int]:
        """Like ``pid_slow_square``, acknowledged only once done."""
        time.sleep(0.2)
        return os.getpid(), x * x

    @app.task(name="pid_total", shared=False)
    def pid_total(values: list[tuple[int, int]]) -> int:
        """The sum of the squares a chord's parts computed."""
        return sum(square for _, square in values)

    return app


app = make_app()
