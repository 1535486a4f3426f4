"""pytest plugin (entry point ``pytest11``): an S2 server for your tests.

Fixtures:

- ``s2_server`` (session scope): an :class:`S2TestServer` with the endpoints and
  token to use. Which server is chosen by ``S2_TEST_SERVER``:

  - ``local`` (default): an in-memory s2-local on a free loopback port;
  - ``s2-lite``: the official s2-lite image, started with testcontainers (the test
    is skipped with the reason when Docker or testcontainers is missing);
  - ``external``: ``S2_ACCESS_TOKEN``, ``S2_ACCOUNT_ENDPOINT``, ``S2_BASIN_ENDPOINT``.
- ``s2_env``: the server's ``S2_*`` variables set in ``os.environ`` for one test.
"""

from __future__ import annotations

import os
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from s2_local.server import Server

__all__ = ["S2TestServer", "s2_env", "s2_server"]

S2_LITE_IMAGE = "ghcr.io/s2-streamstore/s2:0.42.7"


@dataclass(frozen=True)
class S2TestServer:
    """Where the tests' S2 lives."""

    kind: str
    account_endpoint: str
    basin_endpoint: str
    access_token: str
    local: Server | None = None
    """The in-process server, when ``kind == "local"``."""

    def env(self) -> dict[str, str]:
        """The ``S2_*`` environment variables for clients."""
        return {
            "S2_ACCOUNT_ENDPOINT": self.account_endpoint,
            "S2_BASIN_ENDPOINT": self.basin_endpoint,
            "S2_ACCESS_TOKEN": self.access_token,
        }


def _wait_healthy(endpoint: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            with urllib.request.urlopen(f"{endpoint}/health", timeout=2) as resp:
                if resp.status == 200:
                    return
        except OSError:
            pass
        if time.monotonic() > deadline:
            raise RuntimeError(f"{endpoint} did not become healthy in {timeout} s")
        time.sleep(0.1)


def _s2_lite() -> Iterator[S2TestServer]:
    try:
        from testcontainers.core.container import DockerContainer
    except ImportError:
        pytest.skip("S2_TEST_SERVER=s2-lite needs `pip install testcontainers`")
    try:
        container = DockerContainer(S2_LITE_IMAGE).with_command("lite").with_exposed_ports(80)
        container.start()
    except Exception as e:
        pytest.skip(f"S2_TEST_SERVER=s2-lite needs a working Docker engine: {e}")
    try:
        endpoint = f"http://{container.get_container_host_ip()}:{container.get_exposed_port(80)}"
        _wait_healthy(endpoint)
        yield S2TestServer("s2-lite", endpoint, endpoint, "ignored")
    finally:
        container.stop()


@pytest.fixture(scope="session")
def s2_server() -> Iterator[S2TestServer]:
    """An S2 server for the whole test session (see the module docstring)."""
    kind = os.environ.get("S2_TEST_SERVER", "local")
    if kind == "local":
        with Server() as server:
            yield S2TestServer("local", server.endpoint, server.endpoint, "ignored", server)
    elif kind == "s2-lite":
        yield from _s2_lite()
    elif kind == "external":
        missing = [
            v
            for v in ("S2_ACCESS_TOKEN", "S2_ACCOUNT_ENDPOINT", "S2_BASIN_ENDPOINT")
            if not os.environ.get(v)
        ]
        if missing:
            pytest.skip(f"S2_TEST_SERVER=external needs {', '.join(missing)}")
        yield S2TestServer(
            "external",
            os.environ["S2_ACCOUNT_ENDPOINT"],
            os.environ["S2_BASIN_ENDPOINT"],
            os.environ["S2_ACCESS_TOKEN"],
        )
    else:
        raise pytest.UsageError(f"S2_TEST_SERVER must be local, s2-lite or external, not {kind!r}")


@pytest.fixture
def s2_env(s2_server: S2TestServer, monkeypatch: pytest.MonkeyPatch) -> S2TestServer:
    """Set the server's ``S2_*`` variables for one test."""
    for name, value in s2_server.env().items():
        monkeypatch.setenv(name, value)
    return s2_server
