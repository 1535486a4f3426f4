"""Information about basins, streams and locations, and ensure outcomes."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import Enum

from s2_sdk._config import Encryption

__all__ = [
    "BasinInfo",
    "EnsureStatus",
    "EnsuredBasinInfo",
    "EnsuredStreamInfo",
    "LocationInfo",
    "StreamInfo",
]


@dataclass(slots=True)
class LocationInfo:
    """Logical location of a basin.

    A basin's location is fixed for the lifetime of the basin. Public locations
    represent multi-tenant S2 deployments within public cloud regions, for example
    ``"aws:us-east-1"``. Private locations represent single-tenant S2 deployments,
    restricted to accounts with access.

    Attributes:
        name: Location name.
        is_private: Whether this location is an account-private placement.
        storage_classes: Storage classes available to the account in this location.
        default_storage_class: Default storage class for this location.
    """

    name: str
    is_private: bool
    storage_classes: list[str] | None = None
    default_storage_class: str | None = None


@dataclass(slots=True)
class BasinInfo:
    """Basin information.

    Attributes:
        name: Basin name.
        location: Logical location of the basin, if returned by the service.
        created_at: Creation time.
        deleted_at: Deletion time if the basin is being deleted.
    """

    name: str
    location: str | None
    created_at: datetime
    deleted_at: datetime | None = None


@dataclass(slots=True)
class StreamInfo:
    """Stream information.

    Attributes:
        name: Stream name.
        created_at: Creation time.
        deleted_at: Deletion time if the stream is being deleted.
        cipher: Encryption algorithm for this stream, if encryption is enabled.
    """

    name: str
    created_at: datetime
    deleted_at: datetime | None = None
    cipher: Encryption | None = None


class EnsureStatus(Enum):
    """Outcome of an ensure operation."""

    CREATED = "created"
    """Resource created."""
    CONFIG_UPDATED = "config-updated"
    """Resource already existed, and its config was updated."""
    CONFIG_UNCHANGED = "config-unchanged"
    """Resource already existed, and its config is unchanged."""


@dataclass(slots=True)
class EnsuredBasinInfo:
    """Basin information with ensure operation outcome.

    Attributes:
        basin: Basin information.
        status: Outcome of the ensure operation.
    """

    basin: BasinInfo
    status: EnsureStatus


@dataclass(slots=True)
class EnsuredStreamInfo:
    """Stream information with ensure operation outcome.

    Attributes:
        stream: Stream information.
        status: Outcome of the ensure operation.
    """

    stream: StreamInfo
    status: EnsureStatus
