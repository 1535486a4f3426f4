"""Account, basin and stream metrics.

A unit the client does not know yet comes back as the server's string.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

__all__ = [
    "Accumulation",
    "AccountMetricSet",
    "BasinMetricSet",
    "Gauge",
    "Label",
    "Metric",
    "MetricUnit",
    "Scalar",
    "StreamMetricSet",
    "TimeseriesInterval",
]


class MetricUnit(Enum):
    """Unit of a metric value."""

    BYTES = "bytes"
    OPERATIONS = "operations"
    USD = "usd"


class TimeseriesInterval(Enum):
    """Bucket interval for timeseries metrics."""

    MINUTE = "minute"
    HOUR = "hour"
    DAY = "day"


class AccountMetricSet(Enum):
    """Available account-level metric sets."""

    ACTIVE_BASINS = "active-basins"
    ACCOUNT_OPS = "account-ops"
    ESTIMATED_BILLABLE_USAGE = "estimated-billable-usage"
    """Estimated USD by billing dimension and as a ``total`` series (hour or day
    intervals)."""


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


@dataclass(slots=True)
class Scalar:
    """Single named metric value.

    Attributes:
        name: Metric name.
        unit: Unit of the value.
        value: The value.
    """

    name: str
    unit: MetricUnit | str
    value: float


@dataclass(slots=True)
class Accumulation:
    """Timeseries of accumulated values over buckets.

    Attributes:
        name: Metric name.
        unit: Unit of the values.
        interval: Bucket interval, if the service reported one.
        values: ``(bucket start in epoch seconds, value)`` pairs.
    """

    name: str
    unit: MetricUnit | str
    interval: TimeseriesInterval | None
    values: list[tuple[int, float]]


@dataclass(slots=True)
class Gauge:
    """Timeseries of instantaneous values.

    Attributes:
        name: Metric name.
        unit: Unit of the values.
        values: ``(epoch seconds, value)`` pairs.
    """

    name: str
    unit: MetricUnit | str
    values: list[tuple[int, float]]


@dataclass(slots=True)
class Label:
    """Set of string labels.

    Attributes:
        name: Metric name.
        values: The labels.
    """

    name: str
    values: list[str]


Metric = Scalar | Accumulation | Gauge | Label
"""One metric of a ``*_metrics`` answer."""
