"""Locations and usage metrics, counted from real traffic."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from s2_local.engine.clock import ManualClock
from s2_local.server import Server

H = {"s2-basin": "metric-basin"}


@pytest.fixture
def client() -> Iterator[tuple[httpx.Client, ManualClock]]:
    clock = ManualClock(start=1_800_000_000)
    with Server(clock=clock) as server, httpx.Client(base_url=server.endpoint) as c:
        yield c, clock


def test_locations(client: tuple[httpx.Client, ManualClock]) -> None:
    c, _ = client
    names = [loc["name"] for loc in c.get("/v1/locations").json()]
    assert names == ["aws:us-east-1", "aws:us-west-2", "aws:eu-north-1"]
    default = {
        "name": "aws:us-east-1",
        "is_private": False,
        "storage_classes": ["standard", "express"],
        "default_storage_class": "express",
    }
    assert c.get("/v1/locations/default").json() == default
    r = c.put("/v1/locations/default", json="aws:eu-north-1")
    assert r.json()["name"] == "aws:eu-north-1"
    created = c.post("/v1/basins", json={"basin": "located-basin"}).json()
    assert created["location"] == "aws:eu-north-1"
    pinned = c.post("/v1/basins", json={"basin": "pinned-basin", "location": "aws:us-west-2"})
    assert pinned.json()["location"] == "aws:us-west-2"
    r = c.post("/v1/basins", json={"basin": "nowhere-basin", "location": "mars:olympus-1"})
    assert (r.status_code, r.json()["code"]) == (422, "invalid")
    r = c.put("/v1/locations/default", json="mars:olympus-1")
    assert (r.status_code, r.json()["code"]) == (422, "invalid")
    r = c.put("/v1/locations/default", json={"name": "aws:us-east-1"})
    assert (r.status_code, r.json()["code"]) == (400, "bad_json")


def test_metrics_count_real_traffic(client: tuple[httpx.Client, ManualClock]) -> None:
    c, clock = client
    c.post("/v1/basins", json={"basin": "metric-basin"})
    c.post("/v1/streams", json={"stream": "s"}, headers=H)
    for _ in range(3):
        c.post("/v1/streams/s/records", json={"records": [{"body": "x" * 92}]}, headers=H)
    clock.advance(120)
    c.get("/v1/streams/s/records", params={"seq_num": 0}, headers=H)
    now = int(clock.now())

    def metric(path: str, **params: object) -> dict:
        r = c.get(path, params={"start": now - 3600, "end": now, **params})
        assert r.status_code == 200, r.text
        (value,) = r.json()["values"]
        return value

    appends = metric("/v1/metrics/metric-basin", set="append-ops", interval="minute")[
        "accumulation"
    ]
    assert appends["unit"] == "operations" and sum(v for _, v in appends["values"]) == 3
    throughput = metric("/v1/metrics/metric-basin", set="append-throughput")["accumulation"]
    assert throughput["unit"] == "bytes" and sum(v for _, v in throughput["values"]) == 300
    reads = metric("/v1/metrics/metric-basin", set="read-ops")["accumulation"]
    assert sum(v for _, v in reads["values"]) == 1
    read_bytes = metric("/v1/metrics/metric-basin", set="read-throughput")["accumulation"]
    assert sum(v for _, v in read_bytes["values"]) == 300
    storage = metric("/v1/metrics/metric-basin/s", set="storage")["gauge"]
    assert storage["unit"] == "bytes" and storage["values"][-1][1] == 300
    basin_storage = metric("/v1/metrics/metric-basin", set="storage")["gauge"]
    assert basin_storage["values"][-1][1] == 300
    basin_ops = metric("/v1/metrics/metric-basin", set="basin-ops")["accumulation"]
    assert sum(v for _, v in basin_ops["values"]) >= 1
    active = metric("/v1/metrics", set="active-basins")["label"]
    assert active["values"] == ["metric-basin"]
    account_ops = metric("/v1/metrics", set="account-ops", interval="hour")["accumulation"]
    assert account_ops["interval"] == "hour" and sum(v for _, v in account_ops["values"]) >= 1


def test_metrics_reject_bad_ranges(client: tuple[httpx.Client, ManualClock]) -> None:
    c, clock = client
    now = int(clock.now())
    cases = [
        ({"set": "account-ops", "start": now, "end": now - 10}, 422, "invalid"),
        ({"set": "account-ops", "end": now + 3600}, 422, "invalid"),
        ({"set": "estimated-billable-usage", "interval": "minute"}, 422, "invalid"),
        ({"set": "nope"}, 400, "bad_query"),
        ({}, 400, "bad_query"),
        ({"set": "account-ops", "interval": "week"}, 400, "bad_query"),
        ({"set": "account-ops", "start": "yesterday"}, 400, "bad_query"),
    ]
    for params, status, code in cases:
        r = c.get("/v1/metrics", params=params)
        assert (r.status_code, r.json()["code"]) == (status, code), params
    r = c.get("/v1/metrics/missing-basin", params={"set": "storage"})
    assert (r.status_code, r.json()["code"]) == (404, "basin_not_found")
    # any range in the past is fine (the API has no age limit): nothing was counted then
    r = c.get("/v1/metrics", params={"set": "account-ops", "start": 0, "end": 1})
    assert r.status_code == 200
    assert r.json()["values"][0]["accumulation"]["values"] == []


def test_estimated_billable_usage_is_zero_dollars_per_dimension(
    client: tuple[httpx.Client, ManualClock],
) -> None:
    c, _ = client
    c.post("/v1/basins", json={"basin": "usage-basin"})
    r = c.get("/v1/metrics", params={"set": "estimated-billable-usage", "interval": "day"})
    assert r.status_code == 200
    series = {v["accumulation"]["name"]: v["accumulation"] for v in r.json()["values"]}
    assert set(series) == {"storage", "append-throughput", "read-throughput", "total"}
    for s in series.values():
        assert s["unit"] == "usd" and s["interval"] == "day"
        assert all(value == 0.0 for _, value in s["values"])
