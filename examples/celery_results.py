"""Celery task results, groups and chords stored in S2 (Redis broker, in-process worker)."""

import os

from celery import Celery, chord, group
from celery.contrib.testing.worker import start_worker
from s2_sdk.sync import connect

BASIN = os.environ.get("S2_EXAMPLE_BASIN", "python-examples")
BROKER = os.environ.get("S2_EXAMPLE_BROKER", "redis://127.0.0.1:6379/0")

with connect() as s2:
    s2.ensure_basin(BASIN)

# the token and endpoints come from S2_*; they can also go in the URL: s2://:TOKEN@basin/prefix
app = Celery("example", broker=BROKER, backend=f"s2://{BASIN}/celery")
app.conf.result_expires = 3600  # result streams are retained for an hour


@app.task(name="example.square")
def square(x: int) -> int:
    return x * x


@app.task(name="example.total")
def total(values: list[int]) -> int:
    return sum(values)


with start_worker(app, pool="threads", concurrency=4, perform_ping_check=False, loglevel="WARNING"):
    print("square(7) =", square.delay(7).get(timeout=30))
    squares = group(square.s(i) for i in range(10))().get(timeout=30)
    print("squares:", squares)
    summed = chord(square.s(i) for i in range(10))(total.s()).get(timeout=30)
    print("sum of squares via a native chord:", summed)

assert squares == [i * i for i in range(10)] and summed == 285
