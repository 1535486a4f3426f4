"""The client's control plane against s2-local: basins, streams, configs, errors."""

from __future__ import annotations

import pickle

import pytest
from s2_sdk import (
    S2,
    BasinConfig,
    Encryption,
    EnsureStatus,
    S2Basin,
    S2ClientError,
    S2ServerError,
    StorageClass,
    StreamConfig,
    Timestamping,
    TimestampingMode,
)
from support.rest import unique_basin


async def test_create_get_reconfigure_delete_basin(s2: S2) -> None:
    name = unique_basin()
    info = await s2.create_basin(name, config=BasinConfig(create_stream_on_append=True))
    assert info.name == name and info.deleted_at is None and info.created_at.tzinfo
    config = await s2.get_basin_config(name)
    assert config.create_stream_on_append is True and config.create_stream_on_read is False
    new = await s2.reconfigure_basin(
        name,
        config=BasinConfig(
            default_stream_config=StreamConfig(
                storage_class=StorageClass.STANDARD, retention_policy="infinite"
            ),
            stream_cipher=Encryption.AES_256_GCM,
        ),
    )
    assert new.default_stream_config == StreamConfig(
        storage_class=StorageClass.STANDARD, retention_policy="infinite"
    )
    assert new.stream_cipher is Encryption.AES_256_GCM and new.create_stream_on_append is True
    with pytest.raises(S2ServerError) as err:
        await s2.create_basin(name)
    assert (err.value.status_code, err.value.code) == (409, "resource_already_exists")
    await s2.delete_basin(name)
    names = [b.name async for b in s2.list_all_basins(prefix=name)]
    assert names == []
    deleting = [b async for b in s2.list_all_basins(prefix=name, include_deleted=True)]
    assert deleting[0].deleted_at is not None
    await s2.delete_basin(unique_basin(), ignore_not_found=True)
    with pytest.raises(S2ServerError) as err:
        await s2.delete_basin(unique_basin())
    assert err.value.code == "basin_not_found"


async def test_ensure_basin_statuses(s2: S2) -> None:
    name = unique_basin()
    assert (await s2.ensure_basin(name)).status is EnsureStatus.CREATED
    assert (await s2.ensure_basin(name)).status is EnsureStatus.CONFIG_UNCHANGED
    updated = await s2.ensure_basin(name, config=BasinConfig(create_stream_on_read=True))
    assert updated.status is EnsureStatus.CONFIG_UPDATED and updated.basin.name == name
    await s2.delete_basin(name)


async def test_list_basins_pages(s2: S2) -> None:
    prefix = unique_basin()
    for i in range(5):
        await s2.create_basin(f"{prefix}-{i}")
    page = await s2.list_basins(prefix=prefix, limit=2)
    assert [b.name for b in page.items] == [f"{prefix}-0", f"{prefix}-1"] and page.has_more
    page = await s2.list_basins(prefix=prefix, start_after=f"{prefix}-3")
    assert [b.name for b in page.items] == [f"{prefix}-4"] and not page.has_more
    assert len([b async for b in s2.list_all_basins(prefix=prefix)]) == 5


async def test_stream_lifecycle(basin: S2Basin) -> None:
    info = await basin.create_stream(
        "a/b", config=StreamConfig(timestamping=Timestamping(mode=TimestampingMode.ARRIVAL))
    )
    assert info.name == "a/b" and info.cipher is None
    config = await basin.get_stream_config("a/b")
    assert config == StreamConfig(
        storage_class=StorageClass.EXPRESS,
        retention_policy=604800,
        timestamping=Timestamping(mode=TimestampingMode.ARRIVAL, uncapped=False),
        delete_on_empty_min_age=0,
    )
    new = await basin.reconfigure_stream("a/b", config=StreamConfig(retention_policy=60))
    assert new.retention_policy == 60 and new.timestamping == config.timestamping
    ensured = await basin.ensure_stream("a/b", config=StreamConfig(retention_policy=60))
    assert ensured.status is EnsureStatus.CONFIG_UPDATED
    assert (await basin.ensure_stream("c")).status is EnsureStatus.CREATED
    page = await basin.list_streams()
    assert [s.name for s in page.items] == ["a/b", "c"]
    await basin.delete_stream("c")
    assert [s.name async for s in basin.list_all_streams()] == ["a/b"]
    await basin.delete_stream("nope", ignore_not_found=True)
    with pytest.raises(S2ServerError) as err:
        await basin.get_stream_config("nope")
    assert (err.value.status_code, err.value.code) == (404, "stream_not_found")


async def test_client_side_validation_happens_before_any_request(s2: S2) -> None:
    for bad in ("UPPER-case", "short", "-leading-hyphen", "x" * 49):
        with pytest.raises(S2ClientError):
            await s2.create_basin(bad)
    with pytest.raises(S2ClientError):
        s2.basin("ok-basin-name").stream("")
    with pytest.raises(S2ClientError):
        s2.basin("ok-basin-name").stream("x", encryption_key="not base64!")
    with pytest.raises(S2ClientError):
        s2.basin("ok-basin-name").stream("x", encryption_key=b"short")


async def test_server_errors_carry_code_message_and_pickle(s2: S2) -> None:
    with pytest.raises(S2ServerError) as err:
        await s2.get_basin_config(unique_basin())
    e = err.value
    assert (e.status_code, e.code) == (404, "basin_not_found") and "not found" in e.message
    clone = pickle.loads(pickle.dumps(e))
    assert (type(clone), clone.code, clone.message, clone.status_code) == (
        S2ServerError,
        e.code,
        e.message,
        e.status_code,
    )
