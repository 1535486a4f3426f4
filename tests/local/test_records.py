"""Unary append and read, check-tail, SSE, encryption (lite checklist §6.3–6.6)."""

from __future__ import annotations

import base64
import json
import os
import struct
import threading
import time

import httpx
import pytest
from s2_sdk.protocol import Codec, compress, pb
from support.rest import Api

PROTO = "application/x-protobuf"


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def _bodies(resp: httpx.Response) -> list[str]:
    return [r.get("body", "") for r in resp.json()["records"]]


def test_append_then_read_back(api: Api) -> None:
    api.create_stream("s")
    r = api.append("s", [{"body": "a"}, {"body": "b", "headers": [["k", "v"]]}, {}])
    assert r.status_code == 200, r.text
    ack = r.json()
    assert (ack["start"]["seq_num"], ack["end"]["seq_num"], ack["tail"]["seq_num"]) == (0, 3, 3)
    got = api.read("s", seq_num=0).json()
    assert [rec["seq_num"] for rec in got["records"]] == [0, 1, 2]
    assert got["records"][1]["headers"] == [["k", "v"]]
    assert "body" not in got["records"][2] and "headers" not in got["records"][2]
    assert "tail" not in got
    assert api.tail("s") == ack["end"]


def test_concurrent_appends_are_gapless(api: Api, s2_server) -> None:
    api.create_stream("s")
    errors: list[str] = []

    def worker(i: int) -> None:
        with httpx.Client(base_url=s2_server.account_endpoint) as c:
            r = c.post(
                "/v1/streams/s/records",
                json={"records": [{"body": str(i)}]},
                headers={"s2-basin": api.basin},
            )
            if r.status_code != 200:
                errors.append(r.text)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    got = api.read("s", seq_num=0).json()["records"]
    assert [r["seq_num"] for r in got] == list(range(20))
    assert sorted(int(r["body"]) for r in got) == list(range(20))


def test_protobuf_append_and_read(api: Api) -> None:
    api.create_stream("p")
    inp = pb.AppendInput(
        records=[
            pb.AppendRecord(
                body=b"\x00\xff", headers=[pb.Header(name=b"h", value=b"\x01")], timestamp=5
            )
        ]
    )
    r = api.request(
        "POST",
        "/v1/streams/p/records",
        content=inp.SerializeToString(),
        headers={"content-type": PROTO, "accept": PROTO},
    )
    assert r.headers["content-type"] == "application/protobuf"
    ack = pb.AppendAck.FromString(r.content)
    assert (ack.start.seq_num, ack.end.seq_num, ack.start.timestamp) == (0, 1, 5)
    r = api.request(
        "GET", "/v1/streams/p/records", params={"seq_num": 0}, headers={"accept": PROTO}
    )
    batch = pb.ReadBatch.FromString(r.content)
    assert [(x.seq_num, x.body, x.headers[0].value) for x in batch.records] == [
        (0, b"\x00\xff", b"\x01")
    ]
    r = api.request(
        "POST", "/v1/streams/p/records", content=b"\xff\xff\xff", headers={"content-type": PROTO}
    )
    assert (r.status_code, r.json()["code"]) == (400, "bad_proto")


def test_base64_format(api: Api) -> None:
    api.create_stream("f")
    b64 = {"s2-format": "base64"}
    body = base64.b64encode(b"\xff\x00binary").decode()
    r = api.request(
        "POST", "/v1/streams/f/records", json={"records": [{"body": body}]}, headers=b64
    )
    assert r.status_code == 200, r.text
    r = api.request("GET", "/v1/streams/f/records", params={"seq_num": 0}, headers=b64)
    assert r.json()["records"][0]["body"] == body
    raw = api.read("f", seq_num=0).json()["records"][0]["body"]
    assert raw == "\ufffd\x00binary"
    r = api.request(
        "POST", "/v1/streams/f/records", json={"records": [{"body": "!!"}]}, headers=b64
    )
    assert (r.status_code, r.json()["code"]) == (422, "invalid")
    r = api.request("GET", "/v1/streams/f/records", headers={"s2-format": "hex"})
    assert r.json()["code"] == "bad_header"


def test_batch_limits(api: Api) -> None:
    api.create_stream("l")
    cases = [
        ([], "must not be empty"),
        ([{}] * 1001, "1000 records"),
        ([{"body": "x" * 600_000}, {"body": "y" * 600_000}], "metered size of 1 MiB"),
        ([{"body": "x" * (1024 * 1024)}], "less than 1 MiB"),
        ([{"headers": [["", "fence"], ["a", "b"]]}], "empty name"),
        ([{"headers": [["", "launch"]]}], "unknown command"),
        ([{"headers": [["", "trim"]], "body": "short"}], "8-byte"),
    ]
    for records, message in cases:
        r = api.append("l", records)
        assert (r.status_code, r.json()["code"]) == (422, "invalid"), r.text
        assert message in r.json()["message"]
    r = api.append("l", [{}], fencing_token="x" * 37)
    assert (r.status_code, r.json()["code"]) == (400, "bad_json")
    r = api.request("POST", "/v1/streams/l/records", content=b'{"records": [{}]}')
    assert (r.status_code, r.json()["code"]) == (400, "bad_json")
    assert api.tail("l")["seq_num"] == 0


def test_match_seq_num(api: Api) -> None:
    api.create_stream("m")
    assert api.append("m", [{"body": "0"}], match_seq_num=0).status_code == 200
    assert api.append("m", [{"body": "1"}], match_seq_num=1).status_code == 200
    r = api.append("m", [{"body": "x"}], match_seq_num=0)
    assert (r.status_code, r.json()) == (412, {"seq_num_mismatch": 2})


def test_fencing(api: Api) -> None:
    api.create_stream("f")
    assert api.append("f", [{"body": "a"}], fencing_token="").status_code == 200
    fence = {"headers": [["", "fence"]], "body": "tok-1"}
    assert api.append("f", [fence], fencing_token="").status_code == 200
    r = api.append("f", [{"body": "b"}], fencing_token="")
    assert (r.status_code, r.json()) == (412, {"fencing_token_mismatch": "tok-1"})
    r = api.append("f", [{"body": "b"}], fencing_token="tok-1", match_seq_num=2)
    assert r.status_code == 200
    assert api.append("f", [{"body": "unfenced"}]).status_code == 200
    r = api.append("f", [{"body": "b"}], fencing_token="wrong", match_seq_num=0)
    assert r.json() == {"fencing_token_mismatch": "tok-1"}
    got = api.read("f", seq_num=0).json()["records"]
    assert got[1]["headers"] == [["", "fence"]] and got[1]["body"] == "tok-1"


def test_trim_command(api: Api) -> None:
    api.create_stream("t")
    api.append("t", [{"body": str(i)} for i in range(5)])

    def trim_to(seq: int) -> dict:
        return {"headers": [["", _b64(b"trim")]], "body": _b64(struct.pack(">Q", seq))}

    trim = trim_to(3)
    r = api.request(
        "POST", "/v1/streams/t/records", json={"records": [trim]}, headers={"s2-format": "base64"}
    )
    assert r.status_code == 200
    got = api.read("t", seq_num=0).json()["records"]
    assert [r["seq_num"] for r in got] == [3, 4, 5]
    future = trim_to(1000)
    api.request(
        "POST", "/v1/streams/t/records", json={"records": [future]}, headers={"s2-format": "base64"}
    )
    assert api.read("t", seq_num=0, wait=0, count=10).json()["records"] == []
    assert api.tail("t")["seq_num"] == 7


def test_timestamping_modes(api: Api) -> None:
    now = int(time.time() * 1000)
    api.create_stream("prefer")
    ack = api.append(
        "prefer", [{"timestamp": 1000}, {"timestamp": 900}, {"timestamp": 1100}, {}]
    ).json()
    got = [r["timestamp"] for r in api.read("prefer", seq_num=0).json()["records"]]
    assert got[:3] == [1000, 1000, 1100] and got[3] >= now
    assert ack["end"]["timestamp"] == got[3]
    api.append("prefer", [{"timestamp": 5}])
    assert api.read("prefer", seq_num=4).json()["records"][0]["timestamp"] == got[3]
    api.create_stream("capped")
    api.append("capped", [{"timestamp": now + 10**9}])
    assert api.read("capped", seq_num=0).json()["records"][0]["timestamp"] < now + 10**6
    api.create_stream("uncapped", {"timestamping": {"uncapped": True}})
    api.append("uncapped", [{"timestamp": now + 10**9}])
    assert api.read("uncapped", seq_num=0).json()["records"][0]["timestamp"] == now + 10**9
    api.create_stream("arrival", {"timestamping": {"mode": "arrival"}})
    api.append("arrival", [{"timestamp": 7}])
    assert api.read("arrival", seq_num=0).json()["records"][0]["timestamp"] >= now
    api.create_stream("require", {"timestamping": {"mode": "client-require"}})
    r = api.append("require", [{"timestamp": 123}, {"headers": [["", "fence"]]}])
    assert r.json()["code"] == "invalid"
    assert api.append("require", [{"timestamp": 123}]).json()["start"]["timestamp"] == 123


def test_read_start_positions_and_416(api: Api) -> None:
    api.create_stream("r")
    r = api.read("r", seq_num=0)
    assert (r.status_code, r.json()) == (416, {"tail": {"seq_num": 0, "timestamp": 0}})
    api.append("r", [{"body": str(i), "timestamp": 1000 * (i + 1)} for i in range(10)])
    assert _bodies(api.read("r", tail_offset=2)) == ["8", "9"]
    assert _bodies(api.read("r", tail_offset=100, count=1)) == ["0"]
    assert _bodies(api.read("r", timestamp=2500, count=2)) == ["2", "3"]
    assert api.read("r", seq_num=100).status_code == 416
    assert api.read("r", seq_num=10).status_code == 416
    assert api.read("r").status_code == 416
    assert api.read("r", seq_num=100, clamp=True).status_code == 416
    r = api.read("r", seq_num=100, clamp=True, wait=1)
    assert (r.status_code, r.json()) == (200, {"records": []})
    r = api.read("r", timestamp=10_001, until=2**63)
    assert r.status_code == 416 and r.json()["tail"]["seq_num"] == 10
    assert api.read("r", seq_num=0, tail_offset=1).json()["code"] == "invalid"
    assert api.read("r", seq_num="x").json()["code"] == "bad_query"
    assert api.read("r", seq_num="²").json()["code"] == "bad_query"  # not ASCII digits
    r = api.read("r", timestamp=5000, until=5000)
    assert (r.status_code, r.json()["code"]) == (422, "invalid")


def test_read_limits_and_until(api: Api) -> None:
    api.create_stream("u")
    stamps = [1000, 2000, 2000, 3000]
    api.append("u", [{"body": f"r{i}", "timestamp": ts} for i, ts in enumerate(stamps)])
    assert _bodies(api.read("u", seq_num=0, until=500)) == []
    assert _bodies(api.read("u", seq_num=0, until=2000)) == ["r0"]
    assert _bodies(api.read("u", seq_num=0, until=5000)) == ["r0", "r1", "r2", "r3"]
    assert _bodies(api.read("u", timestamp=2000)) == ["r1", "r2", "r3"]
    assert _bodies(api.read("u", seq_num=0, count=2, until=5000)) == ["r0", "r1"]
    size = 8 + 2
    assert _bodies(api.read("u", seq_num=0, bytes=2 * size)) == ["r0", "r1"]
    assert _bodies(api.read("u", seq_num=0, bytes=size - 1)) == []
    assert _bodies(api.read("u", seq_num=0, count=0)) == []
    api.append("u", [{} for _ in range(1000)])
    assert len(api.read("u", seq_num=0, count=2000).json()["records"]) == 1000


def test_long_poll_returns_when_data_arrives(api: Api) -> None:
    api.create_stream("w")
    timer = threading.Timer(0.3, lambda: api.append("w", [{"body": "late"}]))
    timer.start()
    started = time.monotonic()
    r = api.read("w", seq_num=0, wait=10)
    assert time.monotonic() - started < 5
    body = r.json()
    assert _bodies(r) == ["late"] and body["tail"]["seq_num"] == 1
    started = time.monotonic()
    assert api.read("w", seq_num=1, wait=1).json() == {"records": []}
    assert 0.9 < time.monotonic() - started < 5


def test_auto_create(api: Api) -> None:
    assert api.append("auto", [{}]).json()["code"] == "stream_not_found"
    assert api.read("auto", seq_num=0).json()["code"] == "stream_not_found"
    api.request("PATCH", f"/v1/basins/{api.basin}", json={"create_stream_on_append": True})
    assert api.append("auto", [{"body": "x"}]).json()["end"]["seq_num"] == 1
    assert api.read("other", seq_num=0).json()["code"] == "stream_not_found"
    api.request("PATCH", f"/v1/basins/{api.basin}", json={"create_stream_on_read": True})
    assert api.read("other", timestamp=5, until=5).json()["code"] == "invalid"
    assert api.request("GET", "/v1/streams/other").status_code == 404
    assert api.tail("other") == {"seq_num": 0, "timestamp": 0}
    names = [s["name"] for s in api.request("GET", "/v1/streams").json()["streams"]]
    assert names == ["auto", "other"]


@pytest.mark.parametrize("cipher", ["aegis-256", "aes-256-gcm"])
def test_encryption(api: Api, cipher: str) -> None:
    api.request("PATCH", f"/v1/basins/{api.basin}", json={"stream_cipher": cipher})
    api.create_stream("e")
    key = base64.b64encode(os.urandom(32)).decode()
    hk = {"s2-encryption-key": key}
    r = api.append("e", [{"body": "secret"}])
    assert (r.status_code, r.json()["code"]) == (400, "bad_header")
    r = api.request(
        "POST",
        "/v1/streams/e/records",
        json={"records": [{"body": "secret", "headers": [["h", "v"]]}]},
        headers=hk,
    )
    assert r.status_code == 200, r.text
    api.request(
        "POST",
        "/v1/streams/e/records",
        json={"records": [{"headers": [["", "fence"]], "body": "t"}]},
        headers=hk,
    )
    got = api.request("GET", "/v1/streams/e/records", params={"seq_num": 0}, headers=hk).json()[
        "records"
    ]
    assert [(g.get("headers"), g.get("body")) for g in got] == [
        ([["h", "v"]], "secret"),
        ([["", "fence"]], "t"),
    ]
    wrong = {"s2-encryption-key": base64.b64encode(os.urandom(32)).decode()}
    r = api.request("GET", "/v1/streams/e/records", params={"seq_num": 0}, headers=wrong)
    assert (r.status_code, r.json()["code"]) == (400, "decryption_failed")
    assert api.read("e", seq_num=0).json()["code"] == "bad_header"
    for bad in ("not base64!", base64.b64encode(b"short").decode()):
        r = api.request(
            "GET",
            "/v1/streams/e/records",
            params={"seq_num": 0},
            headers={"s2-encryption-key": bad},
        )
        assert r.json()["code"] == "bad_header"
    assert api.tail("e")["seq_num"] == 2


def test_sse_read_batches_done_and_resume(api: Api) -> None:
    api.create_stream("sse")
    api.append("sse", [{"body": str(i)} for i in range(5)])
    headers = {"accept": "text/event-stream"}
    r = api.request(
        "GET", "/v1/streams/sse/records", params={"seq_num": 0, "count": 3}, headers=headers
    )
    assert r.headers["content-type"] == "text/event-stream"
    events = [e for e in r.text.split("\n\n") if e]
    assert events[-1] == "data: [DONE]"
    lines = events[0].split("\n")
    assert lines[0] == "event: batch" and lines[1] == "id: 2,3,27"
    assert [x["body"] for x in json.loads(lines[2][len("data: ") :])["records"]] == ["0", "1", "2"]
    r = api.request(
        "GET",
        "/v1/streams/sse/records",
        params={"seq_num": 0, "count": 4},
        headers={**headers, "last-event-id": "2,3,27"},
    )
    batch = json.loads(r.text.split("\n\n")[0].split("\n")[2][len("data: ") :])
    assert [x["body"] for x in batch["records"]] == ["3"]


def test_sse_follow_sends_ping_then_live_batch(api: Api, s2_server) -> None:
    api.create_stream("live")
    with (
        httpx.Client(base_url=s2_server.account_endpoint, timeout=10) as c,
        c.stream(
            "GET",
            "/v1/streams/live/records",
            params={"seq_num": 0, "wait": 2},
            headers={"accept": "text/event-stream", "s2-basin": api.basin},
        ) as resp,
    ):
        lines = resp.iter_lines()
        assert next(lines) == "event: ping"
        ping = json.loads(next(lines)[len("data: ") :])
        assert ping["tail"] == {"seq_num": 0, "timestamp": 0}
        api.append("live", [{"body": "now"}])
        rest = list(lines)
    batch = json.loads(next(x for x in rest if x.startswith("data: {"))[len("data: ") :])
    assert batch["records"][0]["body"] == "now" and batch["tail"]["seq_num"] == 1
    assert rest[-2:] == ["data: [DONE]", ""] or rest[-1] == "data: [DONE]"


def test_compressed_request_and_response_bodies(api: Api) -> None:
    api.create_stream("z")
    body = json.dumps({"records": [{"body": "x" * 3000}]}).encode()
    for codec in (Codec.ZSTD, Codec.GZIP):
        r = api.request(
            "POST",
            "/v1/streams/z/records",
            content=compress(body, codec),
            headers={
                "content-type": "application/json",
                "content-encoding": str(codec.content_encoding),
            },
        )
        assert r.status_code == 200, r.text
    r = api.request(
        "POST",
        "/v1/streams/z/records",
        content=b"garbage",
        headers={"content-type": "application/json", "content-encoding": "zstd"},
    )
    assert (r.status_code, r.json()["code"]) == (400, "bad_json")
    r = api.request(
        "GET", "/v1/streams/z/records", params={"seq_num": 0}, headers={"accept-encoding": "gzip"}
    )
    assert r.headers["content-encoding"] == "gzip"
    assert [len(x["body"]) for x in r.json()["records"]] == [3000, 3000]


def test_stream_config_header_applies_only_on_auto_create(api: Api) -> None:
    api.request("PATCH", f"/v1/basins/{api.basin}", json={"create_stream_on_append": True})
    config_json = '{"retention_policy":{"age":3600},"delete_on_empty":{"min_age_secs":300}}'
    header = {"s2-stream-config": config_json}
    r = api.request("POST", "/v1/streams/made/records", json={"records": [{}]}, headers=header)
    assert r.status_code == 200, r.text
    config = api.request("GET", "/v1/streams/made").json()
    assert config["retention_policy"] == {"age": 3600}
    assert config["delete_on_empty"] == {"min_age_secs": 300}
    other = {"s2-stream-config": '{"retention_policy":{"age":60}}'}
    api.request("POST", "/v1/streams/made/records", json={"records": [{}]}, headers=other)
    assert api.request("GET", "/v1/streams/made").json()["retention_policy"] == {"age": 3600}
    bad = {"s2-stream-config": "{not json"}
    r = api.request("POST", "/v1/streams/x/records", json={"records": [{}]}, headers=bad)
    assert (r.status_code, r.json()["code"]) == (400, "bad_header")
