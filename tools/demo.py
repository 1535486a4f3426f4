"""The README's first command: S2 for Python working end to end, no account needed.

Starts an embedded s2-local in a child process (or, when ``S2_ACCESS_TOKEN`` is set,
uses that S2: the S2 cloud, or the server the ``S2_*_ENDPOINT`` variables name),
creates a basin and a stream, produces 100k records while a live read session tails
them, then logs through ``S2Handler``, exports spans through ``S2SpanExporter``, runs a
Celery task whose result ``S2Backend`` stores, and prints a summary.
"""

from __future__ import annotations

import asyncio
import os
import sys
import time
import uuid
from contextlib import ExitStack

from s2_local.server import ServerProcess
from s2_sdk import S2, BasinConfig, Endpoints, Record, S2Stream, TailOffset

TOTAL = int(os.environ.get("S2_DEMO_RECORDS", "100000"))


def bar(label: str, done: int, total: int, started: float) -> None:
    width = 30
    filled = width * done // total
    rate = done / max(time.perf_counter() - started, 1e-9)
    sys.stdout.write(
        f"\r  {label:<8} [{'#' * filled}{'.' * (width - filled)}] {done:>7,}/{total:,} "
        f"({rate:,.0f} rec/s)"
    )
    sys.stdout.flush()


async def tail(stream: S2Stream, total: int, seen: list[int]) -> float:
    started = time.perf_counter()
    async with stream.read_session(start=TailOffset(0)) as session:
        async for batch in session:
            seen.extend(r.seq_num for r in batch.records)
            if len(seen) >= total:
                break
    return time.perf_counter() - started


async def run(endpoints: Endpoints, token: str, where: str) -> None:
    basin_name = f"demo-{uuid.uuid4().hex[:8]}"
    async with S2(token, endpoints=endpoints) as s2:
        print(f"S2 at {where}")
        # creating streams on append and on read is what s2-celery wants (2 requests a task)
        creates = BasinConfig(create_stream_on_append=True, create_stream_on_read=True)
        await s2.create_basin(basin_name, config=creates)
        basin = s2[basin_name]
        await basin.create_stream("events")
        stream = basin["events"]
        print(f"created basin {basin_name!r} and stream 'events'")
        seen: list[int] = []
        reader = asyncio.create_task(tail(stream, TOTAL, seen))
        await asyncio.sleep(0.2)
        started = time.perf_counter()
        async with stream.producer() as producer:
            for i in range(TOTAL):
                await producer.submit(
                    Record(body=f"event {i}".encode(), headers=[(b"n", b"%d" % i)])
                )
                if i % 5000 == 0 or i == TOTAL - 1:
                    bar("produce", i + 1, TOTAL, started)
        produced = time.perf_counter() - started
        print()
        tail_seconds = await asyncio.wait_for(reader, 60)
        assert seen == list(range(TOTAL)), "the live reader saw a gap or a duplicate"
        bar("tailed", len(seen), TOTAL, started)
        print()
        last = (await stream.read(start=TailOffset(1))).records[0]
        position = await stream.check_tail()
    extra = await asyncio.to_thread(plugins, basin_name)
    async with S2(token, endpoints=endpoints) as s2:
        await s2.delete_basin(basin_name)
    rows = [
        ("records produced", f"{TOTAL:,}"),
        ("producer throughput", f"{TOTAL / produced:,.0f} records/s"),
        ("live tail received", f"{len(seen):,} records, in order, no gaps ({tail_seconds:.1f} s)"),
        ("last record", f"#{last.seq_num}: {last.body.decode()!r}"),
        ("stream tail", f"seq_num {position.seq_num}"),
        *extra,
        ("where to look", f"{where} (basin {basin_name}, deleted on exit)"),
    ]
    width = max(len(k) for k, _ in rows)
    print("\nSummary")
    for key, value in rows:
        print(f"  {key:<{width}}  {value}")


def plugins(basin: str) -> list[tuple[str, str]]:
    """The three plugins on the same basin: logs, spans and a Celery result."""
    import logging

    from celery import Celery
    from celery.contrib.testing.worker import start_worker
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor
    from s2_logging import S2Handler, read_log_events
    from s2_otel import S2SpanExporter, read_traces

    handler = S2Handler(basin, "logs/{name}")
    log = logging.getLogger("shop")
    log.addHandler(handler)
    log.setLevel(logging.INFO)
    log.propagate = False
    for i in range(100):
        log.info("order %d placed", i, extra={"order_id": i})
    log.removeHandler(handler)
    handler.close()
    logs = list(read_log_events(basin, "logs/shop"))
    print(f"  logging  {len(logs)} log records in stream logs/shop via S2Handler")

    provider = TracerProvider(resource=Resource.create({"service.name": "shop"}))
    provider.add_span_processor(BatchSpanProcessor(S2SpanExporter(basin, "traces")))
    tracer = provider.get_tracer("demo")
    with tracer.start_as_current_span("checkout"):
        for step in ("reserve", "charge", "ship"):
            with tracer.start_as_current_span(step):
                pass
    provider.shutdown()
    spans = [
        span.name
        for _, data in read_traces(basin, "traces")
        for rs in data.resource_spans
        for ss in rs.scope_spans
        for span in ss.spans
    ]
    print(f"  otel     {len(spans)} spans in stream traces via S2SpanExporter")

    app = Celery("demo", broker="memory://localhost/", backend=f"s2://{basin}/celery")

    @app.task(name="demo.add", shared=False)
    def add(x: int, y: int) -> int:
        return x + y

    with start_worker(app, pool="solo", perform_ping_check=False, loglevel="WARNING"):
        result = add.delay(40, 2).get(timeout=30)
    print(f"  celery   add(40, 2) = {result}, stored by S2Backend")
    return [
        ("logs (s2-logging)", f"{len(logs)} records in logs/shop"),
        ("spans (s2-otel)", f"{len(spans)} spans in traces: {', '.join(sorted(spans))}"),
        ("celery (s2-celery)", f"add(40, 2) = {result}, result stream under celery/"),
    ]


def main() -> None:
    with ExitStack() as stack:
        if token := os.environ.get("S2_ACCESS_TOKEN", ""):
            account = os.environ.get("S2_ACCOUNT_ENDPOINT")
            basin = os.environ.get("S2_BASIN_ENDPOINT") or account
            endpoints = Endpoints(account, basin) if account and basin else Endpoints.default()
            where = endpoints.account
        else:
            server = ServerProcess().start()
            stack.callback(server.stop)
            endpoints, token = Endpoints(server.endpoint, server.endpoint), "ignored"
            where = f"embedded s2-local {server.endpoint}"
            os.environ.update(
                S2_ACCESS_TOKEN=token,
                S2_ACCOUNT_ENDPOINT=server.endpoint,
                S2_BASIN_ENDPOINT=server.endpoint,
            )
        asyncio.run(run(endpoints, token, where))


if __name__ == "__main__":
    main()
