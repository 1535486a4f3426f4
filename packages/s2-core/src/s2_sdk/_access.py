"""Access tokens and their scopes."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import Enum

__all__ = [
    "AccessTokenInfo",
    "AccessTokenScope",
    "ExactMatch",
    "Operation",
    "OperationGroupPermissions",
    "Permission",
    "PrefixMatch",
]


@dataclass(slots=True)
class ExactMatch:
    """Match only the resource with this exact name."""

    value: str


@dataclass(slots=True)
class PrefixMatch:
    """Match all resources that start with this prefix."""

    value: str


class Permission(Enum):
    """Permission level for operation groups."""

    READ = "read"
    WRITE = "write"
    READ_WRITE = "read-write"


class Operation(Enum):
    """Granular operation for access token scoping."""

    LIST_BASINS = "list-basins"
    CREATE_BASIN = "create-basin"
    DELETE_BASIN = "delete-basin"
    RECONFIGURE_BASIN = "reconfigure-basin"
    GET_BASIN_CONFIG = "get-basin-config"
    ISSUE_ACCESS_TOKEN = "issue-access-token"
    REVOKE_ACCESS_TOKEN = "revoke-access-token"
    LIST_ACCESS_TOKENS = "list-access-tokens"
    LIST_STREAMS = "list-streams"
    CREATE_STREAM = "create-stream"
    DELETE_STREAM = "delete-stream"
    GET_STREAM_CONFIG = "get-stream-config"
    RECONFIGURE_STREAM = "reconfigure-stream"
    CHECK_TAIL = "check-tail"
    APPEND = "append"
    READ = "read"
    TRIM = "trim"
    FENCE = "fence"
    ACCOUNT_METRICS = "account-metrics"
    BASIN_METRICS = "basin-metrics"
    STREAM_METRICS = "stream-metrics"
    LIST_LOCATIONS = "list-locations"
    GET_DEFAULT_LOCATION = "get-default-location"
    SET_DEFAULT_LOCATION = "set-default-location"


@dataclass(slots=True)
class OperationGroupPermissions:
    """Permissions at the operation group level.

    Attributes:
        account: Permission for account operations.
        basin: Permission for basin operations.
        stream: Permission for stream operations.
    """

    account: Permission | None = None
    basin: Permission | None = None
    stream: Permission | None = None


@dataclass(slots=True)
class AccessTokenScope:
    """Scope of an access token.

    Attributes:
        basins: Permitted basins.
        streams: Permitted streams.
        access_tokens: Permitted access tokens.
        op_groups: Permissions at operation group level.
        ops: Permitted operations.
    """

    basins: ExactMatch | PrefixMatch | None = None
    streams: ExactMatch | PrefixMatch | None = None
    access_tokens: ExactMatch | PrefixMatch | None = None
    op_groups: OperationGroupPermissions | None = None
    ops: list[Operation] = field(default_factory=list)


@dataclass(slots=True)
class AccessTokenInfo:
    """Access token information.

    Attributes:
        id: Access token ID.
        scope: Scope of the access token.
        expires_at: Expiration time.
        auto_prefix_streams: Whether to automatically prefix stream names during
            creation and strip the prefix during listing.
    """

    id: str
    scope: AccessTokenScope
    expires_at: datetime | None = None
    auto_prefix_streams: bool = False
