"""The route table as clients see it: every route answers, unknown paths are 404,
known paths with another method 405, and captured segments are percent-decoded."""

from __future__ import annotations

from urllib.parse import parse_qsl

import pytest
from hypothesis import given
from hypothesis import strategies as st
from s2_local.errors import ApiError
from s2_local.http.asgi import query_params
from s2_local.http.routes import ROUTES
from support.rest import Api, quote


def test_health_and_ping(api: Api) -> None:
    for path in ("/health", "/ping"):
        r = api.request("GET", path)
        assert (r.status_code, r.text) == (200, "OK")
        assert api.request("HEAD", path).status_code == 200


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [
        ("DELETE", "/v1/basins", 405),
        ("POST", "/v1/basins/some-basin", 405),
        ("GET", "/v1/basins/a/b", 404),
        ("GET", "/v1/nothing", 404),
        ("GET", "/v1", 404),
        ("POST", "/", 405),
        ("GET", "/console/a/b/c/d", 404),
        ("PUT", "/v1/streams/s/records", 405),
        ("POST", "/v1/streams/s/records/tail", 405),
        ("GET", "/v1/streams/s/other", 404),
        ("POST", "/v1/locations/default", 405),
        ("GET", "/v1/locations/other", 404),
        ("POST", "/v1/metrics", 405),
        ("GET", "/v1/metrics/a/b/c", 404),
        ("GET", "/v1/access-tokens/some-id", 405),
    ],
)
def test_unknown_paths_and_methods(api: Api, method: str, path: str, status: int) -> None:
    assert api.request(method, path).status_code == status


def test_a_stream_name_with_slashes_is_one_segment(api: Api) -> None:
    api.create_stream("a/b/c")
    api.append("a/b/c", [{"body": "x"}])
    r = api.request("GET", f"/v1/streams/{quote('a/b/c')}/records/tail")
    assert r.status_code == 200 and r.json()["tail"]["seq_num"] == 1


def test_every_route_is_served(api: Api) -> None:
    """No route of the table answers 404/405 for its own method (its handler runs)."""
    values = {"{basin}": api.basin, "{stream}": "missing", "{id}": "missing",
              "{file}": "main.js", "{seq_num}": "0"}  # fmt: skip
    for route in ROUTES:
        path = "/".join(values.get(s, s) for s in route.path.split("/"))
        r = api.request(route.method, path, json={} if route.method in ("POST", "PUT") else None)
        assert r.status_code != 405, (route, r.text)
        if r.status_code == 404:  # a handler's own 404 names what is missing
            assert r.json()["code"].endswith("not_found"), (route, r.text)


@given(st.text(alphabet="ab=&%+;2 é", max_size=24))
def test_query_strings_read_as_parse_qsl_reads_them(text: str) -> None:
    """The direct split of a query without escapes gives what ``parse_qsl`` gives."""
    try:
        expected = dict(parse_qsl(text, keep_blank_values=True, errors="strict"))
    except (UnicodeDecodeError, ValueError):
        with pytest.raises(ApiError):
            query_params(text)
        return
    assert query_params(text) == expected


def test_query_parameters_over_http(api: Api) -> None:
    """Repeated (the last wins), escaped and blank parameters, and empty fields."""
    api.create_stream("q")
    api.append("q", [{"body": str(i)} for i in range(5)])
    path = "/v1/streams/q/records"
    cases = {"seq_num=0&count=4&&count=2": 2, "seq_num=%33&count=9": 2, "&count=1&seq_num=0&": 1}
    for query, expected in cases.items():
        r = api.request("GET", f"{path}?{query}")
        assert r.status_code == 200, (query, r.text)
        assert len(r.json()["records"]) == expected, query
    r = api.request("GET", f"{path}?count=x&seq_num=0")
    assert r.status_code == 400 and "count" in r.text
