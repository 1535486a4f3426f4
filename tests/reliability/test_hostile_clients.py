"""Hostile and careless clients against s2-local: bad input is a 4xx, never a 500; a token
grants exactly its scope, when a request arrives and for as long as a session lasts."""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
import time
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlsplit

import h2.config
import h2.connection
import httpx
import pytest
from s2_local.server import Server
from s2_sdk import (
    S2,
    AccessTokenScope,
    AccountMetricSet,
    AppendInput,
    Endpoints,
    Label,
    Operation,
    PrefixMatch,
    Record,
    Retry,
    S2Error,
    S2ServerError,
    SeqNum,
    StreamConfig,
)
from support.serve_process import serve_process

ROOT = "root-token"


@pytest.fixture(scope="module")
def server() -> Iterator[Server]:
    with Server(root_token=ROOT) as server:
        yield server


def _client(server: Server, token: str = ROOT) -> S2:
    endpoints = Endpoints(server.endpoint, server.endpoint)
    return S2(token, endpoints=endpoints, retry=Retry(max_attempts=1))


@pytest.fixture
async def root(server: Server) -> AsyncIterator[S2]:
    async with _client(server) as s2:
        yield s2


BAD_BODIES = {
    "deep": "[" * 100_000 + "]" * 100_000,
    "nested past the limit": json.dumps({"basin": [[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]}),
    "a 5000-digit integer": '{"basin": ' + "9" * 5000 + "}",
    "a lone surrogate": '{"basin": "\\ud800abcdefgh"}',
    "not UTF-8": b'{"basin": "\xff\xfe"}',
}  # fmt: skip


@pytest.mark.parametrize("body", BAD_BODIES.values(), ids=BAD_BODIES.keys())
def test_hostile_json_is_a_400(server: Server, body: str | bytes) -> None:
    headers = {"authorization": f"Bearer {ROOT}", "content-type": "application/json"}
    with httpx.Client(base_url=server.endpoint) as http:
        r = http.post("/v1/basins", content=body, headers=headers)
    assert r.status_code == 400 and r.json()["code"] == "bad_json", r.text


@pytest.mark.parametrize(
    "path",
    [
        "/v1/basins?limit=" + "9" * 5000,
        "/v1/metrics?set=account-ops&start=" + "9" * 5000,
        "/v1/streams/s/records?seq_num=" + "9" * 5000,
        "/v1/streams/s/records?seq_num=18446744073709551616",
    ],
)
def test_huge_numbers_in_queries_are_a_400(server: Server, path: str) -> None:
    headers = {"authorization": f"Bearer {ROOT}", "s2-basin": "any-basin-name"}
    with httpx.Client(base_url=server.endpoint) as http:
        r = http.get(path, headers=headers)
    assert r.status_code == 400 and r.json()["code"] == "bad_query", r.text


def test_a_hostile_stream_config_header_is_a_400(server: Server) -> None:
    headers = {"authorization": f"Bearer {ROOT}", "s2-basin": "any-basin-name",
               "s2-stream-config": "[" * 10_000}  # fmt: skip
    with httpx.Client(base_url=server.endpoint) as http:
        r = http.get("/v1/streams/s/records?seq_num=0", headers=headers)
    assert r.status_code == 400 and r.json()["code"] == "bad_header", r.text


async def test_a_retention_near_two_to_the_64_works(root: S2) -> None:
    await root.create_basin("retention-basin")
    basin = root["retention-basin"]
    await basin.create_stream("forever", config=StreamConfig(retention_policy=2**64 - 1))
    ack = await basin["forever"].append(AppendInput([Record(b"kept")]))
    batch = await basin["forever"].read(start=SeqNum(ack.start.seq_num))
    assert [r.body for r in batch.records] == [b"kept"]
    with pytest.raises(S2ServerError) as err:
        await basin.create_stream("past", config=StreamConfig(retention_policy=2**64))
    assert err.value.status_code in (400, 422)


async def _scoped(root: S2, token_id: str, *ops: Operation, **scope: object) -> str:
    return await root.issue_access_token(
        token_id,
        scope=AccessTokenScope(
            basins=scope.get("basins") or PrefixMatch(""),  # type: ignore[arg-type]
            streams=PrefixMatch(""),
            ops=list(ops),
        ),
        expires_at=scope.get("expires_at"),  # type: ignore[arg-type]
    )


async def test_ensure_is_authorized_as_what_it_turns_out_to_be(server: Server, root: S2) -> None:
    """PUT ensure with a token that may only reconfigure: the stream existed when the
    request started, but is gone when its body arrives: creating it is refused."""
    await root.create_basin("ensure-race")
    basin = root["ensure-race"]
    await basin.create_stream("s")
    token = await _scoped(root, "reconfigure-only", Operation.RECONFIGURE_STREAM)
    body_may_go = asyncio.Event()

    async def stalled_body() -> AsyncIterator[bytes]:
        await body_may_go.wait()
        yield b'{"retention_policy": {"age": 60}}'

    headers = {"authorization": f"Bearer {token}", "s2-basin": "ensure-race",
               "content-type": "application/json"}  # fmt: skip
    async with httpx.AsyncClient(base_url=server.endpoint, http2=True, timeout=30) as http:
        put = asyncio.create_task(
            http.put("/v1/streams/s", content=stalled_body(), headers=headers)
        )
        await asyncio.sleep(0.2)
        await basin.delete_stream("s")
        for _ in range(100):  # until it is gone, not just deleting
            if not [s async for s in basin.list_all_streams(include_deleted=True)]:
                break
            await asyncio.sleep(0.1)
        body_may_go.set()
        response = await put
    assert response.status_code == 403 and response.json()["code"] == "permission_denied"
    assert [s async for s in basin.list_all_streams(include_deleted=True)] == []


async def test_sessions_end_when_their_token_is_revoked(server: Server, root: S2) -> None:
    await root.create_basin("revoked-sessions")
    await root["revoked-sessions"].create_stream("s")
    token = await _scoped(root, "revoke-me", Operation.APPEND, Operation.READ)
    async with _client(server, token) as s2:
        stream = s2["revoked-sessions"]["s"]
        reader = stream.read_session(start=SeqNum(0))
        session = stream.append_session()
        await (await session.submit(AppendInput([Record(b"before")])))
        first = await asyncio.wait_for(anext(reader), 5)
        assert [r.body for r in first.records] == [b"before"]
        await root.revoke_access_token("revoke-me")
        started = asyncio.get_running_loop().time()
        with pytest.raises(S2ServerError) as read_err:
            async with asyncio.timeout(10):
                async for _ in reader:
                    pass
        assert read_err.value.code == "authn"
        assert asyncio.get_running_loop().time() - started < 5
        with pytest.raises(S2ServerError) as append_err:
            for _ in range(50):
                await (await session.submit(AppendInput([Record(b"after")])))
                await asyncio.sleep(0.1)
        assert append_err.value.code == "authn"
        with pytest.raises(S2ServerError):
            await session.close()  # the error that ended it
    tail = await root["revoked-sessions"]["s"].check_tail()
    assert tail.seq_num < 10  # nothing went in for long after the revocation


async def test_a_session_ends_when_its_token_expires(server: Server, root: S2) -> None:
    await root.create_basin("expiring-sessions")
    await root["expiring-sessions"].create_stream("s")
    expires = datetime.now(UTC) + timedelta(seconds=2)
    token = await _scoped(root, "expires-soon", Operation.READ, expires_at=expires)
    async with _client(server, token) as s2:
        with pytest.raises(S2ServerError) as err:
            async with asyncio.timeout(10):
                async for _ in s2["expiring-sessions"]["s"].read_session(start=SeqNum(0)):
                    pass
    assert err.value.code == "authn"
    assert datetime.now(UTC) < expires + timedelta(seconds=5)


async def test_active_basins_lists_only_basins_in_scope(server: Server, root: S2) -> None:
    for name in ("scope-a-basin", "scope-b-basin"):
        await root.create_basin(name)
        await root[name].create_stream("s")
        await root[name]["s"].append(AppendInput([Record(b"x")]))
    token = await _scoped(root, "sees-a", Operation.ACCOUNT_METRICS, basins=PrefixMatch("scope-a"))
    async with _client(server, token) as s2:
        (label,) = await s2.account_metrics(set=AccountMetricSet.ACTIVE_BASINS)
    assert isinstance(label, Label) and label.values == ["scope-a-basin"]


def test_a_body_framed_twice_is_refused_and_the_connection_closed(server: Server) -> None:
    """HTTP/1.1 with Content-Length and chunked Transfer-Encoding: a second request hidden
    after the chunk terminator must never be answered (request smuggling)."""
    body = b"0\r\n\r\nGET /health HTTP/1.1\r\nHost: x\r\n\r\n"
    head = (b"POST /v1/basins HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            b"Content-Length: %d\r\nTransfer-Encoding: chunked\r\n\r\n" % len(body))  # fmt: skip
    with socket.create_connection(("127.0.0.1", server.port), timeout=5) as sock:
        sock.sendall(head + body)
        received = b""
        while data := sock.recv(65536):  # until the server closes the connection
            received += data
    assert received.startswith(b"HTTP/1.1 400")
    assert received.count(b"HTTP/1.1") == 1  # the hidden request got no answer


def test_sigterm_with_requests_in_flight_exits_cleanly(tmp_path: Path) -> None:
    """SIGTERM while sessions and long polls are open: the server drains, then exits 0
    within a bounded time, printing no traceback."""
    with serve_process("--data-dir", str(tmp_path / "data")) as (proc, endpoint):

        async def load() -> float:
            async with S2("t", endpoints=Endpoints(endpoint, endpoint), retry=Retry(1)) as s2:
                await s2.create_basin("sigterm-basin")
                await s2["sigterm-basin"].create_stream("s")
                stream = s2["sigterm-basin"]["s"]
                polls = [
                    asyncio.create_task(stream.read(start=SeqNum(0), wait=30, clamp_to_tail=True))
                    for _ in range(20)
                ]
                session = stream.append_session()
                await (await session.submit(AppendInput([Record(b"x")])))
                await asyncio.sleep(0.3)
                started = time.monotonic()
                proc.terminate()
                await asyncio.to_thread(proc.wait, 20)
                took = time.monotonic() - started
                await asyncio.gather(*polls, return_exceptions=True)
                with contextlib.suppress(S2Error):
                    await session.close()
                return took

        took = asyncio.run(load())
        stderr = proc.stderr.read()
    assert proc.returncode == 0, stderr
    assert took < 10
    assert "Traceback" not in stderr and "never awaited" not in stderr, stderr


def test_sigterm_right_after_a_burst_of_resets_exits_cleanly() -> None:
    """18,300 HEADERS + RST_STREAM pairs on one connection, then SIGTERM at once: exit 0,
    nothing on stderr but log lines (hypercorn died with h2 tracebacks here)."""
    with serve_process() as (proc, endpoint):
        port = urlsplit(endpoint).port
        conn = h2.connection.H2Connection(h2.config.H2Configuration(client_side=True))
        conn.initiate_connection()
        headers = [(":method", "GET"), (":scheme", "http"), (":authority", "x"),
                   (":path", "/v1/streams/s/records?seq_num=0&wait=30"), ("s2-basin", "b")]  # fmt: skip
        for i in range(18_300):
            conn.send_headers(1 + 2 * i, headers)
            conn.reset_stream(1 + 2 * i)
        with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
            with contextlib.suppress(OSError):  # the server may close it (rapid resets)
                sock.sendall(conn.data_to_send())
            proc.terminate()
            started = time.monotonic()
            proc.wait(20)
        took = time.monotonic() - started
        stderr = proc.stderr.read()
    assert proc.returncode == 0, stderr
    assert took < 10
    assert "Traceback" not in stderr and "never awaited" not in stderr, stderr
