"""The client's unary data plane against s2-local."""

from __future__ import annotations

import asyncio
import os
import pickle

import pytest
from s2_local.pytest_plugin import S2TestServer
from s2_sdk import (
    S2,
    AppendInput,
    BasinConfig,
    CommandRecord,
    Compression,
    Encryption,
    Endpoints,
    FencingTokenMismatchError,
    ReadLimit,
    ReadUnwrittenError,
    Record,
    S2Basin,
    S2ClientError,
    S2ServerError,
    S2Stream,
    SeqNum,
    SeqNumMismatchError,
    StreamPosition,
    TailOffset,
    Timestamp,
    metered_bytes,
)


async def test_append_read_check_tail(stream: S2Stream) -> None:
    ack = await stream.append(
        AppendInput(records=[Record(body=b"a", headers=[(b"k", b"v")]), Record(body=b"b")])
    )
    assert (ack.start.seq_num, ack.end.seq_num, ack.tail.seq_num) == (0, 2, 2)
    batch = await stream.read(start=SeqNum(0))
    assert [(r.seq_num, r.body, r.headers) for r in batch.records] == [
        (0, b"a", [(b"k", b"v")]),
        (1, b"b", []),
    ]
    assert batch.tail is None
    assert await stream.check_tail() == ack.end


async def test_read_parameters(stream: S2Stream) -> None:
    await stream.append(
        AppendInput(
            records=[Record(body=str(i).encode(), timestamp=1000 * (i + 1)) for i in range(10)]
        )
    )
    bodies = lambda b: [r.body for r in b.records]  # noqa: E731
    assert bodies(await stream.read(start=TailOffset(3))) == [b"7", b"8", b"9"]
    assert bodies(await stream.read(start=Timestamp(5000), limit=ReadLimit(count=2))) == [
        b"4",
        b"5",
    ]
    assert bodies(await stream.read(start=SeqNum(0), until_timestamp=3000)) == [b"0", b"1"]
    assert bodies(await stream.read(start=SeqNum(0), limit=ReadLimit(bytes=2 * 9))) == [b"0", b"1"]
    with pytest.raises(ReadUnwrittenError) as err:
        await stream.read(start=SeqNum(100))
    assert err.value.tail == StreamPosition(10, 10000)
    assert pickle.loads(pickle.dumps(err.value)).tail == StreamPosition(10, 10000)
    empty = await stream.read(start=SeqNum(100), clamp_to_tail=True, wait=1)
    assert empty.records == []


async def test_long_poll_wait_longer_than_request_timeout(stream: S2Stream) -> None:
    async def later() -> None:
        await asyncio.sleep(0.5)
        await stream.append(AppendInput(records=[Record(body=b"late")]))

    task = asyncio.create_task(later())
    batch = await stream.read(start=SeqNum(0), wait=8)
    await task
    assert [r.body for r in batch.records] == [b"late"] and batch.tail is not None


async def test_command_records_and_conditions(stream: S2Stream) -> None:
    await stream.append(AppendInput(records=[Record(body=b"x")], match_seq_num=0))
    with pytest.raises(SeqNumMismatchError) as seq_err:
        await stream.append(AppendInput(records=[Record(body=b"x")], match_seq_num=0))
    assert seq_err.value.expected_seq_num == 1 and seq_err.value.status_code == 412
    await stream.append(AppendInput(records=[CommandRecord.fence("me")]))
    with pytest.raises(FencingTokenMismatchError) as fence_err:
        await stream.append(AppendInput(records=[Record(body=b"y")], fencing_token="you"))
    assert fence_err.value.expected_fencing_token == "me"
    assert pickle.loads(pickle.dumps(fence_err.value)).expected_fencing_token == "me"
    await stream.append(AppendInput(records=[Record(body=b"y")], fencing_token="me"))
    await stream.append(AppendInput(records=[CommandRecord.trim(2)]))
    batch = await stream.read(start=SeqNum(0))
    assert [r.seq_num for r in batch.records] == [2, 3]
    assert [r.is_command_record() for r in batch.records] == [False, True]
    filtered = await stream.read(start=SeqNum(0), ignore_command_records=True)
    assert [r.seq_num for r in filtered.records] == [2]


async def test_append_validation_before_sending(stream: S2Stream) -> None:
    for inp in (
        AppendInput(records=[]),
        AppendInput(records=[Record(body=b"")] * 1001),
        AppendInput(records=[Record(body=b"x" * (1024 * 1024))]),
        AppendInput(records=[Record(body=b"")], fencing_token="t" * 37),
        AppendInput(records=[Record(body=b"", timestamp=-1)]),
        AppendInput(records=[Record(body="text")]),  # type: ignore[arg-type]
        AppendInput(records=[Record(body=b"", headers=[("name", b"v")])]),  # type: ignore[list-item]
    ):
        with pytest.raises(S2ClientError):
            await stream.append(inp)
    with pytest.raises(S2ClientError):
        CommandRecord.fence("f" * 37)
    assert await stream.check_tail() == StreamPosition(0, 0)


async def test_metered_bytes() -> None:
    assert metered_bytes([Record(body=b"abc", headers=[(b"h", b"vv")])]) == 8 + 3 + 2 + 3


@pytest.mark.parametrize("compression", [Compression.ZSTD, Compression.GZIP])
async def test_compression_round_trip(
    s2_server: S2TestServer, basin: S2Basin, compression: Compression
) -> None:
    endpoints = Endpoints(s2_server.account_endpoint, s2_server.basin_endpoint)
    async with S2("t", endpoints=endpoints, compression=compression) as client:
        stream = client[basin.name]["z"]
        await client[basin.name].create_stream("z")
        body = os.urandom(10) * 500
        await stream.append(AppendInput(records=[Record(body=body)] * 3))
        batch = await stream.read(start=SeqNum(0))
        assert [r.body for r in batch.records] == [body] * 3


async def test_encrypted_stream(s2: S2, basin: S2Basin) -> None:
    await s2.reconfigure_basin(basin.name, config=BasinConfig(stream_cipher=Encryption.AEGIS_256))
    info = await basin.create_stream("enc")
    assert info.cipher is Encryption.AEGIS_256
    key = os.urandom(32)
    stream = basin.stream("enc", encryption_key=key)
    await stream.append(AppendInput(records=[Record(body=b"secret")]))
    assert [r.body for r in (await stream.read(start=SeqNum(0))).records] == [b"secret"]
    with pytest.raises(S2ServerError) as err:
        await basin.stream("enc", encryption_key=os.urandom(32)).read(start=SeqNum(0))
    assert err.value.code == "decryption_failed"
    with pytest.raises(S2ServerError) as err:
        await basin.stream("enc").append(AppendInput(records=[Record(body=b"x")]))
    assert err.value.code == "bad_header"


async def test_auto_create_on_append(s2: S2, basin: S2Basin) -> None:
    await s2.reconfigure_basin(basin.name, config=BasinConfig(create_stream_on_append=True))
    ack = await basin.stream("fresh").append(AppendInput(records=[Record(body=b"x")]))
    assert ack.end.seq_num == 1


async def test_connection_refused_is_a_client_error() -> None:
    from datetime import timedelta

    from s2_sdk import Retry

    async with S2(
        "t",
        endpoints=Endpoints("http://127.0.0.1:9", "http://127.0.0.1:9"),
        retry=Retry(max_attempts=2, min_base_delay=timedelta(milliseconds=1)),
    ) as client:
        with pytest.raises(S2ClientError):
            await client.list_basins()


async def test_headers_round_trip_whatever_their_variety(stream: S2Stream) -> None:
    """Header sets repeated, all different (past the encoder's cache), and given as lists."""
    records = [
        Record(body=b"%d" % i, headers=[(b"level", b"INFO"), (b"n", b"%d" % (i % 300))])
        for i in range(600)
    ]
    records.append(Record(body=b"lists", headers=[[b"a", b"1"], [b"b", b"2"]]))  # type: ignore[list-item]
    await stream.append(AppendInput(records=records[:500]))
    await stream.append(AppendInput(records=records[500:]))
    got = (await stream.read(start=SeqNum(0))).records
    assert [(r.body, r.headers) for r in got] == [
        (r.body, [tuple(h) for h in r.headers]) for r in records
    ]
