"""A user program written for the published `s2-sdk` 0.13, as its users write them.

It touches every name in 0.13's ``__all__``, every public method and property, and the
error types 0.13 keeps in ``s2_sdk._exceptions`` (see ``harness`` for how it runs).
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import s2_sdk
from harness import BASIN, TOKENS, client, error, plain, run, step
from s2_sdk import (
    AccessTokenInfo,
    AccessTokenScope,
    AccountMetricSet,
    Accumulation,
    AppendAck,
    AppendConditionError,
    AppendInput,
    AppendRetryPolicy,
    AppendSession,
    BasinConfig,
    BasinInfo,
    BasinMetricSet,
    Batching,
    BatchSubmitTicket,
    CommandRecord,
    Compression,
    Encryption,
    Endpoints,
    EnsuredBasinInfo,
    EnsuredStreamInfo,
    EnsureStatus,
    ExactMatch,
    FencingTokenMismatchError,
    Gauge,
    IndexedAppendAck,
    Label,
    LocationInfo,
    MetricUnit,
    Operation,
    OperationGroupPermissions,
    Page,
    Permission,
    PrefixMatch,
    Producer,
    ReadBatch,
    ReadLimit,
    ReadSession,
    ReadUnwrittenError,
    Record,
    RecordSubmitTicket,
    Retry,
    S2Basin,
    S2ClientError,
    S2Error,
    S2ServerError,
    S2Stream,
    Scalar,
    SeqNum,
    SeqNumMismatchError,
    SequencedRecord,
    StreamConfig,
    StreamInfo,
    StreamMetricSet,
    StreamPosition,
    TailOffset,
    Timeout,
    TimeseriesInterval,
    Timestamp,
    Timestamping,
    TimestampingMode,
    append_inputs,
    append_record_batches,
    metered_bytes,
)
from s2_sdk._exceptions import (
    AppendIndefiniteFailureError,
    ConnectError,
    ConnectionClosedError,
    ConnectionRetiredError,
    ProtocolError,
    ReadTimeoutError,
    ServerDrainingError,
    TransportError,
)

# -- configuration objects -------------------------------------------------------------


@step
async def option_objects() -> Any:
    timeout = Timeout(request=timedelta(seconds=4))
    timeout.connection = timedelta(seconds=2)  # data classes are mutable
    retry = Retry(max_attempts=4, append_retry_policy=AppendRetryPolicy.NO_SIDE_EFFECTS)
    retry.min_base_delay = timedelta(milliseconds=20)
    batching = Batching(max_records=10)
    batching.linger = timedelta(milliseconds=2)
    return [plain(timeout), plain(retry), plain(batching), Compression.ZSTD.value]


@step
async def endpoints_objects() -> Any:
    default = Endpoints.default()
    try:
        Endpoints("http://a", "https://b")
        mixed = "accepted"
    except S2ClientError:
        mixed = "S2ClientError"
    return [isinstance(default, Endpoints), mixed]


@step
async def data_classes_are_mutable_dataclasses() -> Any:
    record = Record(body=b"x")
    record.headers.append((b"k", b"v"))
    other = Record(body=b"y")
    record.timestamp = 5
    moved = dataclasses.replace(record, body=b"z")
    position = StreamPosition(1, 2)
    position.seq_num = 3
    seq = SequencedRecord(seq_num=1, body=b"b", headers=[(b"", b"fence")], timestamp=9)
    return [
        plain(record),
        other.headers,
        plain(moved),
        plain(position),
        dataclasses.asdict(seq)["seq_num"],
        [f.name for f in dataclasses.fields(SequencedRecord)],
        seq.is_command_record(),
        plain(ReadLimit(count=3)),
        plain(Page(items=[1], has_more=False)),
        [SeqNum(1).value, Timestamp(2).value, TailOffset(3).value],
        plain(IndexedAppendAck(1, AppendAck(position, position, position))),
        plain(ReadBatch(records=[seq])),
    ]


@step
async def command_records() -> Any:
    fence = CommandRecord.fence("owner")
    trim = CommandRecord.trim(4)
    return [
        CommandRecord.FENCE.decode(),
        CommandRecord.TRIM.decode(),
        plain(fence),
        plain(trim),
        metered_bytes([fence, trim]),
    ]


@step
async def stream_config_with_string_storage_class() -> Any:
    config = StreamConfig(storage_class="express", retention_policy=3600)
    config.timestamping = Timestamping(mode=TimestampingMode.ARRIVAL, uncapped=False)
    return plain(config)


@step
async def error_constructors() -> Any:
    errors = [
        S2ServerError("invalid", "bad thing", 422),
        SeqNumMismatchError("unknown", "mismatch", 412, 7),
        FencingTokenMismatchError("unknown", "mismatch", 412, "tok"),
        ReadUnwrittenError("unknown", "unwritten", 416, StreamPosition(3, 4)),
        ServerDrainingError("server_draining", "draining", 503),
    ]
    out = [[error(e), str(e)] for e in errors]
    indefinite = AppendIndefiniteFailureError(ConnectError("refused"))
    out.append(
        [
            isinstance(indefinite, S2Error),
            type(indefinite.final_attempt_error).__name__,
            indefinite.__cause__ is indefinite.final_attempt_error,
        ]
    )
    transport = [ConnectError, ReadTimeoutError, ConnectionClosedError, ConnectionRetiredError]
    out.append([issubclass(t, TransportError) for t in transport])
    out.append([ProtocolError("reset", 8).error_code, issubclass(AppendConditionError, S2Error)])
    return out


# -- basins and streams ----------------------------------------------------------------


@step
async def create_basin_with_config() -> Any:
    async with client() as s2:
        config = BasinConfig(
            default_stream_config=StreamConfig(storage_class="standard"),
            create_stream_on_append=True,
            create_stream_on_read=True,
        )
        info = await s2.create_basin(BASIN, config=config)
        return [info.name == BASIN, isinstance(info, BasinInfo), plain(info.created_at)]


@step
async def ensure_basin() -> Any:
    async with client() as s2:
        same = await s2.ensure_basin(BASIN, config=await s2.get_basin_config(BASIN))
        return [isinstance(same, EnsuredBasinInfo), same.status.value, same.basin.name == BASIN]


@step
async def basin_config_roundtrip() -> Any:
    async with client() as s2:
        config = await s2.get_basin_config(BASIN)
        config.create_stream_on_read = True  # mutate what came back and send it again
        updated = await s2.reconfigure_basin(BASIN, config=config)
        return plain(updated)


@step
async def list_basins() -> Any:
    async with client() as s2:
        page = await s2.list_basins(prefix=BASIN)
        everything = [b.name async for b in s2.list_all_basins(prefix=BASIN)]
        return [[b.name == BASIN for b in page.items], page.has_more, everything == [BASIN]]


@step
async def locations() -> Any:
    async with client() as s2:
        locations = await s2.list_locations()
        default = await s2.get_default_location()
        again = await s2.set_default_location(default.name)
        first = locations[0]
        return [
            isinstance(first, LocationInfo),
            sorted(first.storage_classes or []),
            first.default_storage_class,
            again.name == default.name,
        ]


@step
async def create_and_ensure_streams() -> Any:
    async with client() as s2:
        basin: S2Basin = s2[BASIN]
        info = await basin.create_stream(
            "plain", config=StreamConfig(storage_class="express", retention_policy="infinite")
        )
        ensured = await basin.ensure_stream("plain")
        ensured_new = await basin.ensure_stream("ensured", config=StreamConfig(retention_policy=60))
        return [
            basin.name == BASIN,
            isinstance(info, StreamInfo),
            info.name,
            isinstance(ensured, EnsuredStreamInfo),
            ensured.status.value,
            ensured_new.status.value,
            EnsureStatus.CONFIG_UNCHANGED.value,
        ]


@step
async def stream_config_roundtrip() -> Any:
    async with client() as s2:
        basin = s2.basin(BASIN)
        config = await basin.get_stream_config("plain")
        storage = [config.storage_class == "express", isinstance(config.storage_class, str)]
        config.retention_policy = 7200
        updated = await basin.reconfigure_stream("plain", config=config)
        return [storage, plain(updated)]


@step
async def list_streams() -> Any:
    async with client() as s2:
        basin = s2[BASIN]
        page = await basin.list_streams(prefix="")
        names = [s.name async for s in basin.list_all_streams()]
        return [[s.name for s in page.items], page.has_more, names]


# -- records ---------------------------------------------------------------------------


@step
async def unary_append_and_read() -> Any:
    async with client() as s2:
        stream: S2Stream = s2[BASIN]["plain"]
        ack = await stream.append(
            AppendInput(records=[Record(b"a"), Record(b"b", headers=[(b"k", b"v")])])
        )
        batch = await stream.read(start=SeqNum(0))
        tail = await stream.check_tail()
        return [
            stream.name,
            [ack.start.seq_num, ack.end.seq_num, ack.tail.seq_num],
            [[r.seq_num, r.body.decode(), plain(r.headers)] for r in batch.records],
            tail.seq_num,
        ]


@step
async def reads_by_position() -> Any:
    async with client() as s2:
        stream = s2[BASIN]["plain"]
        by_offset = await stream.read(start=TailOffset(1), limit=ReadLimit(count=5))
        by_time = await stream.read(start=Timestamp(0), limit=ReadLimit(bytes=100))
        clamped = await stream.read(start=SeqNum(99), clamp_to_tail=True, wait=1)
        return [
            [r.seq_num for r in by_offset.records],
            [r.seq_num for r in by_time.records],
            [len(clamped.records), plain(clamped.tail.seq_num if clamped.tail else None)],
        ]


@step
async def append_conditions() -> Any:
    async with client() as s2:
        stream = s2[BASIN]["plain"]
        out = []
        try:
            await stream.append(AppendInput(records=[Record(b"c")], match_seq_num=0))
        except SeqNumMismatchError as e:
            out.append(error(e))
        await stream.append(AppendInput(records=[CommandRecord.fence("me")]))
        try:
            await stream.append(AppendInput(records=[Record(b"d")], fencing_token="other"))
        except FencingTokenMismatchError as e:
            out.append(error(e))
        await stream.append(AppendInput(records=[CommandRecord.fence("")], fencing_token="me"))
        return out


@step
async def read_unwritten() -> Any:
    async with client() as s2:
        try:
            await s2[BASIN]["plain"].read(start=SeqNum(1000))
        except ReadUnwrittenError as e:
            return error(e)
        return "no error"


@step
async def server_errors() -> Any:
    async with client() as s2:
        out = []
        try:
            await s2[BASIN].create_stream("plain")
        except S2ServerError as e:
            out.append([error(e), str(e) == e.message])
        try:
            await s2.get_basin_config("missing-basin-name-x")
        except S2ServerError as e:
            out.append(error(e))
        return out


@step
async def client_errors() -> Any:
    out = []
    async with client() as s2:
        stream = s2[BASIN]["plain"]
        bad: list[Callable[[], Awaitable[Any]]] = [
            lambda: stream.append(AppendInput(records=[])),
            lambda: stream.append(AppendInput(records=[Record(b"x")] * 1001)),
            lambda: stream.append(AppendInput(records=[Record(b"x" * (1024 * 1024))])),
            lambda: s2.create_basin("Bad_Name"),
        ]
        for call in bad:
            try:
                await call()
                out.append("accepted")
            except S2ClientError as e:
                out.append(type(e).__name__)
    return out


@step
async def append_session_pipelined() -> Any:
    async with client() as s2:
        stream = s2[BASIN]["session"]
        await s2[BASIN].create_stream("session")
        acks = []
        async with stream.append_session(max_unacked_batches=4) as session:
            assert isinstance(session, AppendSession)
            tickets: list[BatchSubmitTicket] = []
            for i in range(5):
                inp = AppendInput(records=[Record(f"{i}-{j}".encode()) for j in range(i + 1)])
                tickets.append(await session.submit(inp))
            for ticket in tickets:
                ack = await ticket
                acks.append([ack.start.seq_num, ack.end.seq_num])
        return acks


@step
async def producer_records() -> Any:
    async with client() as s2:
        stream = s2[BASIN]["session"]
        out = []
        async with stream.producer(batching=Batching(max_records=2)) as producer:
            assert isinstance(producer, Producer)
            tickets: list[RecordSubmitTicket] = [
                await producer.submit(Record(f"p{i}".encode())) for i in range(5)
            ]
            await producer.flush()
            for ticket in tickets:
                ack = await ticket
                out.append([ack.seq_num, ack.batch.end.seq_num - ack.batch.start.seq_num])
        return out


@step
async def read_session_catch_up() -> Any:
    async with client() as s2:
        stream = s2[BASIN]["session"]
        got: list[int] = []
        async with stream.read_session(start=SeqNum(0), limit=ReadLimit(count=20)) as session:
            assert isinstance(session, ReadSession)
            async for batch in session:
                got.extend(r.seq_num for r in batch.records)
        return got


@step
async def read_session_live() -> Any:
    async with client() as s2:
        stream = s2[BASIN]["session"]
        session = stream.read_session(start=TailOffset(0))
        tail = await asyncio.wait_for(session.caught_up(), 10)
        caught_up = session.is_caught_up()
        await stream.append(AppendInput(records=[Record(b"live")]))
        batch = await asyncio.wait_for(anext(session), 10)
        await session.close()
        return [tail.seq_num, caught_up, [r.body.decode() for r in batch.records]]


@step
async def batching_helpers() -> Any:
    async def records() -> Any:
        for i in range(5):
            yield Record(f"h{i}".encode())

    batches = [len(b) async for b in append_record_batches(records(), batching=Batching(3))]
    inputs = [
        [len(i.records), i.match_seq_num]
        async for i in append_inputs(records(), match_seq_num=10, batching=Batching(2))
    ]
    return [batches, inputs]


@step
async def ignore_command_records() -> Any:
    async with client() as s2:
        stream = s2[BASIN]["plain"]
        all_records = await stream.read(start=SeqNum(0))
        plain_only = await stream.read(start=SeqNum(0), ignore_command_records=True)
        return [len(all_records.records), len(plain_only.records)]


@step
async def trim_command() -> Any:
    async with client() as s2:
        stream = s2[BASIN]["plain"]
        await stream.append(AppendInput(records=[CommandRecord.trim(2)]))
        await asyncio.sleep(0.2)
        batch = await stream.read(start=SeqNum(0), clamp_to_tail=True)
        return batch.records[0].seq_num if batch.records else None


# -- 0.9 to 0.13 additions -------------------------------------------------------------


@step
async def append_creates_stream_with_config() -> Any:
    async with client() as s2:
        stream = s2[BASIN]["auto/append"]
        config = StreamConfig(retention_policy=1234)
        await stream.append(AppendInput(records=[Record(b"a")], stream_config=config))
        got = await s2[BASIN].get_stream_config("auto/append")
        return got.retention_policy


@step
async def session_and_producer_create_streams_with_config() -> Any:
    async with client() as s2:
        basin = s2[BASIN]
        async with basin["auto/session"].append_session(
            stream_config=StreamConfig(retention_policy=2345)
        ) as session:
            await (await session.submit(AppendInput(records=[Record(b"s")])))
        async with basin["auto/producer"].producer(
            stream_config=StreamConfig(retention_policy=3456)
        ) as producer:
            await (await producer.submit(Record(b"p")))
        return [
            (await basin.get_stream_config("auto/session")).retention_policy,
            (await basin.get_stream_config("auto/producer")).retention_policy,
        ]


@step
async def reads_create_streams_with_config() -> Any:
    async with client() as s2:
        basin = s2[BASIN]
        try:
            batch = await basin["auto/read"].read(
                start=SeqNum(0), stream_config=StreamConfig(retention_policy=4567)
            )
            outcome: Any = len(batch.records)
        except ReadUnwrittenError as e:
            outcome = error(e)
        async with basin["auto/read-session"].read_session(
            start=SeqNum(0), stream_config=StreamConfig(retention_policy=5678), wait=1
        ) as session:
            async for _ in session:
                pass
        return [
            outcome,
            (await basin.get_stream_config("auto/read")).retention_policy,
            (await basin.get_stream_config("auto/read-session")).retention_policy,
        ]


@step
async def metrics() -> Any:
    async with client() as s2:
        usage = await s2.account_metrics(
            set=AccountMetricSet.ESTIMATED_BILLABLE_USAGE, interval=TimeseriesInterval.HOUR
        )
        ops = await s2.account_metrics(set=AccountMetricSet.ACCOUNT_OPS, start=0, end=1)
        active = await s2.account_metrics(set=AccountMetricSet.ACTIVE_BASINS)
        storage = await s2.basin_metrics(BASIN, set=BasinMetricSet.STORAGE)
        appends = await s2.basin_metrics(BASIN, set=BasinMetricSet.APPEND_OPS)
        stream_storage = await s2.stream_metrics(BASIN, "plain", set=StreamMetricSet.STORAGE)
        kinds = {Scalar: "scalar", Accumulation: "accumulation", Gauge: "gauge", Label: "label"}
        return [
            sorted({m.unit == MetricUnit.USD for m in usage if not isinstance(m, Label)}),
            [kinds[type(m)] for m in usage][:1],
            [[kinds[type(m)], m.values] for m in ops if not isinstance(m, Scalar)],
            [BASIN in m.values for m in active if isinstance(m, Label)],
            [kinds[type(m)] for m in storage + appends + stream_storage],
        ]


@step
async def access_tokens() -> Any:
    async with client() as s2:
        scope = AccessTokenScope(
            basins=ExactMatch(BASIN),
            streams=PrefixMatch(""),
            op_groups=OperationGroupPermissions(stream=Permission.READ),
            ops=[Operation.APPEND, Operation.CHECK_TAIL],
        )
        token = await s2.issue_access_token(
            f"{TOKENS}-a", scope=scope, expires_at=datetime.now(UTC) + timedelta(hours=1)
        )
        page = await s2.list_access_tokens(prefix=TOKENS)
        listed = [t async for t in s2.list_all_access_tokens(prefix=TOKENS)]
        info: AccessTokenInfo = page.items[0]
        await s2.revoke_access_token(f"{TOKENS}-a")
        after = await s2.list_access_tokens(prefix=TOKENS)
        return [
            isinstance(token, str) and len(token) > 0,
            info.id == f"{TOKENS}-a",
            info.scope.basins == ExactMatch(BASIN),
            sorted(op.value for op in info.scope.ops),
            info.auto_prefix_streams,
            len(listed),
            len(after.items),
        ]


@step
async def encryption_names() -> Any:
    return [Encryption.AEGIS_256.value, Encryption.AES_256_GCM.value]


@step
async def delete_streams_and_basin() -> Any:
    async with client() as s2:
        basin = s2[BASIN]
        await basin.delete_stream("ensured")
        await basin.delete_stream("ensured", ignore_not_found=True)
        try:
            await basin.delete_stream("never-existed")
            missing = "deleted"
        except S2ServerError as e:
            missing = e.code
        await s2.delete_basin(BASIN)
        await s2.delete_basin(BASIN, ignore_not_found=True)
        return [missing]


@step
async def version_is_a_string() -> Any:
    return isinstance(s2_sdk.__version__, str)


run()
