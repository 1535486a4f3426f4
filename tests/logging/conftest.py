"""Fixtures for s2-logging tests: a basin on the test server, the S2_* variables set."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest
from s2_local.pytest_plugin import S2TestServer
from s2_sdk.sync import S2, connect
from support.rest import unique_basin


@pytest.fixture
def client(s2_env: S2TestServer) -> Iterator[S2]:
    with connect() as c:
        yield c


@pytest.fixture
def basin(client: S2) -> Iterator[str]:
    name = unique_basin()
    client.create_basin(name)
    yield name
    client.delete_basin(name, ignore_not_found=True)


@pytest.fixture(autouse=True)
def clean_logging() -> Iterator[None]:
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    for h in list(root.handlers):
        if h not in handlers:
            root.removeHandler(h)
            h.close()
    root.setLevel(level)
