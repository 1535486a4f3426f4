"""Scenarios in which the server process itself goes away: durable s2-local SIGKILLed
under appenders, and a logging handler through an outage and a restart. Each returns
:class:`~faults.scenarios.Figures`, checked against the data read back from the server."""

from __future__ import annotations

import gc
import json
import logging
import threading
import time
from itertools import pairwise
from pathlib import Path

import httpx
from s2_local.server import ServerProcess
from s2_logging import S2Handler
from s2_sdk.sync import connect, read_records

from faults.scenarios import Figures


def sigkill_under_load(data_dir: Path, *, rounds: int, streams: int = 3) -> Figures:
    """Durable s2-local SIGKILLed under concurrent appenders ``rounds`` times, then checked.

    Every acknowledged batch must be present at the seq num it was acknowledged at,
    gapless, and no batch may be half visible.
    """
    basin, names = "durable-basin", [f"s{i}" for i in range(streams)]
    figures = Figures(
        "Durable s2-local SIGKILLed under load", f"{streams} appenders, {rounds} kills"
    )
    acked: dict[str, list[tuple[int, str]]] = {s: [] for s in names}
    started = time.monotonic()
    for round_ in range(rounds):
        server = ServerProcess(data_dir=data_dir).start()
        if round_ == 0:
            with httpx.Client(base_url=server.endpoint, timeout=5) as c:
                assert c.post("/v1/basins", json={"basin": basin}).status_code == 201
                for s in names:
                    r = c.post("/v1/streams", json={"stream": s}, headers={"s2-basin": basin})
                    assert r.status_code == 201
        stop = threading.Event()
        threads = [
            threading.Thread(
                target=_appender, args=(server.endpoint, basin, s, round_, acked[s], stop)
            )
            for s in names
        ]
        for t in threads:
            t.start()
        time.sleep(0.7)
        server.kill()
        figures.faults["sigkill"] = figures.faults.get("sigkill", 0) + 1
        stop.set()
        for t in threads:
            t.join()
    server = ServerProcess(data_dir=data_dir).start()
    try:
        with httpx.Client(base_url=server.endpoint, timeout=10) as c:
            for s in names:
                _check_batches(figures, _read_json(c, basin, s), acked[s])
    finally:
        server.stop()
    figures.seconds = time.monotonic() - started
    figures.notes.append(f"{sum(len(a) for a in acked.values()):,} batches of 5 acknowledged")
    return figures


def _appender(endpoint: str, basin: str, stream: str, round_: int,
              acked: list[tuple[int, str]], stop: threading.Event) -> None:  # fmt: skip
    n = 0
    with httpx.Client(base_url=endpoint, timeout=5) as c:
        while not stop.is_set():
            tag = f"{stream}-{round_}-{n}"
            try:
                r = c.post(
                    f"/v1/streams/{stream}/records",
                    json={"records": [{"body": f"{tag}/{i}"} for i in range(5)]},
                    headers={"s2-basin": basin},
                )
            except httpx.HTTPError:
                return
            if r.status_code != 200:
                return
            acked.append((r.json()["start"]["seq_num"], tag))
            n += 1


def _read_json(c: httpx.Client, basin: str, stream: str) -> list[dict[str, object]]:
    records: list[dict[str, object]] = []
    while True:
        r = c.get(
            f"/v1/streams/{stream}/records",
            params={"seq_num": len(records), "count": 1000, "wait": 0},
            headers={"s2-basin": basin},
        )
        if r.status_code == 416:
            return records
        batch = r.json()["records"]
        if not batch:
            return records
        records += batch


def _check_batches(figures: Figures, records: list[dict[str, object]],
                   acked: list[tuple[int, str]]) -> None:  # fmt: skip
    figures.checked += len(records)
    figures.gaps += sum(1 for i, r in enumerate(records) if r["seq_num"] != i)
    bodies = [str(r["body"]) for r in records]
    starts: dict[str, int] = {}
    for i in range(0, len(bodies), 5):
        tag = bodies[i].split("/")[0]
        if bodies[i : i + 5] != [f"{tag}/{j}" for j in range(5)]:
            figures.notes.append(f"batch at {i} is half visible")
            figures.lost += 1
        starts[tag] = i
    figures.lost += sum(1 for seq, tag in acked if starts.get(tag) != seq)


def logging_outage(data_dir: Path, *, records: int, max_queue: int) -> Figures:
    """S2Handler while durable s2-local is down, then restarted on the same port.

    Every record logged is either delivered (in order, once) or counted in
    ``handler.dropped``; the queue stays within ``max_queue``; no call blocks.
    """
    figures = Figures(
        "S2Handler through a server outage", f"{records:,} records logged, max_queue {max_queue:,}"
    )
    server = ServerProcess(data_dir=data_dir).start()
    port = server.port
    with connect("t", server.endpoint) as client:
        client.create_basin("outage-basin")
    handler = S2Handler(
        "outage-basin", "o", access_token="t", account_endpoint=server.endpoint,
        max_queue=max_queue, flush_timeout=2,
    )  # fmt: skip
    log = logging.getLogger(f"outage.{id(handler)}")
    log.addHandler(handler)
    log.propagate = False
    started = time.monotonic()
    try:
        log.warning("before")
        handler.flush()
        server.stop()
        figures.faults["server down"] = 1
        gc.collect()  # earlier scenarios' garbage is not the logging calls' to pay for
        worst, queued = 0.0, 0
        for i in range(records):
            t = time.perf_counter()
            log.warning("during %d", i)
            worst = max(worst, time.perf_counter() - t)
            queued = max(queued, handler._sink.queued)
        time.sleep(0.5)  # the sink has met the outage by now: it should only be probing
        inflight = 0
        for _ in range(20):
            inflight = max(inflight, handler._sink.inflight)
            time.sleep(0.05)
        server = ServerProcess(data_dir=data_dir, port=port).start()
        deadline = time.monotonic() + 60
        while handler._sink.pending and time.monotonic() < deadline:
            time.sleep(0.1)
        handler.flush()
        with connect("t", server.endpoint) as client:
            bodies = [
                json.loads(r.body)["message"]
                for r in read_records("outage-basin", "o", client=client)
            ]
    finally:
        log.removeHandler(handler)
        handler.close()
        server.stop()
    figures.seconds = time.monotonic() - started
    during = [int(b.split()[1]) for b in bodies if b.startswith("during")]
    figures.checked = len(bodies)
    figures.lost = records - len(set(during)) - handler.dropped  # neither delivered nor counted
    figures.lost += 0 if bodies[:1] == ["before"] else 1
    figures.duplicates = len(during) - len(set(during))
    figures.out_of_order = sum(1 for a, b in pairwise(during) if b <= a)
    figures.notes += [
        f"{handler.dropped:,} dropped and counted, {len(during):,} delivered after the restart",
        f"queue peaked at {queued:,} of {max_queue:,}",
        f"slowest logging call {worst * 1e3:.2f} ms",
        f"at most {inflight} record(s) in flight while down",
    ]
    return figures
