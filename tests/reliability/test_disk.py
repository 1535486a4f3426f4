"""Durable mode against a hostile disk: full, torn and corrupted write-ahead logs.

Nothing acknowledged is ever lost silently, and nothing not acknowledged is ever read.
The disk-full cases mount a small tmpfs, which needs root; they are skipped (with the
reason) where mounting is not allowed.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import os
import struct
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from faults import disk, hostile
from s2_local.server import Server
from s2_sdk import S2, AppendInput, Endpoints, Record, Retry, S2ServerError, SeqNum

ONE_ATTEMPT = Retry(max_attempts=1, min_base_delay=timedelta(0), max_base_delay=timedelta(0))
BASIN = "disk-basin"


@contextlib.contextmanager
def small_disk(tmp_path: Path, size: str) -> Iterator[Path]:
    try:
        with disk.small_disk(tmp_path, size) as mount:
            yield mount
    except disk.CannotMount as e:
        pytest.skip(str(e))


@contextlib.asynccontextmanager
async def client(server: Server) -> AsyncIterator[S2]:
    endpoints = Endpoints(server.endpoint, server.endpoint)
    async with S2("t", endpoints=endpoints, retry=ONE_ATTEMPT) as s2:
        yield s2


async def bodies(s2: S2, stream: str) -> list[bytes]:
    if (await s2[BASIN][stream].check_tail()).seq_num == 0:
        return []
    batch = await s2[BASIN][stream].read(start=SeqNum(0))
    return [r.body for r in batch.records]


def test_a_full_disk_fails_writes_whole_and_loses_nothing_acknowledged(tmp_path: Path) -> None:
    with small_disk(tmp_path, "4m") as mount:
        data = mount / "data"
        acked: list[bytes] = []

        async def scenario() -> None:
            nonlocal acked
            with Server(data_dir=data) as server:
                async with client(server) as s2:
                    await s2.create_basin(BASIN)
                    await s2[BASIN].create_stream("s")
                    stream = s2[BASIN]["s"]
                    await stream.append(AppendInput([Record(b"before")]))
                    filler = disk.fill(mount)
                    big = AppendInput([Record(b"x" * 300_000)])
                    for _ in range(3):
                        with pytest.raises(S2ServerError) as err:
                            await stream.append(big)
                        assert (err.value.status_code, err.value.code) == (500, "storage")
                    acked = [b"before"]
                    for size in (2048, 512, 128, 16):  # the log file's last page has room
                        with contextlib.suppress(S2ServerError):
                            while True:
                                body = b"s" * size
                                await stream.append(AppendInput([Record(body)]))
                                acked.append(body)
                    with pytest.raises(S2ServerError) as err:
                        await s2[BASIN].create_stream("made-while-full")
                    assert err.value.code == "storage"
                    # nothing that failed is visible, and reads go on
                    assert (await stream.check_tail()).seq_num == len(acked)
                    assert await bodies(s2, "s") == acked
                    names = [i.name for i in (await s2[BASIN].list_streams()).items]
                    assert names == ["s"]
                    filler.unlink()  # space comes back: writes work again
                    ack = await stream.append(AppendInput([Record(b"after")]))
                    assert ack.start.seq_num == len(acked)
                    acked.append(b"after")
            with Server(data_dir=data) as server:  # everything acknowledged, nothing else
                async with client(server) as s2:
                    assert await bodies(s2, "s") == acked
                    names = [i.name for i in (await s2[BASIN].list_streams()).items]
                    assert names == ["s"]

        asyncio.run(scenario())


def test_an_append_session_on_a_full_disk_fails_its_batches_whole(tmp_path: Path) -> None:
    with small_disk(tmp_path, "4m") as mount:
        data = mount / "data"

        async def scenario() -> None:
            with Server(data_dir=data) as server:
                async with client(server) as s2:
                    await s2.create_basin(BASIN)
                    await s2[BASIN].create_stream("s")
                    stream = s2[BASIN]["s"]
                    acked: list[bytes] = []
                    filler: Path | None = None
                    with contextlib.suppress(S2ServerError):
                        async with stream.append_session() as session:
                            for i in range(40):
                                body = b"%03d" % i + b"y" * 100_000
                                ticket = await session.submit(AppendInput([Record(body)]))
                                await ticket
                                acked.append(body)
                                if i == 5:
                                    filler = disk.fill(mount)
                    assert filler is not None and len(acked) == 6
                    assert await bodies(s2, "s") == acked
                    filler.unlink()
            with Server(data_dir=data) as server:
                async with client(server) as s2:
                    assert await bodies(s2, "s") == acked

        asyncio.run(scenario())


def _entries(wal: Path) -> list[tuple[int, int]]:
    """(offset, length) of every entry of a write-ahead log."""
    data = wal.read_bytes()
    out, pos = [], 0
    while pos < len(data):
        length, _ = struct.unpack_from(">IB", data, pos)
        end = pos + 5 + length + 4
        out.append((pos, end - pos))
        pos = end
    return out


async def _three_appends(data: Path) -> None:
    """Stream a, then b, then a again: three entries after the metadata."""
    with Server(data_dir=data) as server:
        async with client(server) as s2:
            await s2.create_basin(BASIN)
            for name in ("a", "b"):
                await s2[BASIN].create_stream(name)
            await s2[BASIN]["a"].append(AppendInput([Record(b"a0")]))
            await s2[BASIN]["b"].append(AppendInput([Record(b"b0")]))
            await s2[BASIN]["a"].append(AppendInput([Record(b"a1")]))


def _serve(data: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    """Start the CLI on ``data`` and stop it at once if it starts: its output."""
    code = (
        "import os, signal, sys, threading\n"
        "from s2_local.cli import main\n"
        "timer = threading.Timer(3, lambda: os.kill(os.getpid(), signal.SIGTERM))\n"
        "timer.daemon = True\n"
        "timer.start()\n"
        "main(sys.argv[1:])\n"
    )
    argv = [sys.executable, "-c", code, "serve", "--port", "0", "--data-dir", str(data), *extra]
    return subprocess.run(argv, capture_output=True, text=True, timeout=60)


def test_a_corrupted_entry_in_the_middle_stops_the_start_until_repaired(tmp_path: Path) -> None:
    data = tmp_path / "data"
    asyncio.run(_three_appends(data))
    wal = data / "wal.s2l"
    entries = _entries(wal)
    offset, length = entries[-2]  # b's append: intact entries follow it
    raw = bytearray(wal.read_bytes())
    raw[offset + length // 2] ^= 0xFF
    wal.write_bytes(bytes(raw))

    refused = _serve(data)
    assert refused.returncode == 1
    assert f"damaged at byte offset {offset}" in refused.stderr
    assert "--repair" in refused.stderr and "Traceback" not in refused.stderr
    assert wal.read_bytes() == bytes(raw)  # nothing was cut

    repaired = _serve(data, "--repair")
    assert repaired.returncode == 0, repaired.stderr
    assert "repair drops" in repaired.stderr

    async def after() -> None:
        with Server(data_dir=data) as server:  # the repaired log starts without --repair
            async with client(server) as s2:
                assert await bodies(s2, "a") == [b"a0", b"a1"]  # every intact entry kept
                assert await bodies(s2, "b") == []

    asyncio.run(after())
    assert (data / "wal.damaged").read_bytes() == bytes(raw)


@pytest.mark.parametrize("tail", ["cut", "zeros"])
def test_a_torn_tail_is_cut_and_the_rest_kept(tmp_path: Path, tail: str) -> None:
    data = tmp_path / "data"
    asyncio.run(_three_appends(data))
    wal = data / "wal.s2l"
    offset, length = _entries(wal)[-1]
    if tail == "cut":
        os.truncate(wal, offset + length - 3)  # a crash in the middle of the last write
    else:
        with open(wal, "ab") as f:  # a crash after the size grew, before the data landed
            f.write(b"\0" * 4096)

    async def after() -> None:
        with Server(data_dir=data) as server:
            async with client(server) as s2:
                expected = [b"a0"] if tail == "cut" else [b"a0", b"a1"]
                assert await bodies(s2, "a") == expected
                assert await bodies(s2, "b") == [b"b0"]

    asyncio.run(after())


def test_fill_takes_every_byte(tmp_path: Path) -> None:
    with small_disk(tmp_path, "1m") as mount:
        disk.fill(mount)
        fd = os.open(mount / "more", os.O_WRONLY | os.O_CREAT)
        with pytest.raises(OSError) as err:
            os.write(fd, b"x" * 4096)
        os.close(fd)
        assert err.value.errno == errno.ENOSPC


def test_a_disk_that_keeps_filling_up_loses_nothing_acknowledged(tmp_path: Path) -> None:
    try:
        figures = hostile.disk_full_under_load(tmp_path, seconds=3)
    except disk.CannotMount as e:
        pytest.skip(str(e))
    assert figures.faults.get("disk full", 0) >= 2 and figures.faults.get("refused", 0) > 0
    assert figures.intact and figures.duplicates == 0 and figures.checked > 0, figures


def test_a_flipped_byte_is_refused_then_repaired_and_reported(tmp_path: Path) -> None:
    figures = hostile.damaged_log(tmp_path / "data", appends=10)
    assert figures.intact and figures.checked > 0, figures
