"""Fixtures for client tests: a real s2-local on loopback and a client per test."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from s2_local.pytest_plugin import S2TestServer
from s2_sdk import S2, Endpoints, S2Basin, S2Stream
from support.rest import unique_basin


@pytest.fixture
async def s2(s2_server: S2TestServer) -> AsyncIterator[S2]:
    """A client for the test server."""
    async with S2(
        s2_server.access_token,
        endpoints=Endpoints(s2_server.account_endpoint, s2_server.basin_endpoint),
    ) as client:
        yield client


@pytest.fixture
async def basin(s2: S2) -> AsyncIterator[S2Basin]:
    """A fresh basin, deleted afterwards."""
    name = unique_basin()
    await s2.create_basin(name)
    yield s2.basin(name)
    await s2.delete_basin(name, ignore_not_found=True)


@pytest.fixture
async def stream(basin: S2Basin) -> S2Stream:
    """A fresh stream with the default config."""
    await basin.create_stream("stream")
    return basin.stream("stream")
