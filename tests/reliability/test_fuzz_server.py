"""Hostile input against s2-local: random and mutated bodies, frames, queries and headers
must get a 4xx (or a success), never a 5xx, a crash or a hang."""

from __future__ import annotations

import json
from collections.abc import Iterator

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from s2_local.pytest_plugin import S2TestServer
from s2_sdk.protocol import encode_frame, pb
from support.rest import unique_basin

FUZZ = settings(
    max_examples=400,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


@pytest.fixture(scope="module")
def target(s2_server: S2TestServer) -> Iterator[tuple[httpx.Client, str]]:
    basin = unique_basin()
    with httpx.Client(base_url=s2_server.account_endpoint, timeout=10) as http:
        assert http.post("/v1/basins", json={"basin": basin}).status_code == 201
        h = {"s2-basin": basin}
        assert http.post("/v1/streams", json={"stream": "f"}, headers=h).status_code == 201
        good = {"records": [{"body": "x", "headers": [["a", "b"]]}]}
        assert http.post("/v1/streams/f/records", json=good, headers=h).status_code == 200
        yield http, basin


def _ok(resp: httpx.Response) -> None:
    assert resp.status_code < 500, (resp.status_code, resp.text[:300])
    if resp.status_code >= 400 and resp.status_code not in (404, 405, 412, 416):
        assert "code" in resp.json()


json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**70), 2**70)
    | st.floats(allow_nan=False)
    | st.text(),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=20), children, max_size=4)
    ),
    max_leaves=12,
)
config_keys = st.sampled_from(
    ["storage_class", "retention_policy", "timestamping", "delete_on_empty", "default_stream_config",
     "stream_cipher", "create_stream_on_append", "create_stream_on_read", "records", "match_seq_num",
     "fencing_token", "basin", "stream", "config", "location", "id", "scope", "expires_at"]
)  # fmt: skip
shaped_json = st.dictionaries(config_keys, json_values, max_size=5)


@FUZZ
@given(body=st.one_of(shaped_json, json_values), which=st.integers(0, 6))
def test_json_bodies(target: tuple[httpx.Client, str], body: object, which: int) -> None:
    http, basin = target
    h = {"s2-basin": basin}
    routes = [
        ("POST", "/v1/basins"),
        ("PATCH", f"/v1/basins/{basin}"),
        ("POST", "/v1/streams"),
        ("PATCH", "/v1/streams/f"),
        ("POST", "/v1/streams/f/records"),
        ("POST", "/v1/access-tokens"),
        ("PUT", "/v1/streams/fuzzed"),
    ]
    method, path = routes[which]
    _ok(
        http.request(
            method,
            path,
            content=json.dumps(body).encode(),
            headers={**h, "content-type": "application/json"},
        )
    )


@FUZZ
@given(
    raw=st.binary(max_size=300),
    ctype=st.sampled_from(
        ["application/json", "application/x-protobuf", "s2s/proto", "text/plain", ""]
    ),
)
def test_raw_bodies(target: tuple[httpx.Client, str], raw: bytes, ctype: str) -> None:
    http, basin = target
    headers = {"s2-basin": basin}
    if ctype:
        headers["content-type"] = ctype
    _ok(http.post("/v1/streams/f/records", content=raw, headers=headers))
    _ok(http.post("/v1/basins", content=raw, headers=headers))


valid_input = pb.AppendInput(
    records=[pb.AppendRecord(body=b"hello", headers=[pb.Header(name=b"k", value=b"v")])]
).SerializeToString()


@FUZZ
@given(
    flips=st.lists(st.tuples(st.integers(0, 200), st.integers(0, 255)), max_size=6),
    cut=st.integers(0, 60),
)
def test_mutated_frames_and_protobuf(
    target: tuple[httpx.Client, str], flips: list[tuple[int, int]], cut: int
) -> None:
    http, basin = target
    frame = bytearray(encode_frame(valid_input) * 2)
    proto = bytearray(valid_input)
    for pos, value in flips:
        frame[pos % len(frame)] = value
        proto[pos % len(proto)] = value
    h = {"s2-basin": basin}
    _ok(
        http.post(
            "/v1/streams/f/records",
            content=bytes(frame[: len(frame) - cut]),
            headers={**h, "content-type": "s2s/proto"},
        )
    )
    _ok(
        http.post(
            "/v1/streams/f/records",
            content=bytes(proto),
            headers={**h, "content-type": "application/x-protobuf"},
        )
    )


query_values = st.one_of(
    st.integers(-5, 2**65).map(str), st.text(max_size=12), st.sampled_from(["true", "false", ""])
)


@FUZZ
@given(
    params=st.dictionaries(
        st.sampled_from(
            [
                "seq_num",
                "timestamp",
                "tail_offset",
                "count",
                "bytes",
                "until",
                "wait",
                "clamp",
                "limit",
                "prefix",
                "start_after",
                "set",
                "start",
                "end",
                "interval",
            ]
        ),
        query_values,
        max_size=4,
    ),
    headers=st.dictionaries(
        st.sampled_from(
            [
                "s2-format",
                "s2-encryption-key",
                "last-event-id",
                "s2-stream-config",
                "accept",
                "s2-request-token",
            ]
        ),
        st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=126), max_size=50),
        max_size=3,
    ),
)
def test_queries_and_headers(
    target: tuple[httpx.Client, str], params: dict[str, str], headers: dict[str, str]
) -> None:
    http, basin = target
    if "wait" in params:
        params["wait"] = "0"
    h = {"s2-basin": basin, **{k: v.strip() for k, v in headers.items() if v.strip()}}
    if h.get("accept") == "text/event-stream":
        h.pop("accept")
    _ok(http.get("/v1/streams/f/records", params=params, headers=h))
    _ok(http.get("/v1/basins", params=params))
    _ok(http.get("/v1/streams", params=params, headers=h))
    _ok(http.get(f"/v1/metrics/{basin}", params=params))


@FUZZ
@given(name=st.text(max_size=60))
def test_names_in_paths(target: tuple[httpx.Client, str], name: str) -> None:
    http, basin = target
    from urllib.parse import quote

    segment = quote(name, safe="")
    _ok(http.get(f"/v1/basins/{segment}"))
    _ok(http.get(f"/v1/streams/{segment}", headers={"s2-basin": basin}))
    _ok(http.get(f"/v1/streams/{segment}/records/tail", headers={"s2-basin": basin}))
    _ok(http.delete(f"/v1/access-tokens/{segment}"))
