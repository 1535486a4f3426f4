"""GET /metrics: the server's own metrics, in Prometheus' text format."""

from __future__ import annotations

from pathlib import Path

import httpx
from prometheus_client.parser import text_string_to_metric_families
from s2_local.server import Server
from s2_sdk import AppendInput, Endpoints, ReadLimit, Record, SeqNum
from s2_sdk.sync import S2


def scrape(
    endpoint: str, token: str | None = None
) -> dict[str, list[tuple[dict[str, str], float]]]:
    headers = {"authorization": f"Bearer {token}"} if token else {}
    r = httpx.get(f"{endpoint}/metrics", headers=headers)
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("text/plain; version=0.0.4")
    found: dict[str, list[tuple[dict[str, str], float]]] = {}
    for family in text_string_to_metric_families(r.text):
        for sample in family.samples:
            found.setdefault(sample.name, []).append((sample.labels, sample.value))
    return found


def value(found: dict[str, list[tuple[dict[str, str], float]]], name: str, **labels: str) -> float:
    return sum(
        v for got, v in found.get(name, []) if all(got.get(k) == w for k, w in labels.items())
    )


def test_traffic_shows_in_the_metrics(tmp_path: Path) -> None:
    with (
        Server(data_dir=tmp_path) as server,
        S2("t", endpoints=Endpoints(server.endpoint, server.endpoint)) as s2,
    ):
        s2.create_basin("prom-basin")
        s2["prom-basin"].create_stream("s")
        stream = s2["prom-basin"]["s"]
        for _ in range(3):
            stream.append(AppendInput([Record(b"x" * 92) for _ in range(10)]))  # 100 B metered each
        assert len(stream.read(start=SeqNum(0), limit=ReadLimit(count=25)).records) == 25
        session = stream.read_session(start=SeqNum(0))
        next(iter(session))
        found = scrape(server.endpoint)
        session.close()
        httpx.get(f"{server.endpoint}/v1/nothing")
        after = scrape(server.endpoint)
    assert value(found, "s2_local_appended_records_total") == 30
    assert value(found, "s2_local_appended_bytes_total") == 3000
    assert value(found, "s2_local_read_records_total") == 25 + 30  # unary 25, the session 30
    assert value(found, "s2_local_read_bytes_total") == 100 * value(
        found, "s2_local_read_records_total"
    )
    assert value(found, "s2_local_basins") == 1 and value(found, "s2_local_streams") == 1
    assert value(found, "s2_local_open_sessions") == 1
    assert value(found, "s2_local_storage_bytes") > 0
    assert value(found, "s2_local_wal_fsync_seconds_count") >= 3  # durable: every append synced
    assert (
        value(
            found,
            "s2_local_requests_total",
            route="/v1/streams/{stream}/records",
            method="POST",
            status="200",
        )
        == 3
    )
    assert (
        value(found, "s2_local_requests_total", route="/v1/basins", method="POST", status="201")
        == 1
    )
    assert value(after, "s2_local_requests_total", route="unmatched", status="404") == 1
    assert value(after, "s2_local_open_sessions") == 0


def test_a_metrics_token_guards_the_endpoint() -> None:
    with Server(metrics_token="scrape-me") as server:
        assert httpx.get(f"{server.endpoint}/metrics").status_code == 401
        wrong = httpx.get(f"{server.endpoint}/metrics", headers={"authorization": "Bearer nope"})
        assert wrong.status_code == 401 and wrong.json()["code"] == "authn"
        assert "s2_local_streams" in scrape(server.endpoint, "scrape-me")
