"""The blocking facade: from plain threads, after fork, and at interpreter exit."""

from __future__ import annotations

import asyncio
import gc
import inspect
import os
import subprocess
import sys
import textwrap
import threading
import time
import typing

import pytest
import s2_sdk
from s2_local.pytest_plugin import S2TestServer
from s2_sdk import AppendInput, CommandRecord, Endpoints, ReadLimit, Record, S2ClientError, SeqNum
from s2_sdk import sync as blocking
from s2_sdk.sync import S2, background, read_records
from support.rest import unique_basin


@pytest.fixture
def client(s2_server: S2TestServer) -> S2:
    with S2("t", endpoints=Endpoints(s2_server.account_endpoint, s2_server.basin_endpoint)) as c:
        yield c


def test_blocking_calls_from_many_threads(client: S2) -> None:
    name = unique_basin()
    client.create_basin(name)
    basin = client[name]
    basin.create_stream("s")
    stream = basin["s"]
    errors: list[BaseException] = []

    def work(i: int) -> None:
        try:
            for j in range(10):
                stream.append(AppendInput([Record(body=f"{i}-{j}".encode())]))
        except BaseException as e:
            errors.append(e)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert stream.check_tail().seq_num == 80
    batch = stream.read(start=SeqNum(0), limit=ReadLimit(count=100))
    assert sorted(r.body for r in batch.records) == sorted(
        f"{i}-{j}".encode() for i in range(8) for j in range(10)
    )


def test_blocking_producer_and_read_session(client: S2) -> None:
    name = unique_basin()
    client.create_basin(name)
    client[name].create_stream("p")
    stream = client[name]["p"]
    with stream.producer() as producer:
        futures = [producer.submit(Record(body=f"{i}".encode())) for i in range(500)]
        producer.flush(timeout=10)
        assert all(f.done() for f in futures)
    assert [f.result().seq_num for f in futures] == list(range(500))
    with pytest.raises(S2ClientError):
        producer.submit(Record(body=b"late"))
    seen = []
    with stream.read_session(start=SeqNum(0), limit=ReadLimit(count=500)) as session:
        for batch in session:
            seen += [r.seq_num for r in batch.records]
    assert seen == list(range(500))


def test_read_records_to_the_tail(
    client: S2, s2_server: S2TestServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    name = unique_basin()
    client.create_basin(name)
    client[name].create_stream("r")
    stream = client[name]["r"]
    stream.append(AppendInput([Record(b"a"), CommandRecord.fence("f"), Record(b"b")]))
    everything = list(read_records(name, "r", client=client))
    assert [r.seq_num for r in everything] == [0, 1, 2]
    data = read_records(name, "r", ignore_command_records=True, client=client)
    assert [r.body for r in data] == [b"a", b"b"]
    # no client given: one from the environment, closed when the iteration ends
    monkeypatch.setenv("S2_ACCESS_TOKEN", "t")
    monkeypatch.setenv("S2_ACCOUNT_ENDPOINT", s2_server.account_endpoint)
    monkeypatch.setenv("S2_BASIN_ENDPOINT", s2_server.basin_endpoint)
    assert [r.body for r in read_records(name, "r", start=SeqNum(2))] == [b"b"]


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")
def test_facade_works_in_a_forked_child(client: S2) -> None:
    name = unique_basin()
    client.create_basin(name)
    client[name].create_stream("f")
    client[name]["f"].append(AppendInput([Record(body=b"parent")]))
    pid = os.fork()
    if pid == 0:
        code = 1
        try:
            ack = client[name]["f"].append(AppendInput([Record(body=b"child")]))
            gc.collect()  # the parent's inherited loop must not be closed by the child
            code = 0 if ack.start.seq_num == 1 else 2
        finally:
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    client[name]["f"].append(AppendInput([Record(body=b"parent-again")]), timeout=5)
    bodies = [r.body for r in client[name]["f"].read(start=SeqNum(0)).records]
    assert bodies == [b"parent", b"child", b"parent-again"]


def test_pending_records_are_flushed_at_interpreter_exit(
    s2_server: S2TestServer, client: S2
) -> None:
    name = unique_basin()
    client.create_basin(name)
    client[name].create_stream("exit")
    script = textwrap.dedent(
        f"""
        from s2_sdk import Endpoints, Record
        from s2_sdk.sync import S2
        endpoints = Endpoints({s2_server.account_endpoint!r}, {s2_server.basin_endpoint!r})
        s2 = S2("t", endpoints=endpoints)
        producer = s2[{name!r}]["exit"].producer()
        for i in range(1000):
            producer.submit(Record(body=str(i).encode()))
        print("submitted", flush=True)
        """
    )
    proc = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60
    )
    assert proc.returncode == 0, proc.stderr
    assert "submitted" in proc.stdout
    assert client[name]["exit"].check_tail().seq_num == 1000


def test_a_blocking_call_past_its_timeout_is_cancelled() -> None:
    """The caller gets S2ClientError at the timeout and the work on the loop stops."""
    outcome: list[str] = []

    async def slow() -> str:
        try:
            await asyncio.sleep(5)
        except asyncio.CancelledError:
            outcome.append("cancelled")
            raise
        return "finished"

    started = time.monotonic()
    with pytest.raises(S2ClientError, match=r"did not finish within 0\.2 s"):
        background().run(slow(), timeout=0.2)
    assert time.monotonic() - started < 2
    assert background().run(asyncio.sleep(0, result="next"), timeout=5) == "next"
    assert outcome == ["cancelled"]

    async def failing() -> None:
        raise ValueError("from the loop")

    with pytest.raises(ValueError, match="from the loop"):
        background().run(failing())


FACADE_ONLY = {
    "S2": {"client", "submit"},
    "S2Basin": {"create_stream_if_missing"},
    "Producer": {"close_at_exit"},
}


@pytest.mark.parametrize(
    ("async_cls", "blocking_cls"),
    [
        (s2_sdk.S2, S2),
        (s2_sdk.S2Basin, blocking.S2Basin),
        (s2_sdk.S2Stream, blocking.S2Stream),
        (s2_sdk.AppendSession, blocking.AppendSession),
        (s2_sdk.ReadSession, blocking.ReadSession),
        (s2_sdk.Producer, blocking.Producer),
    ],
)
def test_facade_has_every_public_method(async_cls: type, blocking_cls: type) -> None:
    """Fails when the async client gains a public method the blocking facade lacks."""

    def public(cls: type) -> set[str]:
        return {name for name in dir(cls) if not name.startswith("_")}

    assert public(async_cls) - public(blocking_cls) == set()
    assert public(blocking_cls) - public(async_cls) == FACADE_ONLY.get(blocking_cls.__name__, set())
    for name in public(blocking_cls):
        member = inspect.getattr_static(blocking_cls, name)
        assert inspect.getdoc(member), f"{blocking_cls.__name__}.{name} has no docstring"
        if inspect.isfunction(member):
            hints = typing.get_type_hints(member)
            assert "return" in hints, f"{blocking_cls.__name__}.{name} has no return type"


def test_blocking_append_session_and_listings(client: S2) -> None:
    name = unique_basin()
    client.create_basin(name)
    basin = client[name]
    for i in range(3):
        basin.create_stream(f"listed-{i}")
    assert basin.name == name and basin["listed-0"].name == "listed-0"
    assert [s.name for s in basin.list_all_streams(prefix="listed-")] == [
        "listed-0",
        "listed-1",
        "listed-2",
    ]
    assert name in {b.name for b in client.list_all_basins(prefix=name)}
    stream = basin["listed-0"]
    with stream.append_session() as session:
        futures = [session.submit(AppendInput([Record(f"{i}".encode())])) for i in range(20)]
        assert [f.result(10).start.seq_num for f in futures] == list(range(20))
        assert session.connected
    with pytest.raises(S2ClientError):
        session.submit(AppendInput([Record(b"after close")]))
    bodies = [r.body for r in read_records(name, "listed-0", client=client)]
    assert bodies == [f"{i}".encode() for i in range(20)]


def test_abandoned_listing_leaves_nothing_running(client: S2) -> None:
    name = unique_basin()
    client.create_basin(name)
    for i in range(3):
        client[name].create_stream(f"s{i}")
    listing = client[name].list_all_streams()
    assert next(listing).name == "s0"
    listing.close()  # the async generator is closed on the loop, not left to the GC
    assert [s.name for s in client[name].list_all_streams()] == ["s0", "s1", "s2"]
