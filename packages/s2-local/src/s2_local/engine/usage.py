"""Usage metrics counted from real traffic, in per-minute buckets, and their queries."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Mapping
from typing import Any

from s2_sdk.protocol import ErrorCode

from s2_local.engine.clock import Clock
from s2_local.engine.parsing import parse_uint
from s2_local.engine.telemetry import Telemetry
from s2_local.errors import ApiError

__all__ = ["Metrics"]

_INTERVALS = {"minute": 60, "hour": 3600, "day": 86400}

ACCOUNT_SETS = ("active-basins", "account-ops", "estimated-billable-usage")
BILLING_DIMENSIONS = ("storage", "append-throughput", "read-throughput")
"""What ``estimated-billable-usage`` breaks the (zero: s2-local is free) cost down by."""
BASIN_SETS = (
    "storage",
    "append-ops",
    "read-ops",
    "read-throughput",
    "append-throughput",
    "basin-ops",
)
STREAM_SETS = ("storage",)


class Metrics:
    """Counters per (scope, name) and minute; storage gauges sampled per minute."""

    def __init__(self, clock: Clock, telemetry: Telemetry) -> None:
        self._clock = clock
        self._telemetry = telemetry
        self._counters: dict[tuple[str, ...], dict[int, float]] = defaultdict(
            lambda: defaultdict(float)
        )

    def _minute(self) -> int:
        return int(self._clock.now()) // 60 * 60

    def count(self, key: tuple[str, ...], amount: float = 1.0) -> None:
        """Add to a counter in the current minute."""
        self._counters[key][self._minute()] += amount

    def gauge(self, key: tuple[str, ...], value: float) -> None:
        """Record a gauge value for the current minute."""
        self._counters[key][self._minute()] = value

    def account_op(self, basin: str | None = None) -> None:
        """An account-level operation (basins, tokens, locations, metrics)."""
        self.count(("account-ops",))
        if basin is not None:
            self.count(("active", basin))

    def basin_op(self, basin: str) -> None:
        """A basin-level operation (stream control plane)."""
        self.count(("basin-ops", basin))
        self.count(("active", basin))

    def append(self, basin: str, records: int, metered: int) -> None:
        """One append (a unary append or one session batch)."""
        self._telemetry.appended(records, metered)
        self.count(("append-ops", basin))
        self.count(("append-throughput", basin), metered)
        self.count(("active", basin))

    def read(self, basin: str, records: int, metered: int, op: bool = True) -> None:
        """Read traffic: an operation (unary read or session start) and records delivered."""
        self._telemetry.delivered(records, metered)
        if op:
            self.count(("read-ops", basin))
        self.count(("read-throughput", basin), metered)
        self.count(("active", basin))

    def query(
        self,
        params: Mapping[str, str],
        allowed: tuple[str, ...],
        scope: tuple[str, ...],
        storage: Callable[[], float] | None = None,
        visible: Callable[[str], bool] = lambda basin: True,
    ) -> dict[str, Any]:
        """Answer ``GET /v1/metrics…``: ``set`` (required), ``start``, ``end``, ``interval``.

        ``visible`` says which basins the caller may see (``active-basins`` lists only those).
        """
        name = params.get("set")
        if name is None:
            raise ApiError(ErrorCode.BAD_QUERY, "missing `set`")
        if name not in allowed:
            raise ApiError(
                ErrorCode.BAD_QUERY, f"invalid `set` {name!r}; expected one of {', '.join(allowed)}"
            )
        now = int(self._clock.now())
        end = _epoch(params, "end", now)
        start = _epoch(params, "start", end - 86400)
        interval = params.get("interval", "hour")
        if interval not in _INTERVALS:
            raise ApiError(ErrorCode.BAD_QUERY, "invalid `interval`; expected minute, hour or day")
        if start > end:
            raise ApiError(ErrorCode.INVALID, "`start` must not be after `end`")
        if end > now + 300:
            raise ApiError(ErrorCode.INVALID, "`end` must not be in the future")
        if name == "active-basins":
            active = sorted(
                key[1]
                for key, buckets in self._counters.items()
                if key[0] == "active"
                and visible(key[1])
                and any(start <= t <= end for t in buckets)
            )
            return {"values": [{"label": {"name": name, "values": active}}]}
        if name == "storage":
            assert storage is not None
            self.gauge(("storage", *scope), storage())
            points = _points(self._counters.get(("storage", *scope), {}), start, end)
            values = [[t, v] for t, v in sorted(points.items())]
            return {"values": [{"gauge": {"name": name, "unit": "bytes", "values": values}}]}
        step = _INTERVALS[interval]
        if name == "estimated-billable-usage":
            return self._usage(interval, start, end)
        key = (name,) if name == "account-ops" else (name, *scope)
        buckets: dict[int, float] = defaultdict(float)
        for t, v in _points(self._counters.get(key, {}), start, end).items():
            buckets[t // step * step] += v
        unit = "bytes" if name.endswith("throughput") else "operations"
        values = [[t, v] for t, v in sorted(buckets.items())]
        return {
            "values": [
                {
                    "accumulation": {
                        "name": name,
                        "unit": unit,
                        "interval": interval,
                        "values": values,
                    }
                }
            ]
        }

    def _usage(self, interval: str, start: int, end: int) -> dict[str, Any]:
        """Estimated cost by billing dimension and in total: zero dollars in every bucket
        with traffic, since nothing here is billed."""
        if interval == "minute":
            raise ApiError(
                ErrorCode.INVALID, "estimated-billable-usage supports hour and day intervals"
            )
        step = _INTERVALS[interval]
        buckets = sorted(
            {
                t // step * step
                for key, series in self._counters.items()
                if key[0] in BILLING_DIMENSIONS
                for t in _points(series, start, end)
            }
        )
        return {
            "values": [
                {
                    "accumulation": {
                        "name": dimension,
                        "unit": "usd",
                        "interval": interval,
                        "values": [[t, 0.0] for t in buckets],
                    }
                }
                for dimension in (*BILLING_DIMENSIONS, "total")
            ]
        }


def _points(series: Mapping[int, float], start: int, end: int) -> dict[int, float]:
    return {t: v for t, v in series.items() if start // 60 * 60 <= t <= end}


def _epoch(params: Mapping[str, str], key: str, default: int) -> int:
    raw = params.get(key)
    if raw is None:
        return default
    value = parse_uint(raw, 32)
    if value is None:
        raise ApiError(ErrorCode.BAD_QUERY, f"invalid `{key}`: expected epoch seconds (u32)")
    return value
