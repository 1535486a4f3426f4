"""Reliability scenarios, sized by their arguments: short in the test run, long in
``tools/reliability/run.py``. Each returns :class:`Figures` and checks the data that
came back against what was acknowledged, reading it directly from the server.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import time
from collections.abc import AsyncIterator, Awaitable
from dataclasses import dataclass, field
from datetime import timedelta
from itertools import pairwise
from pathlib import Path

from s2_local.server import ServerProcess
from s2_sdk import (
    S2,
    AppendInput,
    AppendRetryPolicy,
    Batching,
    Endpoints,
    IndexedAppendAck,
    ReadLimit,
    Record,
    Retry,
    S2Error,
    S2Stream,
    SeqNum,
)

from faults.proxy import Proxy


@dataclass
class Figures:
    """What a scenario held, injected and checked."""

    scenario: str
    load: str
    faults: dict[str, int] = field(default_factory=dict)
    checked: int = 0
    """Records read back and compared."""
    lost: int = 0
    """Acknowledged records missing or different (must be 0)."""
    duplicates: int = 0
    gaps: int = 0
    out_of_order: int = 0
    seconds: float = 0.0
    notes: list[str] = field(default_factory=list)
    memory_ok: bool = True
    """Whether the server's memory stayed within the scenario's bounds (where it checks)."""

    @property
    def intact(self) -> bool:
        """Nothing acknowledged lost, no gap, nothing reordered (and memory bounded)."""
        return self.lost == 0 and self.gaps == 0 and self.out_of_order == 0 and self.memory_ok


async def read_all(stream: S2Stream) -> list[tuple[int, bytes]]:
    """Every record of ``stream`` as (seq num, body)."""
    tail = (await stream.check_tail()).seq_num
    out: list[tuple[int, bytes]] = []
    if tail:
        async for batch in stream.read_session(start=SeqNum(0), limit=ReadLimit(count=tail)):
            out += [(r.seq_num, r.body) for r in batch.records]
    return out


def _body(i: int) -> bytes:
    return f"{i:08d}".encode() + b"." * 92


async def _chaos(proxy: Proxy, rng: random.Random, stop: asyncio.Event, every: float) -> None:
    while not stop.is_set():
        await asyncio.sleep(rng.uniform(every / 2, every * 1.5))
        proxy.random_fault(rng)
    proxy.heal()


@contextlib.asynccontextmanager
async def _faults(proxy: Proxy, seed: int, every: float) -> AsyncIterator[asyncio.Event]:
    """Random faults in ``proxy`` about every ``every`` seconds while the block runs, or
    until the event it yields is set; the proxy is healed after."""
    stop = asyncio.Event()
    chaos = asyncio.create_task(_chaos(proxy, random.Random(seed), stop, every))
    try:
        yield stop
    finally:
        stop.set()
        await chaos


async def _acked(tickets: list[tuple[bytes, Awaitable[IndexedAppendAck]]]) -> dict[int, bytes]:
    """The records a Producer acknowledged, by sequence number (a failed producer fails
    the tickets it could not acknowledge)."""
    acked: dict[int, bytes] = {}
    for body, ticket in tickets:
        try:
            ack = await asyncio.wait_for(ticket, 30)
        except S2Error:
            continue
        acked[ack.seq_num] = body
    return acked


async def _tally(
    figures: Figures,
    proxy: Proxy,
    started: float,
    stream: S2Stream,
    acked: dict[int, bytes],
    submitted: list[bytes],
) -> None:
    """A writer's scenario ends: its time, the faults injected, and what ``stream`` holds
    against what was acknowledged."""
    figures.seconds = time.monotonic() - started
    figures.faults = dict(proxy.faults)
    compare(figures, await read_all(stream), acked, submitted)
    figures.notes.append(f"{len(acked):,} of {len(submitted):,} acknowledged")


def compare(figures: Figures, stored: list[tuple[int, bytes]], acked: dict[int, bytes],
             submitted: list[bytes]) -> None:  # fmt: skip
    """Fill in lost/gaps/duplicates/order from what the stream holds."""
    figures.checked = len(stored)
    figures.gaps = sum(1 for i, (seq, _) in enumerate(stored) if seq != i)
    by_seq = dict(stored)
    figures.lost = sum(1 for seq, body in acked.items() if by_seq.get(seq) != body)
    bodies = [body for _, body in stored]
    figures.duplicates = len(bodies) - len(set(bodies))
    first_seen = list(dict.fromkeys(bodies))
    position = {body: i for i, body in enumerate(submitted)}
    order = [position.get(body, -1) for body in first_seen]
    figures.out_of_order = sum(1 for a, b in pairwise(order) if b <= a)


async def producer_under_faults(
    direct: S2,
    proxy: Proxy,
    basin: str,
    name: str,
    *,
    records: int,
    policy: AppendRetryPolicy = AppendRetryPolicy.ALL,
    match_seq_num: bool = False,
    seconds: float = 3.0,
    fault_every: float = 0.15,
    seed: int = 1,
) -> Figures:
    """A Producer writes through the proxy while it drops, cuts, stalls and slows traffic.

    Submissions are spread over ``seconds``, in steps of 50 records.
    """
    await direct[basin].create_stream(name)
    kind = f"{policy.name} + match_seq_num: exactly-once" if match_seq_num else policy.name
    figures = Figures(f"Producer through faults ({kind})", f"{records:,} records of 100 B")
    retry = Retry(
        max_attempts=30,
        min_base_delay=timedelta(milliseconds=10),
        max_base_delay=timedelta(milliseconds=200),
        append_retry_policy=policy,
    )
    submitted = [_body(i) for i in range(records)]
    tickets: list[tuple[bytes, Awaitable[IndexedAppendAck]]] = []
    started = time.monotonic()
    endpoints = Endpoints(proxy.endpoint, proxy.endpoint)
    async with S2("t", endpoints=endpoints, retry=retry) as client:
        stream = client[basin][name]
        batching = Batching(max_records=50, linger=timedelta(milliseconds=2))
        async with _faults(proxy, seed, fault_every):
            try:
                async with stream.producer(
                    match_seq_num=0 if match_seq_num else None, batching=batching
                ) as producer:
                    pause = seconds / max(1, records // 50)
                    for i, body in enumerate(submitted):
                        tickets.append((body, await producer.submit(Record(body=body))))
                        if i % 50 == 49:
                            await asyncio.sleep(pause)
            except S2Error as e:
                figures.notes.append(f"producer ended with {type(e).__name__}: {e}")
        acked = await _acked(tickets)
    await _tally(figures, proxy, started, direct[basin][name], acked, submitted)
    return figures


def _exactly_once_retry() -> Retry:
    return Retry(
        max_attempts=30,
        min_base_delay=timedelta(milliseconds=10),
        max_base_delay=timedelta(milliseconds=200),
    )


async def session_under_faults(
    direct: S2,
    proxy: Proxy,
    basin: str,
    name: str,
    *,
    records: int,
    seconds: float = 3.0,
    fault_every: float = 0.15,
    seed: int = 3,
) -> Figures:
    """An AppendSession whose every batch (50 records) states its position
    (``match_seq_num``), through the faulty proxy: exactly once, and the session never
    fails."""
    await direct[basin].create_stream(name)
    figures = Figures(
        "AppendSession through faults (ALL + match_seq_num: exactly-once)",
        f"{records:,} records of 100 B in batches of 50",
    )
    submitted = [_body(i) for i in range(records)]
    acked: dict[int, bytes] = {}
    tickets = []
    started = time.monotonic()
    endpoints = Endpoints(proxy.endpoint, proxy.endpoint)
    async with S2("t", endpoints=endpoints, retry=_exactly_once_retry()) as client:
        async with _faults(proxy, seed, fault_every):
            try:
                async with client[basin][name].append_session() as session:
                    pause = seconds / max(1, records // 50)
                    for i in range(0, records, 50):
                        batch = AppendInput(
                            [Record(body=b) for b in submitted[i : i + 50]], match_seq_num=i
                        )
                        tickets.append((i, await session.submit(batch)))
                        await asyncio.sleep(pause)
            except S2Error as e:
                figures.notes.append(f"session ended with {type(e).__name__}: {e}")
        for i, ticket in tickets:
            try:
                ack = await asyncio.wait_for(ticket, 30)
            except S2Error:
                continue
            for k in range(ack.end.seq_num - ack.start.seq_num):
                acked[ack.start.seq_num + k] = submitted[i + k]
    await _tally(figures, proxy, started, direct[basin][name], acked, submitted)
    return figures


async def unary_under_faults(
    direct: S2,
    proxy: Proxy,
    basin: str,
    name: str,
    *,
    records: int,
    blocking: bool = False,
    seconds: float = 3.0,
    fault_every: float = 0.15,
    seed: int = 5,
) -> Figures:
    """Unary appends of 10 records, each stating its position (``match_seq_num``), through
    the faulty proxy, from the async client or the blocking facade (``blocking``)."""
    await direct[basin].create_stream(name)
    who = "s2_sdk.sync" if blocking else "async"
    figures = Figures(
        f"Unary append() through faults ({who}, ALL + match_seq_num: exactly-once)",
        f"{records:,} records of 100 B in appends of 10",
    )
    submitted = [_body(i) for i in range(records)]
    acked: dict[int, bytes] = {}
    started = time.monotonic()
    endpoints = Endpoints(proxy.endpoint, proxy.endpoint)
    pause = seconds / max(1, records // 10)

    def batch(i: int) -> AppendInput:
        return AppendInput([Record(body=b) for b in submitted[i : i + 10]], match_seq_num=i)

    def ack_of(i: int, start: int) -> None:
        for k in range(10):
            acked[start + k] = submitted[i + k]

    def write() -> None:
        from s2_sdk.sync import S2 as BlockingS2

        with BlockingS2("t", endpoints=endpoints, retry=_exactly_once_retry()) as c:
            for i in range(0, records, 10):
                ack_of(i, c[basin][name].append(batch(i)).start.seq_num)
                time.sleep(pause)

    async with _faults(proxy, seed, fault_every):
        try:
            if blocking:
                await asyncio.to_thread(write)
            else:
                async with S2("t", endpoints=endpoints, retry=_exactly_once_retry()) as client:
                    for i in range(0, records, 10):
                        ack_of(i, (await client[basin][name].append(batch(i))).start.seq_num)
                        await asyncio.sleep(pause)
        except S2Error as e:
            figures.notes.append(f"appends ended with {type(e).__name__}: {e}")
    await _tally(figures, proxy, started, direct[basin][name], acked, submitted)
    return figures


_INTRUDER = b"a record of another writer"


async def second_writer(
    direct: S2,
    proxy: Proxy,
    basin: str,
    name: str,
    *,
    records: int,
    seconds: float = 3.0,
    fault_every: float = 0.15,
    seed: int = 4,
) -> Figures:
    """A Producer writing exactly once through the faulty proxy, and halfway through a
    second writer appending where it was about to: the producer must stop with a clear
    error, having duplicated nothing and lost nothing it acknowledged."""
    await direct[basin].create_stream(name)
    figures = Figures(
        "Producer exactly-once, a second writer breaking in",
        f"{records:,} records of 100 B, one intruding record",
    )
    submitted = [_body(i) for i in range(records)]
    tickets: list[tuple[bytes, Awaitable[IndexedAppendAck]]] = []
    started = time.monotonic()
    endpoints = Endpoints(proxy.endpoint, proxy.endpoint)
    batching = Batching(max_records=50, linger=timedelta(milliseconds=2))
    async with S2("t", endpoints=endpoints, retry=_exactly_once_retry()) as client:
        async with _faults(proxy, seed, fault_every):
            try:
                async with client[basin][name].producer(
                    match_seq_num=0, batching=batching
                ) as producer:
                    pause = seconds / max(1, records // 50)
                    for i, body in enumerate(submitted):
                        tickets.append((body, await producer.submit(Record(body=body))))
                        if i == records // 2:
                            intruder = AppendInput([Record(body=_INTRUDER)])
                            ack = await direct[basin][name].append(intruder)
                            figures.notes.append(f"intruded at {ack.start.seq_num}")
                        if i % 50 == 49:
                            await asyncio.sleep(pause)
            except S2Error as e:
                figures.notes.append(f"producer ended with {type(e).__name__}: {e}")
        acked = await _acked(tickets)
    figures.seconds = time.monotonic() - started
    figures.faults = dict(proxy.faults)
    stored = await read_all(direct[basin][name])
    ours = [(seq, body) for seq, body in stored if body != _INTRUDER]
    compare(figures, stored, acked, submitted)
    part = Figures("", "")
    compare(part, [(i, body) for i, (_, body) in enumerate(ours)], {}, submitted)
    figures.out_of_order = part.out_of_order  # the intruder aside, our records in order
    intruders = sum(1 for _, body in stored if body == _INTRUDER)
    figures.notes.append(
        f"{len(acked):,} of {records:,} acknowledged; the intruding record stored {intruders}x"
    )
    return figures


async def read_session_under_faults(
    direct: S2,
    proxy: Proxy,
    basin: str,
    name: str,
    *,
    records: int,
    seconds: float = 3.0,
    fault_every: float = 0.15,
    seed: int = 2,
) -> Figures:
    """A read session tails through the faulty proxy while records are appended directly.

    The appends (100 records each) are spread over ``seconds``.
    """
    await direct[basin].create_stream(name)
    figures = Figures("Read session through faults", f"{records:,} records tailed live")
    retry = Retry(max_attempts=30, min_base_delay=timedelta(milliseconds=10))
    submitted = [_body(i) for i in range(records)]
    started = time.monotonic()
    seen: list[tuple[int, bytes]] = []

    async def write() -> None:
        writer = direct[basin][name]
        pause = seconds / max(1, records // 100)
        for i in range(0, records, 100):
            await writer.append(AppendInput([Record(body=b) for b in submitted[i : i + 100]]))
            await asyncio.sleep(pause)

    endpoints = Endpoints(proxy.endpoint, proxy.endpoint)
    async with (
        S2("t", endpoints=endpoints, retry=retry) as client,
        _faults(proxy, seed, fault_every) as stop,
    ):
        writer = asyncio.create_task(write())
        writer.add_done_callback(lambda _: stop.set())  # faults while records arrive live
        try:
            session = client[basin][name].read_session(start=SeqNum(0))  # follows the tail
            async for batch in session:
                seen += [(r.seq_num, r.body) for r in batch.records]
                if len(seen) >= records:
                    break
            await session.close()
        except S2Error as e:
            figures.notes.append(f"read session ended with {type(e).__name__}: {e}")
        finally:
            await writer
    figures.seconds = time.monotonic() - started
    figures.faults = dict(proxy.faults)
    compare(figures, seen, dict(enumerate(submitted)), submitted)  # missing ones count as lost
    return figures


async def load(
    direct: S2, basin: str, *, streams: int, seconds: float, server: ServerProcess | None = None
) -> Figures:
    """``streams`` appenders and as many live readers at once; every reader sees its stream."""
    figures = Figures("Load: appenders and tailing readers", f"{streams} streams for {seconds:g} s")
    names = [f"load-{i:03d}" for i in range(streams)]
    for name in names:
        await direct[basin].create_stream(name)
    stop = asyncio.Event()
    written: dict[str, list[bytes]] = {name: [] for name in names}
    read: dict[str, list[tuple[int, bytes]]] = {name: [] for name in names}
    rss_start = rss(server)

    async def append(name: str) -> None:
        stream, n = direct[basin][name], 0
        while not stop.is_set():
            bodies = [f"{name}:{n + i}".encode() for i in range(10)]
            await stream.append(AppendInput([Record(body=b) for b in bodies]))
            written[name] += bodies
            n += 10
            await asyncio.sleep(0.01)
        await stream.append(AppendInput([Record(body=_END)]))  # tells the reader to stop

    async def tail(name: str) -> None:
        async for batch in direct[basin][name].read_session(start=SeqNum(0)):
            for r in batch.records:
                if r.body == _END:
                    return
                read[name].append((r.seq_num, r.body))

    started = time.monotonic()
    readers = [asyncio.create_task(tail(name)) for name in names]
    appenders = [asyncio.create_task(append(name)) for name in names]
    await asyncio.sleep(seconds)
    stop.set()
    await asyncio.gather(*appenders)
    await asyncio.wait_for(asyncio.gather(*readers), 60)
    figures.seconds = time.monotonic() - started
    total = sum(len(w) for w in written.values())
    for name in names:
        part = Figures("", "")
        compare(part, read[name], dict(enumerate(written[name])), written[name])
        figures.checked += part.checked
        figures.lost += part.lost  # missing ones included
        figures.gaps += part.gaps
        figures.duplicates += part.duplicates
        figures.out_of_order += part.out_of_order
    figures.notes.append(f"{total / seconds:,.0f} records/s appended and read back")
    if server is not None:
        figures.notes.append(f"server RSS {rss_start:.0f} -> {rss(server):.0f} MiB")
    return figures


_END = b"--end--"


def rss(server: ServerProcess | None) -> float:
    if server is None or server.pid is None:
        return 0.0
    for line in Path(f"/proc/{server.pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0
