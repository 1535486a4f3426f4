"""A Celery app configured from the environment, for worker processes the tests start.

``S2_TEST_BASIN`` names the result basin, ``S2_TEST_BROKER`` the broker and
``S2_TEST_QUEUE`` the queue; the ``S2_*`` variables say where S2 is.
"""

from __future__ import annotations

import os

from celery import Celery

app = Celery(
    "prefork",
    broker=os.environ.get("S2_TEST_BROKER", "redis://127.0.0.1:6379/15"),
    backend=f"s2://{os.environ.get('S2_TEST_BASIN', 'unset-basin')}/results",
)
app.conf.update(task_default_queue=os.environ.get("S2_TEST_QUEUE", "celery"), result_expires=3600)


@app.task(name="pid_square")
def pid_square(x: int) -> tuple[int, int]:
    """The square of ``x`` and the pid of the worker child that computed it."""
    return os.getpid(), x * x


@app.task(name="pid_total")
def pid_total(values: list[tuple[int, int]]) -> int:
    """The sum of the squares a chord's parts computed."""
    return sum(square for _, square in values)
