"""A thin REST client for tests that drive S2 servers over HTTP."""

from __future__ import annotations

import uuid
from typing import Any
from urllib.parse import quote as _quote

import httpx
from s2_local.pytest_plugin import S2TestServer


class Api:
    """A thin JSON client for the S2 REST API (the thing under test is the server)."""

    def __init__(self, server: S2TestServer, basin: str) -> None:
        self.http = httpx.Client(base_url=server.account_endpoint, timeout=30)
        self.basin = basin

    def close(self) -> None:
        self.http.close()

    def request(
        self, method: str, path: str, *, basin: str | None = None, **kw: Any
    ) -> httpx.Response:
        headers = dict(kw.pop("headers", None) or {})
        if path.startswith("/v1/streams"):
            headers.setdefault("s2-basin", basin or self.basin)
        return self.http.request(method, path, headers=headers, **kw)

    def create_stream(self, name: str, config: dict[str, Any] | None = None) -> httpx.Response:
        r = self.request("POST", "/v1/streams", json={"stream": name, "config": config})
        assert r.status_code == 201, r.text
        return r

    def append(self, stream: str, records: list[dict[str, Any]], **kw: Any) -> httpx.Response:
        body = {"records": records, **kw}
        return self.request("POST", f"/v1/streams/{quote(stream)}/records", json=body)

    def read(self, stream: str, **params: Any) -> httpx.Response:
        params = {k: str(v).lower() if isinstance(v, bool) else v for k, v in params.items()}
        return self.request("GET", f"/v1/streams/{quote(stream)}/records", params=params)

    def tail(self, stream: str) -> dict[str, int]:
        r = self.request("GET", f"/v1/streams/{quote(stream)}/records/tail")
        assert r.status_code == 200, r.text
        tail: dict[str, int] = r.json()["tail"]
        return tail


def quote(name: str) -> str:
    """Percent-encode a stream name as one path segment."""
    return _quote(name, safe="")


def unique_basin() -> str:
    """A fresh, valid basin name."""
    return f"t-{uuid.uuid4().hex[:12]}"
