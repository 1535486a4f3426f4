"""The server's own Prometheus metrics (``GET /metrics``), one registry per server.

Counted as things happen: requests by route, method and status; records and metered
bytes appended and read; WAL fsync latency. Read at scrape time from the account:
basins, streams, open sessions, bytes stored.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

if TYPE_CHECKING:
    from s2_local.engine.account import Account

__all__ = ["CONTENT_TYPE", "Telemetry"]

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
"""The media type of Prometheus' text format."""


class Telemetry:
    """Prometheus metrics of one server."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "s2_local_requests",
            "HTTP requests answered, by route (the route table's path), method and status.",
            ["route", "method", "status"],
            registry=self.registry,
        )
        self._answered: dict[tuple[str, str, int], Counter] = {}
        self.appended_records = Counter(
            "s2_local_appended_records", "Records appended.", registry=self.registry
        )
        self.appended_bytes = Counter(
            "s2_local_appended_bytes", "Metered bytes appended.", registry=self.registry
        )
        self.read_records = Counter(
            "s2_local_read_records", "Records delivered to readers.", registry=self.registry
        )
        self.read_bytes = Counter(
            "s2_local_read_bytes", "Metered bytes delivered to readers.", registry=self.registry
        )
        self.wal_fsync = Histogram(
            "s2_local_wal_fsync_seconds",
            "Time an fsync of the write-ahead log took (durable mode).",
            buckets=(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0),
            registry=self.registry,
        )

    def answered(self, route: str, method: str, status: int) -> None:
        """A request was answered."""
        key = (route, method, status)
        counter = self._answered.get(key)
        if counter is None:  # prometheus_client's labels() checks and locks on every call
            counter = self._answered[key] = self.requests.labels(route, method, str(status))
        counter.inc()

    def appended(self, records: int, metered: int) -> None:
        """A batch was appended."""
        self.appended_records.inc(records)
        self.appended_bytes.inc(metered)

    def delivered(self, records: int, metered: int) -> None:
        """Records went out to a reader."""
        self.read_records.inc(records)
        self.read_bytes.inc(metered)

    def watch(self, account: Account) -> None:
        """Report ``account``'s basins, streams, sessions and stored bytes at each scrape."""
        self.registry.register(_AccountCollector(lambda: account))

    def render(self) -> bytes:
        """Every metric in Prometheus' text format."""
        return generate_latest(self.registry)


class _AccountCollector(Collector):
    def __init__(self, account: Callable[[], Account]) -> None:
        self._account = account

    def collect(self) -> Iterator[Metric]:
        account = self._account()
        basins = [b for b in account.basins.values() if b.deleted_at is None]
        streams = [s for b in basins for s in b.streams.values() if s.deleted_at is None]
        for name, text, value in (
            ("s2_local_basins", "Basins (not being deleted).", len(basins)),
            ("s2_local_streams", "Streams (not being deleted).", len(streams)),
            ("s2_local_open_sessions", "Open sessions.", sum(s.sessions for s in streams)),
            (
                "s2_local_storage_bytes",
                "Bytes of records stored, across every stream.",
                sum(s.log.stored_bytes() for s in streams),
            ),
        ):
            yield GaugeMetricFamily(name, text, value=value)
