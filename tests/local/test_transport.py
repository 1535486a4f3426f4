"""Transport: TLS with ALPN (HTTP/2 and HTTP/1.1 on one port), the client over TLS,
auto-create races, and the pytest plugin's server switch."""

from __future__ import annotations

import asyncio
import ssl
import textwrap
from pathlib import Path

import httpx
import pytest
from s2_local.server import Server
from s2_sdk import S2, AppendInput, BasinConfig, Endpoints, Record, SeqNum
from support.tls import self_signed

pytest_plugins = ["pytester"]


def test_tls_serves_http2_via_alpn_and_http11(tmp_path: Path) -> None:
    cert, key = self_signed(tmp_path)
    with Server(tls_cert=cert, tls_key=key) as server:
        assert server.endpoint.startswith("https://")
        for http2, version in ((True, "HTTP/2"), (False, "HTTP/1.1")):
            with httpx.Client(verify=ssl.create_default_context(cafile=cert), http2=http2) as c:
                r = c.get(f"{server.endpoint}/health")
                assert (r.status_code, r.http_version) == (200, version)


async def test_client_sessions_over_tls(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    cert, key = self_signed(tmp_path)
    monkeypatch.setenv("SSL_CERT_FILE", cert)
    with Server(tls_cert=cert, tls_key=key) as server:
        async with S2("t", endpoints=Endpoints(server.endpoint, server.endpoint)) as s2:
            await s2.create_basin("tls-basin-1")
            await s2["tls-basin-1"].create_stream("s")
            stream = s2["tls-basin-1"]["s"]
            async with stream.append_session() as session:
                tickets = [await session.submit(AppendInput([Record(body=b"x")])) for _ in range(5)]
                assert [(await t).end.seq_num for t in tickets] == [1, 2, 3, 4, 5]
            got = [b async for b in stream.read_session(start=SeqNum(0), limit=None, wait=0)]
            assert sum(len(b.records) for b in got) == 5


async def test_concurrent_auto_create_races(s2_server) -> None:
    endpoints = Endpoints(s2_server.account_endpoint, s2_server.basin_endpoint)
    async with S2("t", endpoints=endpoints) as s2:
        await s2.create_basin(
            "race-basin-1",
            config=BasinConfig(create_stream_on_append=True, create_stream_on_read=True),
        )
        basin = s2["race-basin-1"]
        acks = await asyncio.gather(
            *(
                basin["appended"].append(AppendInput([Record(body=f"{i}".encode())]))
                for i in range(10)
            )
        )
        assert sorted(a.start.seq_num for a in acks) == list(range(10))
        tails = await asyncio.gather(*(basin["read"].check_tail() for _ in range(10)))
        assert {t.seq_num for t in tails} == {0}
        names = [s.name async for s in basin.list_all_streams()]
        assert names == ["appended", "read"]
        await s2.delete_basin("race-basin-1")


@pytest.mark.parametrize(
    ("kind", "outcome"),
    [("local", "passed"), ("s2-lite", "skipped"), ("external", "skipped"), ("bogus", "errors")],
)
def test_plugin_server_switch(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, kind: str, outcome: str
) -> None:
    monkeypatch.setenv("S2_TEST_SERVER", kind)
    for var in ("S2_ACCESS_TOKEN", "S2_ACCOUNT_ENDPOINT", "S2_BASIN_ENDPOINT"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("DOCKER_HOST", "unix:///nonexistent/docker.sock")
    pytester.makepyfile(
        textwrap.dedent(
            """
            import httpx

            def test_health(s2_server):
                assert httpx.get(s2_server.account_endpoint + "/health").text == "OK"
            """
        )
    )
    result = pytester.runpytest_subprocess("-rs")
    result.assert_outcomes(**{outcome: 1})
    if kind == "s2-lite":
        result.stdout.fnmatch_lines(["*S2_TEST_SERVER=s2-lite needs*"])
