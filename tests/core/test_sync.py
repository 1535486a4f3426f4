"""The blocking facade: from plain threads, after fork, and at interpreter exit."""

from __future__ import annotations

import asyncio
import gc
import os
import subprocess
import sys
import textwrap
import threading
import time

import pytest
from s2_local.pytest_plugin import S2TestServer
from s2_sdk import AppendInput, CommandRecord, Endpoints, ReadLimit, Record, S2ClientError, SeqNum
from s2_sdk._bridge import bridge
from s2_sdk.sync import S2, read_records
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
        bridge().run(slow(), timeout=0.2)
    assert time.monotonic() - started < 2
    assert bridge().run(asyncio.sleep(0, result="next"), timeout=5) == "next"
    assert outcome == ["cancelled"]

    async def failing() -> None:
        raise ValueError("from the loop")

    with pytest.raises(ValueError, match="from the loop"):
        bridge().run(failing())
