"""Basin control plane, over HTTP (lite checklist §6.1)."""

from __future__ import annotations

import time

from support.rest import Api, unique_basin


def _create(api: Api, name: str, token: str | None = None, config: dict | None = None):
    headers = {"s2-request-token": token} if token else {}
    return api.request(
        "POST", "/v1/basins", json={"basin": name, "config": config}, headers=headers
    )


def test_create_is_idempotent_with_the_same_token_and_config(api: Api) -> None:
    name = unique_basin()
    first = _create(api, name, "tok-1", {"create_stream_on_append": True})
    assert first.status_code == 201
    assert first.headers["s2-provision-result"] == "created"
    info = first.json()
    assert info["name"] == name and info["deleted_at"] is None and info["state"] == "active"
    again = _create(api, name, "tok-1", {"create_stream_on_append": True})
    assert (again.status_code, again.headers["s2-provision-result"]) == (201, "noop")
    assert again.json()["created_at"] == info["created_at"]
    for token, config in [
        ("tok-2", {"create_stream_on_append": True}),
        ("tok-1", None),
        (None, None),
    ]:
        r = _create(api, name, token, config)
        assert r.status_code == 409
        assert r.json()["code"] == "resource_already_exists"


def test_ensure_creates_updates_and_resets_unsent_fields(api: Api) -> None:
    name = unique_basin()
    created = api.request("PUT", f"/v1/basins/{name}")
    assert (created.status_code, created.headers["s2-provision-result"]) == (201, "created")
    config = {
        "create_stream_on_append": True,
        "default_stream_config": {"storage_class": "standard"},
    }
    updated = api.request("PUT", f"/v1/basins/{name}", json={"config": config})
    assert (updated.status_code, updated.headers["s2-provision-result"]) == (200, "updated")
    got = api.request("GET", f"/v1/basins/{name}").json()
    assert got["create_stream_on_append"] is True
    assert got["default_stream_config"]["storage_class"] == "standard"
    same = api.request("PUT", f"/v1/basins/{name}", json={"config": config})
    assert same.headers["s2-provision-result"] == "noop"
    reset = api.request("PUT", f"/v1/basins/{name}", json={})
    assert reset.headers["s2-provision-result"] == "updated"
    got = api.request("GET", f"/v1/basins/{name}").json()
    assert got == {
        "default_stream_config": None,
        "stream_cipher": None,
        "create_stream_on_append": False,
        "create_stream_on_read": False,
    }


def test_ensure_keeps_the_creation_idempotency_key(api: Api) -> None:
    name = unique_basin()
    assert _create(api, name, "tok", None).status_code == 201
    r = api.request("PUT", f"/v1/basins/{name}", json={"config": {"create_stream_on_read": True}})
    assert r.status_code == 200
    assert _create(api, name, "tok", None).headers["s2-provision-result"] == "noop"


def test_reconfigure_applies_nested_partial_updates(api: Api) -> None:
    name = api.basin
    r = api.request(
        "PATCH",
        f"/v1/basins/{name}",
        json={
            "default_stream_config": {
                "storage_class": "standard",
                "retention_policy": {"infinite": {}},
                "timestamping": {"mode": "arrival"},
            },
            "create_stream_on_append": True,
            "create_stream_on_read": True,
        },
    )
    assert r.status_code == 200, r.text
    config = r.json()
    assert config["default_stream_config"]["retention_policy"] == {"infinite": {}}
    assert config["default_stream_config"]["timestamping"]["mode"] == "arrival"
    assert config["create_stream_on_read"] is True
    r = api.request(
        "PATCH", f"/v1/basins/{name}", json={"default_stream_config": {"storage_class": None}}
    )
    dsc = r.json()["default_stream_config"]
    assert dsc["storage_class"] is None and dsc["retention_policy"] == {"infinite": {}}
    assert api.request("GET", f"/v1/basins/{name}").json() == r.json()
    r = api.request("PATCH", f"/v1/basins/{name}", json={"create_stream_on_read": None})
    assert (r.status_code, r.json()["code"]) == (400, "bad_json")


def test_delete_marks_deleting_then_the_basin_goes_away(api: Api) -> None:
    name = unique_basin()
    assert _create(api, name).status_code == 201
    assert api.request("DELETE", f"/v1/basins/{name}").status_code == 202
    listed = api.request("GET", "/v1/basins", params={"prefix": name}).json()["basins"]
    assert listed[0]["state"] == "deleting" and listed[0]["deleted_at"]
    assert (
        api.request("PATCH", f"/v1/basins/{name}", json={}).json()["code"]
        == "basin_deletion_pending"
    )
    assert _create(api, name).json()["code"] == "basin_deletion_pending"
    assert api.request("GET", f"/v1/basins/{name}").status_code == 200
    assert api.request("DELETE", f"/v1/basins/{name}").status_code == 202
    deadline = time.monotonic() + 10
    while api.request("GET", f"/v1/basins/{name}").status_code != 404:
        assert time.monotonic() < deadline, "basin was never removed"
        time.sleep(0.1)
    assert _create(api, name).status_code == 201


def test_missing_basin_errors(api: Api) -> None:
    missing = unique_basin()
    for method in ("GET", "DELETE"):
        r = api.request(method, f"/v1/basins/{missing}")
        assert (r.status_code, r.json()["code"]) == (404, "basin_not_found")
    r = api.request("PATCH", f"/v1/basins/{missing}", json={})
    assert r.json()["code"] == "basin_not_found"


def test_list_pagination_and_prefix(api: Api) -> None:
    prefix = unique_basin() + "-"
    names = [f"{prefix}{i:02d}" for i in range(15)]
    for name in reversed(names):
        assert _create(api, name).status_code == 201
    pages, start_after = [], ""
    while True:
        r = api.request(
            "GET", "/v1/basins", params={"prefix": prefix, "start_after": start_after, "limit": 5}
        ).json()
        pages.append(([b["name"] for b in r["basins"]], r["has_more"]))
        if not r["has_more"]:
            break
        start_after = r["basins"][-1]["name"]
    assert [p[0] for p in pages] == [names[0:5], names[5:10], names[10:15]]
    assert [p[1] for p in pages] == [True, True, False]
    r = api.request("GET", "/v1/basins", params={"prefix": f"{prefix}1", "limit": 0}).json()
    assert [b["name"] for b in r["basins"]] == names[10:]
    before = api.request("GET", "/v1/basins", params={"prefix": prefix, "start_after": "a"}).json()
    assert len(before["basins"]) == 15


def test_invalid_names_and_bodies_are_4xx(api: Api) -> None:
    cases = [
        (("POST", "/v1/basins"), {"json": {"basin": "UPPER-case"}}, 400, "bad_json"),
        (("POST", "/v1/basins"), {"json": {"basin": "short"}}, 400, "bad_json"),
        (
            ("POST", "/v1/basins"),
            {"content": b"{not json", "headers": {"content-type": "application/json"}},
            400,
            "bad_json",
        ),
        (("POST", "/v1/basins"), {"content": b'{"basin":"abcdefgh"}'}, 400, "bad_json"),
        (("POST", "/v1/basins"), {"json": [1, 2]}, 400, "bad_json"),
        (("GET", "/v1/basins/bad_name!"), {}, 400, "bad_path"),
        (("GET", "/v1/basins"), {"params": {"prefix": "-x"}}, 400, "bad_query"),
        (("GET", "/v1/basins"), {"params": {"limit": "-1"}}, 400, "bad_query"),
        (("GET", "/v1/basins"), {"params": {"limit": "٣"}}, 400, "bad_query"),
        (
            ("POST", "/v1/basins"),
            {"json": {"basin": "abcdefghij"}, "headers": {"s2-request-token": "x" * 37}},
            400,
            "bad_header",
        ),
        (
            ("POST", "/v1/basins"),
            {
                "json": {
                    "basin": "abcdefghij",
                    "config": {"default_stream_config": {"retention_policy": {"age": 0}}},
                }
            },
            422,
            "invalid",
        ),
    ]
    for (method, path), kw, status, code in cases:
        r = api.request(method, path, **kw)
        assert (r.status_code, r.json()["code"]) == (status, code), (method, path, kw, r.text)


def test_health(api: Api) -> None:
    for path in ("/health", "/ping"):
        r = api.request("GET", path)
        assert (r.status_code, r.text) == (200, "OK")
