"""S2S sessions at the frame level: acks, poisoning, terminal frames, heartbeats."""

from __future__ import annotations

import json
import time

import httpx
import pytest
from s2_local.pytest_plugin import S2TestServer
from s2_sdk.protocol import Codec, Frame, FrameDecoder, encode_frame, encode_terminal_frame, pb
from support.rest import Api

S2S = {"content-type": "s2s/proto"}


def _input(*bodies: str, **kw: object) -> bytes:
    inp = pb.AppendInput(records=[pb.AppendRecord(body=b.encode()) for b in bodies], **kw)
    return encode_frame(inp.SerializeToString())


def _frames(data: bytes) -> list[Frame]:
    decoder = FrameDecoder()
    frames = decoder.feed(data)
    assert decoder.pending == 0
    return frames


def _session(
    api: Api, stream: str, body: bytes, http2: bool = False, **headers: str
) -> httpx.Response:
    with httpx.Client(base_url=str(api.http.base_url), http2=http2, timeout=20) as c:
        return c.post(
            f"/v1/streams/{stream}/records",
            content=body,
            headers={**S2S, "s2-basin": api.basin, **headers},
        )


@pytest.mark.parametrize("http2", [False, True])
def test_append_session_acks_in_order(api: Api, http2: bool) -> None:
    api.create_stream("s")
    body = b"".join(_input(*[f"{i}-{j}" for j in range(i + 1)]) for i in range(32))
    r = _session(api, "s", body, http2=http2)
    assert r.status_code == 200 and r.headers["content-type"] == "s2s/proto"
    acks = [pb.AppendAck.FromString(f.payload) for f in _frames(r.content)]
    assert len(acks) == 32
    ends = [a.end.seq_num for a in acks]
    assert ends == sorted(ends) and ends[-1] == sum(range(1, 33))
    assert all(a.tail.seq_num >= a.end.seq_num for a in acks)
    assert [a.end.seq_num - a.start.seq_num for a in acks] == list(range(1, 33))


def test_empty_session_and_compressed_inputs(api: Api) -> None:
    api.create_stream("s")
    r = _session(api, "s", b"")
    assert (r.status_code, r.content) == (200, b"")
    big = pb.AppendInput(records=[pb.AppendRecord(body=b"z" * 5000)]).SerializeToString()
    r = _session(api, "s", encode_frame(big, Codec.ZSTD) + encode_frame(big, Codec.GZIP))
    assert len(_frames(r.content)) == 2
    assert api.tail("s")["seq_num"] == 2


def test_session_is_poisoned_by_the_first_failure(api: Api) -> None:
    api.create_stream("s")
    body = _input("first", match_seq_num=0) + _input("second", match_seq_num=5) + _input("third")
    frames = _frames(_session(api, "s", body).content)
    assert len(frames) == 2
    assert pb.AppendAck.FromString(frames[0].payload).end.seq_num == 1
    status, error = frames[1].terminal_error()
    assert (status, json.loads(error)) == (412, {"seq_num_mismatch": 1})
    assert [r["body"] for r in api.read("s", seq_num=0).json()["records"]] == ["first"]


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        (b"\x00\x00\x03\x00\xff\xff", 400, "bad_frame"),
        (encode_terminal_frame(500, b"{}"), 400, "bad_frame"),
        (b"\x00\x00", 400, "bad_frame"),
        (encode_frame(pb.AppendInput().SerializeToString()), 422, "invalid"),
    ],
)
def test_bad_input_frames_end_with_a_terminal_frame(
    api: Api, body: bytes, status: int, code: str
) -> None:
    api.create_stream("s")
    frames = _frames(_session(api, "s", _input("ok") + body).content)
    assert pb.AppendAck.FromString(frames[0].payload).end.seq_num == 1
    got_status, error = frames[-1].terminal_error()
    assert (got_status, json.loads(error)["code"]) == (status, code)


def test_session_preflight_errors_are_plain_http(api: Api) -> None:
    r = _session(api, "missing", b"")
    assert (r.status_code, r.json()["code"]) == (404, "stream_not_found")


def _read_batches(
    api: Api, server: S2TestServer, after: int, **params: object
) -> list[pb.ReadBatch]:
    """The batches of a read session (HTTP/2); one record is appended once ``after``
    batches came."""
    with (
        httpx.Client(base_url=server.account_endpoint, http2=True, timeout=20) as c,
        c.stream(
            "GET",
            "/v1/streams/r/records",
            params=params,
            headers={**S2S, "s2-basin": api.basin, "accept-encoding": "zstd"},
        ) as resp,
    ):
        assert resp.status_code == 200
        decoder = FrameDecoder()
        batches: list[pb.ReadBatch] = []
        for chunk in resp.iter_raw():
            for frame in decoder.feed(chunk):
                batches.append(pb.ReadBatch.FromString(frame.payload))
            if len(batches) == after:
                api.append("r", [{"body": "live"}])
    return batches


def test_read_session_catch_up_then_live(api: Api, s2_server: S2TestServer) -> None:
    """Catch-up batches; the one that reaches the tail carries it (a reader knows it caught
    up without waiting for a heartbeat, and gets none); live batches with the tail."""
    api.create_stream("r")
    api.append("r", [{"body": "x"}] * 1000)
    api.append("r", [{"body": str(i)} for i in range(3)])
    started = time.monotonic()
    first, catch_up, live = _read_batches(api, s2_server, after=2, seq_num=0, wait=1)
    assert 0.9 < time.monotonic() - started < 10
    assert len(first.records) == 1000 and not first.HasField("tail")
    assert [r.body for r in catch_up.records] == [b"0", b"1", b"2"]
    assert catch_up.tail.seq_num == 1003
    assert [r.body for r in live.records] == [b"live"] and live.tail.seq_num == 1004


def test_read_session_at_the_tail_starts_with_a_heartbeat(
    api: Api, s2_server: S2TestServer
) -> None:
    api.create_stream("r")
    api.append("r", [{"body": "x"}] * 3)
    heartbeat, live = _read_batches(api, s2_server, after=1, tail_offset=0, wait=1)
    assert not heartbeat.records and heartbeat.tail.seq_num == 3
    assert [r.body for r in live.records] == [b"live"] and live.tail.seq_num == 4


def test_read_session_bounded_at_tail_is_416(api: Api) -> None:
    api.create_stream("r")
    r = api.request("GET", "/v1/streams/r/records", params={"seq_num": 0, "count": 5}, headers=S2S)
    assert (r.status_code, r.json()) == (416, {"tail": {"seq_num": 0, "timestamp": 0}})
    api.append("r", [{"body": "x"}] * 3)
    r = api.request("GET", "/v1/streams/r/records", params={"seq_num": 0, "count": 2}, headers=S2S)
    frames = _frames(r.content)
    assert [len(pb.ReadBatch.FromString(f.payload).records) for f in frames] == [2]
