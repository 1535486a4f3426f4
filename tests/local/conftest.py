"""Fixtures for s2-local tests: an HTTP client against a real server on loopback."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from s2_local.pytest_plugin import S2TestServer
from support.rest import Api, unique_basin


@pytest.fixture
def api(s2_server: S2TestServer) -> Iterator[Api]:
    """A client with a fresh basin of its own."""
    basin = unique_basin()
    client = Api(s2_server, basin)
    r = client.request("POST", "/v1/basins", json={"basin": basin})
    assert r.status_code == 201, r.text
    yield client
    client.request("DELETE", f"/v1/basins/{basin}")
    client.close()
