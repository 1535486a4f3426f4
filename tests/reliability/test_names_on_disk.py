"""Odd stream names in durable mode: stored safely, nothing written outside the data dir.

(The op × scope matrix, expired and revoked tokens, and tokens kept out of logs are in
``tests/local/test_access.py``.)
"""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from s2_local.server import Server, ServerProcess
from s2_sdk import AppendInput, Record, S2ClientError, SeqNum
from s2_sdk.sync import connect

ODD_NAMES = [
    "a/b/c",
    "../../escape",
    "./.",
    "/leading-slash",
    "back\\slash",
    "%2e%2e%2f",
    "with space and\ttab",
    "日本語/ストリーム",
    "emoji-🚀",
    "é" * 256,  # 512 bytes
    "x" * 512,
]


def test_odd_stream_names_round_trip_and_stay_inside_the_data_dir(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    server = ServerProcess(data_dir=data_dir).start()
    try:
        with connect("t", server.endpoint) as client:
            client.create_basin("odd-names-basin")
            basin = client["odd-names-basin"]
            for name in ODD_NAMES:
                basin.create_stream(name)
                basin[name].append(AppendInput([Record(body=name.encode())]))
        server.stop()
        server = ServerProcess(data_dir=data_dir, port=server.port).start()
        with connect("t", server.endpoint) as client:
            basin = client["odd-names-basin"]
            assert sorted(s.name for s in basin.list_streams().items) == sorted(ODD_NAMES)
            for name in ODD_NAMES:
                assert [r.body for r in basin[name].read(start=SeqNum(0)).records] == [
                    name.encode()
                ]
    finally:
        server.stop()
    assert [p.name for p in tmp_path.iterdir()] == ["data"]
    assert all(p.resolve().is_relative_to(data_dir.resolve()) for p in data_dir.rglob("*"))


@pytest.mark.parametrize("name", ["..", ".", "x" * 513, "nul\x00byte"])
def test_invalid_stream_names_are_refused_by_client_and_server(name: str) -> None:
    with Server() as server, connect("t", server.endpoint) as client:
        client.create_basin("bad-names-basin")
        with pytest.raises(S2ClientError, match="stream name"):
            client["bad-names-basin"].create_stream(name)
        r = httpx.post(
            f"{server.endpoint}/v1/streams",
            json={"stream": name},
            headers={"s2-basin": "bad-names-basin"},
        )
        assert r.status_code in (400, 422), r.text
        assert "stream" in r.json()["message"]


def test_a_wrong_token_is_not_echoed(tmp_path: Path) -> None:
    secret = "root-secret-token-value-1234"
    wrong = "wrong-secret-token-value-5678"
    server = ServerProcess(data_dir=tmp_path, root_token=secret).start()
    try:
        r = httpx.get(f"{server.endpoint}/v1/basins", headers={"authorization": f"Bearer {wrong}"})
        assert r.status_code == 401
        assert wrong not in r.text and secret not in r.text
    finally:
        server.stop()
    stored = b"".join(p.read_bytes() for p in tmp_path.rglob("*") if p.is_file())
    assert secret.encode() not in stored and wrong.encode() not in stored
