"""Retention, delete-on-empty and deletion clean-up, driven by an injected clock."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from s2_local.engine.clock import ManualClock
from s2_local.server import Server

H = {"s2-basin": "clocked-basin"}


@pytest.fixture
def clocked() -> Iterator[tuple[Server, ManualClock, httpx.Client]]:
    clock = ManualClock()
    with Server(clock=clock) as server, httpx.Client(base_url=server.endpoint) as c:
        assert c.post("/v1/basins", json={"basin": "clocked-basin"}).status_code == 201
        yield server, clock, c


def test_retention_expires_old_records(clocked: tuple[Server, ManualClock, httpx.Client]) -> None:
    server, clock, c = clocked
    c.post(
        "/v1/streams", json={"stream": "r", "config": {"retention_policy": {"age": 60}}}, headers=H
    )
    c.post("/v1/streams/r/records", json={"records": [{"body": "old"}]}, headers=H)
    clock.advance(30)
    c.post("/v1/streams/r/records", json={"records": [{"body": "new"}]}, headers=H)
    clock.advance(31)
    server.run(server.account.maintain())
    got = c.get("/v1/streams/r/records", params={"seq_num": 0}, headers=H).json()
    assert [(r["seq_num"], r["body"]) for r in got["records"]] == [(1, "new")]
    clock.advance(30)
    got = c.get("/v1/streams/r/records", params={"seq_num": 0, "count": 5}, headers=H).json()
    assert got == {"records": []}
    assert c.get("/v1/streams/r/records/tail", headers=H).json()["tail"]["seq_num"] == 2


def test_delete_on_empty(clocked: tuple[Server, ManualClock, httpx.Client]) -> None:
    server, clock, c = clocked
    config = {"delete_on_empty": {"min_age_secs": 100}, "retention_policy": {"age": 10}}
    c.post("/v1/streams", json={"stream": "doe", "config": config}, headers=H)
    c.post("/v1/streams", json={"stream": "keep"}, headers=H)
    c.post("/v1/streams/doe/records", json={"records": [{"body": "x"}]}, headers=H)
    clock.advance(50)
    server.run(server.account.maintain())
    assert c.get("/v1/streams/doe", headers=H).status_code == 200
    clock.advance(60)
    server.run(server.account.maintain())
    assert c.get("/v1/streams/doe", headers=H).json()["code"] == "stream_deletion_pending"
    clock.advance(1)
    server.run(server.account.maintain())
    assert c.get("/v1/streams/doe", headers=H).json()["code"] == "stream_not_found"
    assert c.get("/v1/streams/keep", headers=H).status_code == 200


def test_basin_deletion_removes_streams_then_the_basin(
    clocked: tuple[Server, ManualClock, httpx.Client],
) -> None:
    server, clock, c = clocked
    for s in ("a", "b"):
        c.post("/v1/streams", json={"stream": s}, headers=H)
    assert c.delete("/v1/basins/clocked-basin").status_code == 202
    listed = c.get("/v1/streams", headers=H).json()["streams"]
    assert all(s["deleted_at"] for s in listed) and len(listed) == 2
    clock.advance(1)
    server.run(server.account.maintain())
    assert c.get("/v1/basins/clocked-basin").status_code == 404
    assert c.post("/v1/basins", json={"basin": "clocked-basin"}).status_code == 201
    assert c.get("/v1/streams", headers=H).json()["streams"] == []
