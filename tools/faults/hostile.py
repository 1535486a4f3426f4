"""Reliability scenarios against a hostile world: a disk that fills up, a log damaged in the
middle, clients that take nothing. Like ``scenarios``, they are sized by their arguments
(short in the test run, long in ``tools/reliability/run.py``), return :class:`Figures`,
and check what the server holds against what was acknowledged."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import struct
import subprocess
import sys
import threading
import time
from datetime import timedelta
from pathlib import Path

import h2.config
import h2.connection
import h2.settings
from s2_local.server import ServerProcess
from s2_sdk import S2, AppendInput, Endpoints, Record, Retry, S2Error, SeqNum

from faults import disk
from faults.scenarios import Figures, compare, read_all, rss

__all__ = [
    "creditless_session",
    "damaged_log",
    "disk_full_under_load",
    "never_reading_session",
    "slow_readers",
]

_PATIENT = Retry(max_attempts=3, min_base_delay=timedelta(milliseconds=20),
                 max_base_delay=timedelta(milliseconds=100))  # fmt: skip


def _client(server: ServerProcess, retry: Retry = _PATIENT) -> S2:
    return S2("t", endpoints=Endpoints(server.endpoint, server.endpoint), retry=retry)


def disk_full_under_load(parent: Path, *, seconds: float) -> Figures:
    """A durable s2-local on a 16 MiB disk that fills up and frees again every second,
    under an appender; after a restart the stream must hold exactly what was acknowledged.

    Raises:
        disk.CannotMount: a tmpfs cannot be mounted here.
    """
    figures = Figures("Durable s2-local on a disk that keeps filling up",
                      f"1 appender for {seconds:g} s, 16 MiB disk")  # fmt: skip
    with disk.small_disk(parent, "16m") as mount:
        acked: dict[int, bytes] = {}
        started = time.monotonic()
        server = ServerProcess(data_dir=mount / "data").start()
        try:

            async def run() -> None:
                async with _client(server) as s2:
                    await s2.create_basin("disk-full")
                    await s2["disk-full"].create_stream("s")
                    stream, n = s2["disk-full"]["s"], 0
                    deadline = time.monotonic() + seconds
                    while time.monotonic() < deadline:
                        body = b"%08d" % n + b"d" * 2000
                        try:
                            ack = await stream.append(AppendInput([Record(body)]))
                            acked[ack.start.seq_num] = body
                        except S2Error:
                            figures.faults["refused"] = figures.faults.get("refused", 0) + 1
                        n += 1

            stop = threading.Event()
            toggler = threading.Thread(target=_fill_and_free, args=(mount, stop, figures))
            toggler.start()
            try:
                asyncio.run(run())
            finally:
                stop.set()
                toggler.join()
        finally:
            server.stop()
        server = ServerProcess(data_dir=mount / "data").start()
        try:

            async def check() -> list[tuple[int, bytes]]:
                async with _client(server) as s2:
                    return await read_all(s2["disk-full"]["s"])

            stored = asyncio.run(check())
        finally:
            server.stop()
    figures.seconds = time.monotonic() - started
    compare(figures, stored, acked, list(acked.values()))
    figures.notes.append(
        f"{len(acked):,} appends acknowledged, {figures.faults.get('refused', 0):,} refused "
        "while full; checked after a restart"
    )
    return figures


def _fill_and_free(mount: Path, stop: threading.Event, figures: Figures) -> None:
    """Fill the disk, and free it, every half second until ``stop``."""
    while not stop.wait(0.5):
        filler = disk.fill(mount)
        figures.faults["disk full"] = figures.faults.get("disk full", 0) + 1
        stop.wait(0.5)
        filler.unlink()


def _entries(wal: Path) -> list[tuple[int, int]]:
    """(offset, length) of every entry of a write-ahead log."""
    data = wal.read_bytes()
    out, pos = [], 0
    while pos < len(data):
        (length,) = struct.unpack_from(">I", data, pos)
        end = pos + 5 + length + 4
        out.append((pos, end - pos))
        pos = end
    return out


def _serve_once(data_dir: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    """Start ``s2-local serve`` on ``data_dir`` and stop it (SIGTERM) once it is up."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "s2_local", "serve", "--port", "0",
         "--data-dir", str(data_dir), *extra],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    assert proc.stdout is not None
    for line in proc.stdout:
        if "S2_ACCOUNT_ENDPOINT" in line:
            proc.terminate()
            break
    out, err = proc.communicate(timeout=30)
    return subprocess.CompletedProcess(proc.args, proc.returncode, out, err)


def damaged_log(data_dir: Path, *, appends: int) -> Figures:
    """Three streams appended to in turn, then one byte of an append in the middle of the
    log flipped. The server must refuse to start; with ``--repair`` it keeps every
    intact entry, and says what it dropped: nothing is lost silently."""
    figures = Figures("Durable s2-local after a byte of its log flipped",
                      f"3 streams x {appends} appends, then repair")  # fmt: skip
    names = ["a", "b", "c"]
    acked: dict[str, dict[int, bytes]] = {name: {} for name in names}
    started = time.monotonic()
    server = ServerProcess(data_dir=data_dir).start()
    try:

        async def write() -> None:
            async with _client(server) as s2:
                await s2.create_basin("damaged-log")
                for name in names:
                    await s2["damaged-log"].create_stream(name)
                for i in range(appends):
                    for name in names:
                        body = b"%s-%06d" % (name.encode(), i)
                        ack = await s2["damaged-log"][name].append(AppendInput([Record(body)]))
                        acked[name][ack.start.seq_num] = body

        asyncio.run(write())
    finally:
        server.stop()
    wal = data_dir / "wal.s2l"
    entries = _entries(wal)
    offset, length = entries[len(entries) // 2]
    raw = bytearray(wal.read_bytes())
    raw[offset + length - 6] ^= 0x55  # inside the records, before the checksum
    wal.write_bytes(bytes(raw))
    figures.faults["flipped byte"] = 1
    refused = _serve_once(data_dir)
    if refused.returncode == 0 or f"offset {offset}" not in refused.stderr:
        figures.notes.append("the damaged log was NOT refused")
        figures.lost += 1
    repaired = _serve_once(data_dir, "--repair")
    dropped = [line for line in repaired.stderr.splitlines() if "repair drops" in line]
    server = ServerProcess(data_dir=data_dir).start()
    try:

        async def check() -> dict[str, list[tuple[int, bytes]]]:
            async with _client(server) as s2:
                return {name: await read_all(s2["damaged-log"][name]) for name in names}

        stored = asyncio.run(check())
    finally:
        server.stop()
    figures.seconds = time.monotonic() - started
    missing = 0
    for name in names:
        have = stored[name]
        # what a repair may drop: the damaged entry, and in its stream what came after it
        # (those records no longer follow their stream's last one); each is reported
        expected = dict(list(acked[name].items())[: len(have)])
        part = Figures("", "")
        compare(part, have, expected, list(expected.values()))
        figures.checked += part.checked
        figures.lost += part.lost
        figures.duplicates += part.duplicates
        figures.gaps += part.gaps
        figures.out_of_order += part.out_of_order
        missing += len(acked[name]) - len(have)
    if missing and not dropped:
        figures.lost += missing  # dropped without saying so
    figures.notes.append(
        f"start refused naming offset {offset}; --repair kept every intact entry and "
        f"reported {len(dropped)} drop(s) ({missing} records)"
    )
    return figures


def _read_session(sock: socket.socket, basin: str, stream: str, window: int) -> None:
    """Open a read session from the start of ``stream`` on ``sock``, offering ``window``."""
    conn = h2.connection.H2Connection(h2.config.H2Configuration(client_side=True))
    conn.local_settings = h2.settings.Settings(
        client=True, initial_values={h2.settings.SettingCodes.INITIAL_WINDOW_SIZE: window}
    )
    conn.initiate_connection()
    if window > 65535:
        conn.increment_flow_control_window(window - 65535)
    conn.send_headers(1, [(":method", "GET"), (":scheme", "http"), (":authority", "local"),
                          (":path", f"/v1/streams/{stream}/records?seq_num=0"),
                          ("s2-basin", basin), ("content-type", "s2s/proto")],
                      end_stream=True)  # fmt: skip
    sock.sendall(conn.data_to_send())


def never_reading_session(port: int, basin: str, stream: str) -> socket.socket:
    """A read session from the start of ``stream``, by a client that offers a 2 GiB window
    and then never reads its socket (close the socket to end it)."""
    sock = socket.create_connection(("127.0.0.1", port))
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    _read_session(sock, basin, stream, 2**31 - 1)
    return sock


def creditless_session(port: int, basin: str, stream: str) -> socket.socket:
    """A read session from the start of ``stream``, by a client that reads everything the
    server sends but never gives flow-control credit: HTTP/2's initial 64 KiB windows,
    no WINDOW_UPDATE (close the socket to end it)."""
    sock = socket.create_connection(("127.0.0.1", port))
    _read_session(sock, basin, stream, 65535)

    def swallow() -> None:
        try:
            while sock.recv(65536):
                pass
        except OSError:
            pass  # closed by the scenario

    threading.Thread(target=swallow, name="creditless-reader", daemon=True).start()
    return sock


def slow_readers(*, sessions: int, megabytes: int, seconds: float, credit: bool = True) -> Figures:
    """``sessions`` read sessions that never take anything, on a stream of ``megabytes``,
    while an appender and a live reader go on: they see everything, and the server's
    memory stays bounded and is given back when the slow readers go.

    With ``credit``, the slow readers give a 2 GiB window and never read their sockets
    (:func:`never_reading_session`); without, they read their sockets but never give
    flow-control credit past HTTP/2's initial 64 KiB (:func:`creditless_session`).
    """
    kind = "never read" if credit else "give no flow-control credit"
    figures = Figures(f"Slow readers: sessions that {kind}",
                      f"{sessions} sessions on {megabytes} MB, plus a live pair for "
                      f"{seconds:g} s")  # fmt: skip
    reader = never_reading_session if credit else creditless_session
    started = time.monotonic()
    server = ServerProcess().start()
    try:

        async def run() -> tuple[list[tuple[int, bytes]], dict[int, bytes]]:
            async with _client(server) as s2:
                await s2.create_basin("slow-readers")
                for name in ("big", "live"):
                    await s2["slow-readers"].create_stream(name)
                async with s2["slow-readers"]["big"].append_session() as session:
                    for _ in range(megabytes * 25):
                        await session.submit(AppendInput([Record(b"x" * 40_000)]))
                before = rss(server)
                socks = [reader(server.port, "slow-readers", "big") for _ in range(sessions)]
                acked: dict[int, bytes] = {}
                read: list[tuple[int, bytes]] = []
                live = s2["slow-readers"]["live"]

                async def follow() -> None:
                    async for batch in live.read_session(start=SeqNum(0)):
                        read.extend((r.seq_num, r.body) for r in batch.records)

                follower = asyncio.create_task(follow())
                peak, n = before, 0
                deadline = time.monotonic() + seconds
                while time.monotonic() < deadline:
                    body = b"%08d" % n
                    acked[(await live.append(AppendInput([Record(body)]))).start.seq_num] = body
                    n += 1
                    peak = max(peak, rss(server))
                    await asyncio.sleep(0.01)
                await asyncio.sleep(0.5)
                follower.cancel()
                for sock in socks:
                    with contextlib.suppress(OSError):  # wakes a reader thread's recv
                        sock.shutdown(socket.SHUT_RDWR)
                    sock.close()
                await asyncio.sleep(2)
                after = rss(server)
                figures.notes.append(
                    f"server RSS {before:.0f} MiB, at most {peak:.0f} with the slow readers, "
                    f"{after:.0f} after they left"
                )
                figures.memory_ok = peak - before < 100 and after - before < 25
                return read, acked

        read, acked = asyncio.run(run())
    finally:
        server.stop()
    figures.seconds = time.monotonic() - started
    compare(figures, read, acked, list(acked.values()))
    return figures
