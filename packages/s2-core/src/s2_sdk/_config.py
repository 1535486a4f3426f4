"""Stream and basin configuration."""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum, StrEnum
from typing import Literal

__all__ = [
    "BasinConfig",
    "Encryption",
    "StorageClass",
    "StreamConfig",
    "Timestamping",
    "TimestampingMode",
]


class StorageClass(StrEnum):
    """Storage class for recent appends.

    A member is its string value (``StorageClass.EXPRESS == "express"``), so either can
    be given as :attr:`StreamConfig.storage_class`; the locations of an account list
    the classes available there (:attr:`LocationInfo.storage_classes`).
    """

    STANDARD = "standard"
    """Offers end-to-end latencies under 500 ms."""
    EXPRESS = "express"
    """Offers end-to-end latencies under 50 ms."""


class TimestampingMode(Enum):
    """Timestamping mode for appends. Timestamps are milliseconds since Unix epoch."""

    CLIENT_PREFER = "client-prefer"
    """Prefer client-specified timestamp if present, otherwise use arrival time."""
    CLIENT_REQUIRE = "client-require"
    """Require a client-specified timestamp and reject if absent."""
    ARRIVAL = "arrival"
    """Use the arrival time and ignore any client-specified timestamp."""


class Encryption(Enum):
    """Encryption algorithm."""

    AEGIS_256 = "aegis-256"
    """AEGIS-256."""
    AES_256_GCM = "aes-256-gcm"
    """AES-256-GCM."""


@dataclass(slots=True)
class Timestamping:
    """Timestamping behavior for appends.

    Attributes:
        mode: Timestamping mode. Defaults to ``CLIENT_PREFER``.
        uncapped: Allow client-specified timestamps to exceed the arrival time.
    """

    mode: TimestampingMode | None = None
    uncapped: bool | None = None


@dataclass(slots=True)
class StreamConfig:
    """Stream configuration.

    Attributes:
        storage_class: Storage class for recent appends: a :class:`StorageClass`, or
            its name as a string (``"express"``). Read back as a :class:`StorageClass`
            when the client knows the class, as the server's string otherwise.
        retention_policy: Retention duration in seconds, or ``"infinite"``. Default is 7 days.
        timestamping: Timestamping behavior for appends.
        delete_on_empty_min_age: Minimum age in seconds before this stream can be
            automatically deleted if empty.
    """

    storage_class: StorageClass | str | None = None
    retention_policy: int | Literal["infinite"] | None = None
    timestamping: Timestamping | None = None
    delete_on_empty_min_age: int | None = None


@dataclass(slots=True)
class BasinConfig:
    """Basin configuration.

    Attributes:
        default_stream_config: Default configuration for streams in this basin.
        stream_cipher: Encryption algorithm to apply to newly created streams in the basin.
        create_stream_on_append: Create stream on append if it doesn't exist.
        create_stream_on_read: Create stream on read if it doesn't exist.
    """

    default_stream_config: StreamConfig | None = None
    stream_cipher: Encryption | None = None
    create_stream_on_append: bool | None = None
    create_stream_on_read: bool | None = None
