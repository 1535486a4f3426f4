"""CORS: browser pages on the developer's machine may call s2-local; other origins are
refused before anything happens, unless allowed with --cors-origin."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator

import httpx
import pytest
from s2_local.server import Server, ServerProcess


def preflight(endpoint: str, origin: str, method: str = "POST") -> httpx.Response:
    return httpx.options(
        f"{endpoint}/v1/basins",
        headers={
            "origin": origin,
            "access-control-request-method": method,
            "access-control-request-headers": "content-type, authorization, s2-basin",
        },
    )


@pytest.fixture
def server() -> Iterator[Server]:
    with Server() as server:
        yield server


@pytest.mark.parametrize(
    "origin",
    ["http://localhost:3000", "http://127.0.0.1:5173", "http://localhost", "http://[::1]:8000"],
)
def test_loopback_pages_are_allowed(server: Server, origin: str) -> None:
    r = preflight(server.endpoint, origin)
    assert r.status_code == 204
    assert r.headers["access-control-allow-origin"] == origin
    allowed = {h.strip() for h in r.headers["access-control-allow-headers"].split(",")}
    assert {"content-type", "authorization", "s2-basin", "s2-format"} <= allowed
    assert "PATCH" in r.headers["access-control-allow-methods"]
    created = httpx.post(
        f"{server.endpoint}/v1/basins", json={"basin": "cors-basin"}, headers={"origin": origin}
    )
    assert created.status_code == 201
    assert created.headers["access-control-allow-origin"] == origin
    assert "retry-after-ms" in created.headers["access-control-expose-headers"]
    httpx.delete(f"{server.endpoint}/v1/basins/cors-basin")


@pytest.mark.parametrize(
    "origin",
    ["https://evil.example", "http://localhost.evil.example", "http://localhost:80x", "null"],
)
def test_other_origins_are_refused_before_anything_happens(server: Server, origin: str) -> None:
    r = preflight(server.endpoint, origin)
    assert r.status_code == 403 and "access-control-allow-origin" not in r.headers
    write = httpx.post(
        f"{server.endpoint}/v1/basins",
        content=b'{"basin": "csrf-basin"}',
        headers={"origin": origin, "content-type": "application/json"},
    )
    assert write.status_code == 403 and write.json()["code"] == "permission_denied"
    listed = httpx.get(f"{server.endpoint}/v1/basins").json()["basins"]
    assert "csrf-basin" not in [b["name"] for b in listed]  # nothing was created


def test_requests_without_an_origin_are_unaffected(server: Server) -> None:
    r = httpx.get(f"{server.endpoint}/v1/basins")
    assert r.status_code == 200 and "access-control-allow-origin" not in r.headers


def test_extra_origins_and_any() -> None:
    with Server(cors_origins=("https://app.example",)) as server:
        assert preflight(server.endpoint, "https://app.example").status_code == 204
        assert preflight(server.endpoint, "http://localhost:3000").status_code == 403
    with Server(cors_origins=("*",)) as server:
        r = preflight(server.endpoint, "https://anything.example")
        assert r.status_code == 204
        assert r.headers["access-control-allow-origin"] == "https://anything.example"


def test_no_cors_refuses_other_origins_but_not_the_servers_own() -> None:
    with Server(cors_origins=()) as server:
        assert preflight(server.endpoint, "http://localhost:3000").status_code == 403
        own = httpx.get(f"{server.endpoint}/v1/basins", headers={"origin": server.endpoint})
        assert own.status_code == 200 and "access-control-allow-origin" not in own.headers


def test_cli_flags() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "s2_local", "serve", "--help"], capture_output=True, text=True
    )
    assert "--cors-origin ORIGIN" in done.stdout and "--no-cors" in done.stdout
    server = ServerProcess(args=["--cors-origin", "https://app.example"]).start()
    try:
        assert preflight(server.endpoint, "https://app.example").status_code == 204
        assert preflight(server.endpoint, "http://localhost:3000").status_code == 204
    finally:
        server.stop()
    server = ServerProcess(args=["--no-cors"]).start()
    try:
        assert preflight(server.endpoint, "http://localhost:3000").status_code == 403
    finally:
        server.stop()
