"""Stream control plane, over HTTP (lite checklist §6.2)."""

from __future__ import annotations

import time

from support.rest import Api, quote

DEFAULTS = {
    "storage_class": "express",
    "retention_policy": {"age": 604800},
    "timestamping": {"mode": "client-prefer", "uncapped": False},
    "delete_on_empty": {"min_age_secs": 0},
}


def _config(api: Api, name: str) -> dict:
    r = api.request("GET", f"/v1/streams/{quote(name)}")
    assert r.status_code == 200, r.text
    return r.json()


def test_new_stream_is_fully_resolved_from_system_defaults(api: Api) -> None:
    info = api.create_stream("a/b c").json()
    assert info["name"] == "a/b c" and info["cipher"] is None and info["deleted_at"] is None
    assert _config(api, "a/b c") == DEFAULTS


def test_new_stream_takes_basin_defaults(api: Api) -> None:
    r = api.request(
        "PATCH",
        f"/v1/basins/{api.basin}",
        json={
            "default_stream_config": {
                "storage_class": "standard",
                "retention_policy": {"infinite": {}},
                "timestamping": {"mode": "client-require"},
            }
        },
    )
    assert r.status_code == 200
    api.create_stream("s", {"timestamping": {"uncapped": True}})
    assert _config(api, "s") == {
        "storage_class": "standard",
        "retention_policy": {"infinite": {}},
        "timestamping": {"mode": "client-require", "uncapped": True},
        "delete_on_empty": {"min_age_secs": 0},
    }


def test_cipher_comes_from_the_basin_at_creation(api: Api) -> None:
    api.request("PATCH", f"/v1/basins/{api.basin}", json={"stream_cipher": "aegis-256"})
    assert api.create_stream("enc").json()["cipher"] == "aegis-256"
    api.request("PATCH", f"/v1/basins/{api.basin}", json={"stream_cipher": "aes-256-gcm"})
    assert api.create_stream("enc2").json()["cipher"] == "aes-256-gcm"
    listed = api.request("GET", "/v1/streams").json()["streams"]
    assert {s["name"]: s["cipher"] for s in listed} == {"enc": "aegis-256", "enc2": "aes-256-gcm"}


def test_create_idempotency_ignores_later_basin_default_changes(api: Api) -> None:
    headers = {"s2-request-token": "t1"}
    body = {"stream": "s", "config": {"storage_class": "standard"}}
    assert api.request("POST", "/v1/streams", json=body, headers=headers).status_code == 201
    api.request(
        "PATCH",
        f"/v1/basins/{api.basin}",
        json={"default_stream_config": {"retention_policy": {"age": 5}}},
    )
    again = api.request("POST", "/v1/streams", json=body, headers=headers)
    assert (again.status_code, again.headers["s2-provision-result"]) == (201, "noop")
    other = api.request("POST", "/v1/streams", json=body, headers={"s2-request-token": "t2"})
    assert other.json()["code"] == "resource_already_exists"
    changed = api.request("POST", "/v1/streams", json={"stream": "s"}, headers=headers)
    assert changed.json()["code"] == "resource_already_exists"


def test_ensure_stream_created_updated_noop_and_reset(api: Api) -> None:
    path = f"/v1/streams/{quote('e')}"
    r = api.request("PUT", path)
    assert (r.status_code, r.headers["s2-provision-result"]) == (201, "created")
    r = api.request("PUT", path, json={"storage_class": "standard"})
    assert (r.status_code, r.headers["s2-provision-result"]) == (200, "updated")
    r = api.request("PUT", path, json={"storage_class": "standard"})
    assert r.headers["s2-provision-result"] == "noop"
    r = api.request("PUT", path, json={})
    assert r.headers["s2-provision-result"] == "updated"
    assert _config(api, "e") == DEFAULTS
    r = api.request("PUT", path, json={"delete_on_empty": {"min_age_secs": 0}})
    assert r.headers["s2-provision-result"] == "noop"


def test_reconfigure_updates_chosen_fields_and_null_resets_to_basin_default(api: Api) -> None:
    api.request(
        "PATCH",
        f"/v1/basins/{api.basin}",
        json={
            "default_stream_config": {
                "storage_class": "standard",
                "retention_policy": {"infinite": {}},
            }
        },
    )
    api.create_stream("s", {"storage_class": "express", "retention_policy": {"age": 60}})
    r = api.request(
        "PATCH", "/v1/streams/s", json={"timestamping": {"mode": "arrival", "uncapped": True}}
    )
    assert r.status_code == 200
    assert r.json()["timestamping"] == {"mode": "arrival", "uncapped": True}
    assert r.json()["retention_policy"] == {"age": 60}
    r = api.request(
        "PATCH",
        "/v1/streams/s",
        json={"storage_class": None, "retention_policy": None, "timestamping": None},
    )
    assert r.json() == {
        "storage_class": "standard",
        "retention_policy": {"infinite": {}},
        "timestamping": {"mode": "client-prefer", "uncapped": False},
        "delete_on_empty": {"min_age_secs": 0},
    }
    assert _config(api, "s") == r.json()


def test_reconfigure_reaches_appends(api: Api) -> None:
    api.create_stream("s")
    assert api.append("s", [{"body": "x"}]).status_code == 200
    api.request("PATCH", "/v1/streams/s", json={"timestamping": {"mode": "client-require"}})
    r = api.append("s", [{"body": "y"}])
    assert (r.status_code, r.json()["code"]) == (422, "invalid")
    assert api.append("s", [{"body": "y", "timestamp": 1}]).status_code == 200


def test_delete_stream_lifecycle(api: Api) -> None:
    api.create_stream("d")
    api.append("d", [{"body": "x"}])
    assert api.request("DELETE", "/v1/streams/d").status_code == 202
    listed = api.request("GET", "/v1/streams").json()["streams"]
    assert listed[0]["name"] == "d" and listed[0]["deleted_at"]
    pending = "stream_deletion_pending"
    assert api.request("POST", "/v1/streams", json={"stream": "d"}).json()["code"] == pending
    assert api.request("PATCH", "/v1/streams/d", json={}).json()["code"] == pending
    assert api.request("GET", "/v1/streams/d").json()["code"] == pending
    assert api.append("d", [{"body": "y"}]).json()["code"] == pending
    assert api.read("d", seq_num=0).json()["code"] == pending
    r = api.request("GET", "/v1/streams/d/records/tail")
    assert (r.status_code, r.json()["code"]) == (409, pending)
    assert api.request("DELETE", "/v1/streams/d").status_code == 202
    deadline = time.monotonic() + 10
    while api.request("GET", "/v1/streams/d").status_code != 404:
        assert time.monotonic() < deadline
        time.sleep(0.05)
    api.create_stream("d")
    assert api.tail("d") == {"seq_num": 0, "timestamp": 0}


def test_missing_stream_and_basin_errors(api: Api) -> None:
    r = api.request("GET", "/v1/streams/nope")
    assert (r.status_code, r.json()["code"]) == (404, "stream_not_found")
    assert api.request("DELETE", "/v1/streams/nope").json()["code"] == "stream_not_found"
    r = api.request("POST", "/v1/streams", json={"stream": "x"}, basin="no-such-basin")
    assert r.json()["code"] == "basin_not_found"
    r = api.request("GET", "/v1/streams", basin="no-such-basin")
    assert r.json() == {"streams": [], "has_more": False}
    for method, path in (("GET", "/v1/streams/x/records/tail"), ("POST", "/v1/streams/x/records")):
        r = api.request(method, path, basin="no-such-basin", json={"records": [{}]})
        assert r.json()["code"] == "basin_not_found"


def test_create_stream_in_deleting_basin(api: Api) -> None:
    api.create_stream("keep")
    api.request("DELETE", f"/v1/basins/{api.basin}")
    r = api.request("POST", "/v1/streams", json={"stream": "new"})
    assert (r.status_code, r.json()["code"]) == (409, "basin_deletion_pending")


def test_list_streams_sorted_paginated_prefixed(api: Api) -> None:
    names = ["b", "a/2", "a/1", "a/10", "c"]
    for n in names:
        api.create_stream(n)
    r = api.request("GET", "/v1/streams").json()
    assert [s["name"] for s in r["streams"]] == ["a/1", "a/10", "a/2", "b", "c"]
    r = api.request("GET", "/v1/streams", params={"prefix": "a/", "limit": 2}).json()
    assert ([s["name"] for s in r["streams"]], r["has_more"]) == (["a/1", "a/10"], True)
    r = api.request("GET", "/v1/streams", params={"prefix": "a/", "start_after": "a/10"}).json()
    assert ([s["name"] for s in r["streams"]], r["has_more"]) == (["a/2"], False)


def test_basin_routing_header_and_host(api: Api) -> None:
    api.create_stream("routed")
    r = api.http.get("/v1/streams")
    assert (r.status_code, r.json()["code"]) == (400, "bad_header")
    r = api.http.get("/v1/streams", headers={"s2-basin": "NOT A BASIN"})
    assert (r.status_code, r.json()["code"]) == (400, "bad_header")
    r = api.http.get("/v1/streams", headers={"host": f"{api.basin}.b.localhost"})
    assert [s["name"] for s in r.json()["streams"]] == ["routed"]


def test_invalid_stream_names(api: Api) -> None:
    r = api.request("POST", "/v1/streams", json={"stream": ".."})
    assert (r.status_code, r.json()["code"]) == (400, "bad_json")
    r = api.request("POST", "/v1/streams", json={"stream": "x" * 513})
    assert r.json()["code"] == "bad_json"
    r = api.request("GET", "/v1/streams/..")
    assert r.status_code in (400, 404)
    r = api.request("GET", "/v1/streams/%2E%2E")
    assert (r.status_code, r.json()["code"]) == (400, "bad_path")
