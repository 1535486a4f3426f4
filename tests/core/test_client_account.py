"""The client's account features against s2-local: locations, access tokens, metrics."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from s2_local.server import Server
from s2_sdk import (
    S2,
    AccessTokenScope,
    AccountMetricSet,
    Accumulation,
    AppendInput,
    BasinMetricSet,
    Endpoints,
    ExactMatch,
    Gauge,
    Label,
    LocationInfo,
    MetricUnit,
    Operation,
    OperationGroupPermissions,
    Permission,
    PrefixMatch,
    Record,
    S2Basin,
    S2ClientError,
    S2ServerError,
    StorageClass,
    StreamMetricSet,
    TimeseriesInterval,
)
from support.rest import unique_basin


async def test_locations(s2: S2) -> None:
    locations = await s2.list_locations()
    classes = ["standard", "express"]
    assert LocationInfo("aws:us-east-1", False, classes, "express") in locations
    assert all(
        StorageClass(c) in StorageClass for loc in locations for c in loc.storage_classes or []
    )
    default = await s2.get_default_location()
    assert default.name in {loc.name for loc in locations}
    assert (await s2.set_default_location(default.name)) == default
    info = await s2.create_basin(unique_basin(), location="aws:us-west-2")
    assert info.location == "aws:us-west-2"
    await s2.delete_basin(info.name)


async def test_access_tokens_issue_list_revoke() -> None:
    with Server(root_token="root") as server:
        endpoints = Endpoints(server.endpoint, server.endpoint)
        async with S2("root", endpoints=endpoints) as root:
            name = unique_basin()
            await root.create_basin(name)
            await root[name].create_stream("s")
            scope = AccessTokenScope(
                basins=ExactMatch(name),
                streams=PrefixMatch(""),
                op_groups=OperationGroupPermissions(stream=Permission.READ),
                ops=[Operation.LIST_STREAMS],
            )
            expires = datetime.now(UTC) + timedelta(hours=1)
            token = await root.issue_access_token("reader-1", scope=scope, expires_at=expires)
            page = await root.list_access_tokens(prefix="reader-")
            (info,) = page.items
            assert info.id == "reader-1" and info.scope.basins == ExactMatch(name)
            assert info.scope.op_groups == OperationGroupPermissions(stream=Permission.READ)
            assert info.scope.ops == [Operation.LIST_STREAMS]
            assert info.expires_at is not None and abs(info.expires_at - expires) < timedelta(
                seconds=1
            )
            assert [t.id async for t in root.list_all_access_tokens()] == ["reader-1"]
            async with S2(token, endpoints=endpoints) as reader:
                assert [s.name for s in (await reader[name].list_streams()).items] == ["s"]
                await reader[name]["s"].check_tail()
                with pytest.raises(S2ServerError) as err:
                    await reader[name]["s"].append(AppendInput([Record(body=b"x")]))
                assert (err.value.status_code, err.value.code) == (403, "permission_denied")
                await root.revoke_access_token("reader-1")
                with pytest.raises(S2ServerError) as err:
                    await reader.list_basins()
                assert (err.value.status_code, err.value.code) == (401, "authn")
            with pytest.raises(S2ServerError) as err:
                await root.issue_access_token("empty", scope=AccessTokenScope())
            assert err.value.status_code == 422


async def test_metrics(s2: S2, basin: S2Basin) -> None:
    await basin.create_stream("m")
    await basin["m"].append(AppendInput([Record(body=b"x" * 10)]))
    ops = await s2.basin_metrics(
        basin.name, set=BasinMetricSet.APPEND_OPS, interval=TimeseriesInterval.MINUTE
    )
    (acc,) = ops
    assert isinstance(acc, Accumulation) and acc.unit is MetricUnit.OPERATIONS
    assert sum(v for _, v in acc.values) == 1
    (storage,) = await s2.stream_metrics(basin.name, "m", set=StreamMetricSet.STORAGE)
    assert isinstance(storage, Gauge) and storage.values[-1][1] == 18
    (active,) = await s2.account_metrics(set=AccountMetricSet.ACTIVE_BASINS)
    assert isinstance(active, Label) and basin.name in active.values
    with pytest.raises(S2ServerError) as err:
        await s2.account_metrics(set=AccountMetricSet.ACCOUNT_OPS, start=10, end=5)
    assert err.value.code == "invalid"


@pytest.mark.parametrize("token", ["a\x00b", "a\x7fb", "a\nb"])
def test_an_access_token_unfit_for_a_header_is_refused_up_front(token: str) -> None:
    with pytest.raises(S2ClientError, match="control characters"):
        S2(token)
