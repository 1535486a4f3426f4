"""Durable mode: acknowledged data survives SIGKILL, restarts recover all state."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from faults.outages import sigkill_under_load
from s2_local.server import ServerProcess
from s2_sdk import S2, AppendInput, Endpoints, Record
from support.serve_process import serve_process

BASIN = "durable-basin"
H = {"s2-basin": BASIN}


@pytest.mark.slow
def test_acknowledged_appends_survive_sigkill(tmp_path: Path) -> None:
    figures = sigkill_under_load(tmp_path, rounds=3)
    assert figures.intact, figures
    assert figures.checked > 150  # the appenders got work in before each kill


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


def test_a_server_process_exits_when_its_parent_dies() -> None:
    parent = subprocess.Popen(
        [sys.executable, "-c",
         "import time; from s2_local.server import ServerProcess; "
         "s = ServerProcess().start(); print(s.pid, flush=True); time.sleep(60)"],
        stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    assert parent.stdout is not None
    child = int(parent.stdout.readline())
    parent.kill()
    parent.communicate()
    deadline = time.monotonic() + 10
    while _alive(child) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not _alive(child), "s2-local outlived the process that started it"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return Path(f"/proc/{pid}/stat").read_text().split()[2] != "Z"  # a zombie is gone


def test_stopped_with_a_session_open_exits_quietly(tmp_path: Path) -> None:
    """SIGTERM while an append session is open: exit 0, no traceback on stderr."""
    with serve_process() as (proc, endpoint):

        async def open_session_then_stop() -> None:
            async with S2("token", endpoints=Endpoints(endpoint, endpoint)) as client:
                await client.create_basin("quiet-stop")
                await client["quiet-stop"].create_stream("s")
                session = client["quiet-stop"]["s"].append_session()
                ack = await (await session.submit(AppendInput([Record(b"x")])))
                assert ack.end.seq_num == 1
                proc.terminate()
                await asyncio.to_thread(proc.wait, 20)

        asyncio.run(open_session_then_stop())
        stderr = proc.stderr.read()
    assert proc.returncode == 0, stderr
    assert "Traceback" not in stderr and "never awaited" not in stderr, stderr
