"""Logging benchmark: S2Handler's cost on the caller thread, throughput, and outage stalls.

Usage: ``hatch run bench-logging``. Against an in-memory s2-local in a child process:

1. caller-thread cost of ``logger.info`` with S2Handler, as a ratio to the stdlib
   ``QueueHandler`` (the usual non-blocking baseline) measured in the same run;
2. sustained records/s delivered to S2 with no drops;
3. the worst single ``logger.info`` call while the server is down.
"""

from __future__ import annotations

import logging
import logging.handlers
import queue
import statistics
import time

from s2_local.server import ServerProcess
from s2_logging import S2Handler
from s2_sdk.sync import connect

N_CALLS = 50_000


def caller_cost(handler: logging.Handler, n: int = N_CALLS) -> float:
    """Mean seconds per logger.info on the calling thread (best of 3 runs)."""
    log = logging.getLogger(f"bench.{id(handler)}")
    log.handlers[:] = [handler]
    log.propagate = False
    log.setLevel(logging.INFO)
    runs = []
    for _ in range(3):
        start = time.perf_counter()
        for i in range(n):
            log.info("request %d handled", i, extra={"path": "/orders", "status": 200})
        runs.append((time.perf_counter() - start) / n)
    return min(runs)


def main() -> None:
    server = ServerProcess().start()
    try:
        with connect("bench", server.endpoint) as client:
            client.create_basin("bench-logging")
        sink = queue.SimpleQueue()  # type: ignore[var-annotated]
        baseline = caller_cost(logging.handlers.QueueHandler(sink))
        handler = S2Handler(
            "bench-logging", "cost", access_token="bench", account_endpoint=server.endpoint,
            max_queue=1_000_000,
        )  # fmt: skip
        ours = caller_cost(handler)
        handler.flush()
        assert handler.dropped == 0
        handler.close()

        n = 200_000
        handler = S2Handler(
            "bench-logging", "throughput", access_token="bench", account_endpoint=server.endpoint,
            max_queue=n, flush_timeout=120,
        )  # fmt: skip
        log = logging.getLogger("bench.throughput")
        log.handlers[:] = [handler]
        log.propagate = False
        log.setLevel(logging.INFO)
        start = time.perf_counter()
        for i in range(n):
            log.info("event %d", i)
        handler.flush()
        elapsed = time.perf_counter() - start
        delivered, dropped = handler.delivered, handler.dropped
        handler.close()

        handler = S2Handler(
            "bench-logging", "outage", access_token="bench", account_endpoint=server.endpoint,
            max_queue=5_000, flush_timeout=0.5,
        )  # fmt: skip
        log = logging.getLogger("bench.outage")
        log.handlers[:] = [handler]
        log.propagate = False
        log.setLevel(logging.INFO)
        log.info("warm up")
        handler.flush()
        server.stop()
        stalls = []
        for i in range(20_000):
            t = time.perf_counter()
            log.info("while down %d", i)
            stalls.append(time.perf_counter() - t)
        outage_dropped = handler.dropped
        handler.close()
    finally:
        server.stop()
    print(
        f"caller cost per logger.info: S2Handler {ours * 1e6:.1f} µs, QueueHandler "
        f"{baseline * 1e6:.1f} µs, ratio {ours / baseline:.2f} (target <= 1.5)"
    )
    print(
        f"sustained delivery: {delivered / elapsed:,.0f} records/s, {delivered:,} delivered, "
        f"{dropped} dropped (target >= 50k/s, no drops)"
    )
    print(
        f"server down: worst call {max(stalls) * 1e3:.3f} ms, p99 "
        f"{statistics.quantiles(stalls, n=100)[98] * 1e6:.1f} µs, {outage_dropped:,} dropped "
        f"of 20,000 with max_queue 5,000 (target worst <= 1 ms)"
    )


if __name__ == "__main__":
    main()
