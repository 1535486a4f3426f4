"""--init-file: basins and streams created or reconfigured at every start, in s2-lite's format."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from s2_local.engine.init_file import parse_duration
from s2_local.server import Server, ServerProcess
from s2_sdk import (
    AppendInput,
    Endpoints,
    Record,
    SeqNum,
    StreamConfig,
    Timestamping,
    TimestampingMode,
)
from s2_sdk.sync import S2


def client_for(endpoint: str) -> S2:
    return S2("t", endpoints=Endpoints(endpoint, endpoint))


FIRST = {
    "basins": [
        {
            "name": "init-basin",
            "config": {
                "default_stream_config": {"retention_policy": "7days"},
                "create_stream_on_append": True,
            },
            "streams": [
                {
                    "name": "events",
                    "config": {
                        "retention_policy": "2h 30m",
                        "timestamping": {"mode": "arrival"},
                        "delete_on_empty": {"min_age": "1d"},
                    },
                },
                {"name": "plain"},
            ],
        },
        {"name": "empty-basin"},
    ]
}


def test_applied_at_start_and_again_over_a_data_dir(tmp_path: Path) -> None:
    init = tmp_path / "init.json"
    init.write_text(json.dumps(FIRST))
    data = tmp_path / "data"
    server = ServerProcess(data_dir=data, init_file=init).start()
    try:
        with client_for(server.endpoint) as s2:
            assert {b.name for b in s2.list_all_basins()} == {"init-basin", "empty-basin"}
            basin = s2.get_basin_config("init-basin")
            assert basin.create_stream_on_append is True
            assert basin.default_stream_config.retention_policy == 7 * 86400
            events = s2["init-basin"].get_stream_config("events")
            assert events.retention_policy == 9000
            assert events.timestamping.mode == TimestampingMode.ARRIVAL
            assert events.delete_on_empty_min_age == 86400
            assert s2["init-basin"].get_stream_config("plain").retention_policy == 7 * 86400
            s2["init-basin"]["events"].append(AppendInput([Record(b"kept")]))
            uncapped = StreamConfig(timestamping=Timestamping(uncapped=True))
            s2["init-basin"].reconfigure_stream("plain", config=uncapped)
    finally:
        server.stop()
    second = json.loads(json.dumps(FIRST))
    second["basins"][0]["streams"][0]["config"] = {"retention_policy": "INFINITE"}
    second["basins"][0]["streams"].append(
        {"name": "added", "config": {"storage_class": "standard"}}
    )
    init.write_text(json.dumps(second))
    server = ServerProcess(data_dir=data, init_file=init).start()
    try:
        with client_for(server.endpoint) as s2:
            events = s2["init-basin"].get_stream_config("events")
            assert events.retention_policy == "infinite"  # reconfigured to the file
            assert events.timestamping.mode == TimestampingMode.ARRIVAL  # left as it was
            assert s2["init-basin"].get_stream_config("added").storage_class == "standard"
            plain = s2["init-basin"].get_stream_config("plain")
            assert plain.timestamping.uncapped is True  # the file names no config: untouched
            records = s2["init-basin"]["events"].read(start=SeqNum(0)).records
            assert [r.body for r in records] == [b"kept"]
    finally:
        server.stop()


def test_applying_twice_in_one_account_changes_nothing(tmp_path: Path) -> None:
    init = tmp_path / "init.json"
    init.write_text(json.dumps(FIRST))
    with Server(init_file=init) as server, client_for(server.endpoint) as s2:
        before = s2["init-basin"].get_stream_config("events")
        server.run(server._app.init.apply(server.account))  # type: ignore[union-attr]
        assert s2["init-basin"].get_stream_config("events") == before
        assert sorted(s.name for s in s2["init-basin"].list_all_streams()) == [
            "events",
            "plain",
        ]


def test_a_bad_file_stops_the_server_before_it_listens(tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text(
        json.dumps(
            {
                "basins": [
                    {"name": "ok-basin", "streams": [{"name": "s"}, {"name": "s"}]},
                    {"name": "ok-basin"},
                    {"name": "Bad_Name"},
                    {"name": "other-basin", "colour": "blue"},
                    {
                        "name": "third-basin",
                        "streams": [{"name": "t", "config": {"retention_policy": "7 parsecs"}}],
                    },
                ]
            }
        )
    )
    done = subprocess.run(
        [sys.executable, "-m", "s2_local", "serve", "--port", "0", "--init-file", str(bad)],
        capture_output=True, text=True, timeout=30,
    )  # fmt: skip
    assert done.returncode != 0
    assert "serving" not in done.stdout
    for problem in (
        str(bad),
        "5 problem(s)",
        "stream 's' appears twice",
        "basin 'ok-basin' appears twice",
        "invalid name 'Bad_Name'",
        "unknown key 'colour'",
        "unknown unit 'parsecs'",
    ):
        assert problem in done.stderr, done.stderr


def test_the_environment_variable_names_the_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    init = tmp_path / "init.json"
    init.write_text(json.dumps({"basins": [{"name": "from-env"}]}))
    monkeypatch.setenv("S2_LOCAL_INIT_FILE", str(init))
    server = ServerProcess().start()
    try:
        with client_for(server.endpoint) as s2:
            assert [b.name for b in s2.list_all_basins()] == ["from-env"]
    finally:
        server.stop()


def test_unreadable_or_broken_json_is_named(tmp_path: Path) -> None:
    broken = tmp_path / "broken.json"
    broken.write_text("{not json")
    for path in (broken, tmp_path / "missing.json"):
        with pytest.raises(Exception, match=str(path)):
            Server(init_file=path)


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("7days", 604800), ("1week", 604800), ("1h", 3600), ("2h 30m", 9000), ("0s", 0),
     ("90sec", 90), ("1d 2h", 93600), ("500ms", 0)],
)  # fmt: skip
def test_human_durations(text: str, seconds: int) -> None:
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["", "7", "days", "7 parsecs", "1h and more", "-1h"])
def test_not_durations(text: str) -> None:
    with pytest.raises(ValueError):
        parse_duration(text)
