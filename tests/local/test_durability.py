"""Durable mode: acknowledged data survives SIGKILL, restarts recover all state."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import httpx
import pytest
from s2_local.server import ServerProcess

BASIN = "durable-basin"
H = {"s2-basin": BASIN}


def _appender(
    endpoint: str, stream: str, round_: int, acked: list[tuple[int, str]], stop: threading.Event
) -> None:
    n = 0
    with httpx.Client(base_url=endpoint, timeout=5) as c:
        while not stop.is_set():
            tag = f"{stream}-{round_}-{n}"
            try:
                r = c.post(
                    f"/v1/streams/{stream}/records",
                    json={"records": [{"body": f"{tag}/{i}"} for i in range(5)]},
                    headers=H,
                )
            except httpx.HTTPError:
                return
            if r.status_code != 200:
                return
            acked.append((r.json()["start"]["seq_num"], tag))
            n += 1


@pytest.mark.slow
def test_acknowledged_appends_survive_sigkill(tmp_path: Path) -> None:
    streams = ["s0", "s1", "s2"]
    acked: dict[str, list[tuple[int, str]]] = {s: [] for s in streams}
    for round_ in range(3):
        server = ServerProcess(data_dir=tmp_path).start()
        with httpx.Client(base_url=server.endpoint, timeout=5) as c:
            if round_ == 0:
                assert c.post("/v1/basins", json={"basin": BASIN}).status_code == 201
                for s in streams:
                    assert c.post("/v1/streams", json={"stream": s}, headers=H).status_code == 201
        stop = threading.Event()
        threads = [
            threading.Thread(target=_appender, args=(server.endpoint, s, round_, acked[s], stop))
            for s in streams
        ]
        for t in threads:
            t.start()
        time.sleep(0.7)
        server.kill()
        stop.set()
        for t in threads:
            t.join()
    server = ServerProcess(data_dir=tmp_path).start()
    try:
        with httpx.Client(base_url=server.endpoint, timeout=10) as c:
            for s in streams:
                records: list[dict] = []
                while True:
                    r = c.get(
                        f"/v1/streams/{s}/records",
                        params={"seq_num": len(records), "count": 1000, "wait": 0},
                        headers=H,
                    )
                    if r.status_code == 416:
                        break
                    batch = r.json()["records"]
                    if not batch:
                        break
                    records += batch
                assert [r["seq_num"] for r in records] == list(range(len(records)))
                bodies = [r["body"] for r in records]
                assert len(bodies) % 5 == 0, "a batch is half-visible"
                for i in range(0, len(bodies), 5):
                    tag = bodies[i].split("/")[0]
                    assert bodies[i : i + 5] == [f"{tag}/{j}" for j in range(5)]
                present = {bodies[i].split("/")[0]: i for i in range(0, len(bodies), 5)}
                assert len(acked[s]) > 10
                for seq, tag in acked[s]:
                    assert present.get(tag) == seq, f"acknowledged batch {tag} lost"
    finally:
        server.stop()


def test_restart_recovers_configs_fencing_trims_and_deletions(tmp_path: Path) -> None:
    server = ServerProcess(data_dir=tmp_path).start()
    with httpx.Client(base_url=server.endpoint, timeout=5) as c:
        c.post("/v1/basins", json={"basin": BASIN, "config": {"create_stream_on_append": True}})
        c.post(
            "/v1/streams",
            json={"stream": "cfg", "config": {"retention_policy": {"infinite": {}}}},
            headers=H,
        )
        c.post(
            "/v1/streams/cfg/records",
            json={
                "records": [
                    {"body": "a"},
                    {"body": "b"},
                    {"headers": [["", "fence"]], "body": "tok"},
                ]
            },
            headers=H,
        )
        trim = {"headers": [["", "dHJpbQ=="]], "body": "AAAAAAAAAAE="}
        c.post(
            "/v1/streams/cfg/records",
            json={"records": [trim]},
            headers={**H, "s2-format": "base64"},
        )
        c.post("/v1/streams", json={"stream": "gone"}, headers=H)
        assert c.delete("/v1/streams/gone", headers=H).status_code == 202
    server.stop()
    server = ServerProcess(data_dir=tmp_path).start()
    try:
        with httpx.Client(base_url=server.endpoint, timeout=5) as c:
            assert c.get(f"/v1/basins/{BASIN}").json()["create_stream_on_append"] is True
            cfg = c.get("/v1/streams/cfg", headers=H).json()
            assert cfg["retention_policy"] == {"infinite": {}}
            assert c.get("/v1/streams/cfg/records/tail", headers=H).json()["tail"]["seq_num"] == 4
            r = c.post(
                "/v1/streams/cfg/records", json={"records": [{}], "fencing_token": "x"}, headers=H
            )
            assert r.json() == {"fencing_token_mismatch": "tok"}
            got = c.get("/v1/streams/cfg/records", params={"seq_num": 0}, headers=H).json()
            assert [r["seq_num"] for r in got["records"]] == [1, 2, 3]
            assert c.get("/v1/streams/gone", headers=H).status_code in (404, 409)
    finally:
        server.stop()


def test_a_second_server_cannot_share_the_data_dir(tmp_path: Path) -> None:
    server = ServerProcess(data_dir=tmp_path).start()
    try:
        with pytest.raises(RuntimeError, match="exited"):
            ServerProcess(data_dir=tmp_path).start(timeout=10)
    finally:
        server.stop()
