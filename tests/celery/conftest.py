"""Celery tests: collect what each test left behind before the next one runs.

Celery's test worker and kombu's Redis transport can leave sockets for the garbage
collector; collected later they would surface as ResourceWarnings in unrelated tests.
"""

from __future__ import annotations

import gc
import warnings
from collections.abc import Iterator

import pytest


@pytest.fixture(autouse=True)
def collect_celery_leftovers() -> Iterator[None]:
    yield
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ResourceWarning)
        gc.collect()
