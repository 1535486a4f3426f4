"""Client options: endpoints, timeouts, retries, batching and compression.

The option classes are mutable data classes, as in the published SDK; their values are
checked where they are used (``S2(...)``, ``producer(...)``), with ``S2ClientError``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import timedelta
from enum import Enum
from urllib.parse import urlsplit

from s2_sdk._exceptions import S2ClientError
from s2_sdk.protocol import Codec

__all__ = [
    "AppendRetryPolicy",
    "Batching",
    "Compression",
    "Endpoints",
    "Retry",
    "Timeout",
]


class Compression(Enum):
    """Compression algorithm for requests and responses."""

    NONE = "none"
    ZSTD = "zstd"
    GZIP = "gzip"

    @property
    def codec(self) -> Codec:
        """The wire codec."""
        return {Compression.NONE: Codec.NONE, Compression.ZSTD: Codec.ZSTD}.get(self, Codec.GZIP)


class AppendRetryPolicy(Enum):
    """Policy controlling when append operations are retried."""

    ALL = "all"
    """Retry all retryable errors."""
    NO_SIDE_EFFECTS = "no-side-effects"
    """Retry only when no server-side mutation could have occurred."""


@dataclass(slots=True)
class Timeout:
    """Timeout configuration.

    Attributes:
        request: Timeout for read, write, and pool operations. Default is 5 seconds.
        connection: Timeout for establishing connections. Default is 3 seconds.
    """

    request: timedelta = timedelta(seconds=5)
    connection: timedelta = timedelta(seconds=3)


@dataclass(slots=True)
class Retry:
    """Retry configuration.

    Attributes:
        max_attempts: Maximum number of attempts, including the initial try. Must be
            at least 1. Default is 3.
        min_base_delay: Minimum base delay between retries, before jitter. Default is 100 ms.
        max_base_delay: Maximum base delay between retries, before jitter. Default is 1 second.
        append_retry_policy: Policy controlling when append operations are retried.
            Default is ``ALL``.
    """

    max_attempts: int = 3
    min_base_delay: timedelta = timedelta(milliseconds=100)
    max_base_delay: timedelta = timedelta(seconds=1)
    append_retry_policy: AppendRetryPolicy = AppendRetryPolicy.ALL


@dataclass(slots=True)
class Batching:
    """Configuration for auto-batching records.

    Attributes:
        max_records: Maximum number of records per batch. Must be between 1 and 1000.
            Default is 1000.
        max_bytes: Maximum metered bytes per batch. Must be between 8 and 1 MiB.
            Default is 1 MiB.
        linger: Maximum time to wait for more records before flushing a batch.
            Default is 5 ms. If 0, batches are flushed only when ``max_records`` or
            ``max_bytes`` is reached.
    """

    max_records: int = 1000
    max_bytes: int = 1024 * 1024
    linger: timedelta = timedelta(milliseconds=5)


def _origin(value: str, what: str, allow_template: bool) -> tuple[str, str]:
    if not isinstance(value, str):
        raise S2ClientError(f"{what} endpoint must be a str, got {type(value).__name__}")
    raw = value.strip()
    if "://" not in raw:
        raw = "https://" + raw
    parts = urlsplit(raw.replace("{basin}", "basin-placeholder"))
    if parts.scheme not in ("http", "https"):
        raise S2ClientError(f"{what} endpoint must use http or https: {value!r}")
    if parts.path not in ("", "/") or parts.query or parts.fragment:
        raise S2ClientError(f"{what} endpoint must be an origin without a path: {value!r}")
    if parts.username or parts.password or not parts.hostname:
        raise S2ClientError(f"{what} endpoint must be scheme://host[:port]: {value!r}")
    if "{basin}" in raw and not allow_template:
        raise S2ClientError(f"{what} endpoint cannot contain {{basin}}: {value!r}")
    return parts.scheme, raw.rstrip("/")


class Endpoints:
    """S2 service endpoints.

    Both are origins (``[http|https://]host[:port]``, ``https`` when no scheme is
    given). The basin endpoint may contain a ``{basin}`` placeholder in the host, as
    in the cloud's ``https://{basin}.b.s2.dev``; without one it is a direct endpoint
    (s2-lite, s2-local) and requests name the basin in an ``s2-basin`` header.
    """

    __slots__ = ("_account", "_basin", "direct")

    def __init__(self, account: str, basin: str) -> None:
        account_scheme, self._account = _origin(account, "account", allow_template=False)
        basin_scheme, self._basin = _origin(basin, "basin", allow_template=True)
        if account_scheme != basin_scheme:
            raise S2ClientError("account and basin endpoints must use the same scheme")
        self.direct = "{basin}" not in self._basin

    @classmethod
    def default(cls) -> Endpoints:
        """Construct default S2 cloud endpoints."""
        return cls("https://a.s2.dev", "https://{basin}.b.s2.dev")

    @classmethod
    def from_env(cls) -> Endpoints:
        """Construct endpoints from ``S2_ACCOUNT_ENDPOINT`` and ``S2_BASIN_ENDPOINT``."""
        account = os.environ.get("S2_ACCOUNT_ENDPOINT")
        basin = os.environ.get("S2_BASIN_ENDPOINT")
        if not account or not basin:
            raise S2ClientError("S2_ACCOUNT_ENDPOINT and S2_BASIN_ENDPOINT must both be set")
        return cls(account, basin)

    @property
    def account(self) -> str:
        """The account endpoint origin."""
        return self._account

    def basin(self, name: str) -> str:
        """The endpoint origin for a basin."""
        return self._basin.replace("{basin}", name)

    def __repr__(self) -> str:
        return f"Endpoints(account={self._account!r}, basin={self._basin!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Endpoints) and (self._account, self._basin) == (
            other._account,
            other._basin,
        )

    def __hash__(self) -> int:
        return hash((self._account, self._basin))
