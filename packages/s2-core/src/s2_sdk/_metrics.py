"""Account, basin and stream metrics."""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

__all__ = [
    "Accumulation",
    "AccountMetricSet",
    "BasinMetricSet",
    "Gauge",
    "Label",
    "MetricUnit",
    "Scalar",
    "StreamMetricSet",
    "TimeseriesInterval",
]


class MetricUnit(Enum):
    """Unit of a metric value."""

    BYTES = "bytes"
    OPERATIONS = "operations"


class TimeseriesInterval(Enum):
    """Bucket interval for timeseries metrics."""

    MINUTE = "minute"
    HOUR = "hour"
    DAY = "day"


class AccountMetricSet(Enum):
    """Available account-level metric sets."""

    ACTIVE_BASINS = "active-basins"
    ACCOUNT_OPS = "account-ops"


class BasinMetricSet(Enum):
    """Available basin-level metric sets."""

    STORAGE = "storage"
    APPEND_OPS = "append-ops"
    READ_OPS = "read-ops"
    READ_THROUGHPUT = "read-throughput"
    APPEND_THROUGHPUT = "append-throughput"
    BASIN_OPS = "basin-ops"


class StreamMetricSet(Enum):
    """Available stream-level metric sets."""

    STORAGE = "storage"


@dataclass(frozen=True, slots=True)
class Scalar:
    """Single named metric value.

    Attributes:
        name: Metric name.
        unit: Unit of the value.
        value: The value.
    """

    name: str
    unit: MetricUnit
    value: float


@dataclass(frozen=True, slots=True)
class Accumulation:
    """Timeseries of accumulated values over buckets.

    Attributes:
        name: Metric name.
        unit: Unit of the values.
        interval: Bucket interval, if the service reported one.
        values: ``(bucket start in epoch seconds, value)`` pairs.
    """

    name: str
    unit: MetricUnit
    interval: TimeseriesInterval | None
    values: list[tuple[int, float]]


@dataclass(frozen=True, slots=True)
class Gauge:
    """Timeseries of instantaneous values.

    Attributes:
        name: Metric name.
        unit: Unit of the values.
        values: ``(epoch seconds, value)`` pairs.
    """

    name: str
    unit: MetricUnit
    values: list[tuple[int, float]]


@dataclass(frozen=True, slots=True)
class Label:
    """Set of string labels.

    Attributes:
        name: Metric name.
        values: The labels.
    """

    name: str
    values: list[str]
