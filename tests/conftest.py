"""Shared test configuration and fixtures."""

from __future__ import annotations

from collections.abc import Iterator

# Import hypothesis at collection time: its pytest plugin otherwise imports it lazily at
# the end of the run, and CPython 3.11.7 can then fail compiling the rewritten module
# ("AST constructor recursion depth mismatch", fixed in later 3.11 releases).
import hypothesis  # noqa: F401
import pytest
from s2_local.pytest_plugin import S2TestServer
from s2_sdk.sync import S2, connect
from support.rest import unique_basin


@pytest.fixture
def client(s2_env: S2TestServer) -> Iterator[S2]:
    """A blocking client for the test server (the S2_* variables are set)."""
    with connect() as c:
        yield c


@pytest.fixture
def basin(client: S2) -> Iterator[str]:
    """A fresh basin's name, deleted afterwards (tests/core overrides it with an S2Basin)."""
    name = unique_basin()
    client.create_basin(name)
    yield name
    client.delete_basin(name, ignore_not_found=True)
