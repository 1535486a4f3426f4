"""Which failures are retried, and how long to wait between attempts."""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

from s2_sdk._exceptions import (
    AppendIndefiniteFailureError,
    ConnectError,
    ConnectionRetiredError,
    S2ClientError,
    S2Error,
    S2ServerError,
    SeqNumMismatchError,
    ServerDrainingError,
    TransportError,
)
from s2_sdk._options import AppendRetryPolicy, Retry
from s2_sdk.protocol import ErrorCode

__all__ = [
    "ReconnectLimiter",
    "backoff",
    "has_no_side_effects",
    "is_retryable",
    "needs_new_connection",
    "run_with_retries",
]

T = TypeVar("T")
_RETRYABLE_STATUSES = frozenset({408, 429, 500, 502, 503, 504})
_MAX_FREE_RECONNECTS = 16
"""Drain reconnects one call may make beyond its attempts (a server that drains every
connection it is given must not hold a call forever)."""


def is_retryable(error: BaseException) -> bool:
    """Whether a failed call may succeed when made again: a network failure (a
    :class:`TransportError`, or the :class:`S2ClientError` raised for one), or a server
    error answered with 408, 429 or 5xx, or 409 ``transaction_conflict``.

    Bad input (any other :class:`S2ClientError`, or 4xx) is not: it fails again.
    """
    if isinstance(error, TransportError):
        return True
    if type(error) is S2ClientError and isinstance(error.__cause__, TransportError):
        return True  # a network failure as a public call raises it
    if isinstance(error, S2ServerError):
        return error.status_code in _RETRYABLE_STATUSES or (
            error.status_code == 409 and error.code == ErrorCode.TRANSACTION_CONFLICT
        )
    return False


def needs_new_connection(error: BaseException) -> bool:
    """The server drains (or the connection was retired): retry on another connection
    at once, without using up an attempt."""
    return isinstance(error, ServerDrainingError | ConnectionRetiredError)


def has_no_side_effects(error: BaseException) -> bool:
    """Failures that guarantee the request did nothing (safe to retry any append)."""
    if isinstance(error, AppendIndefiniteFailureError):
        return False
    if isinstance(error, ConnectError) or needs_new_connection(error):
        return True
    if isinstance(error, S2ServerError):
        return (error.status_code, error.code) in (
            (429, ErrorCode.RATE_LIMITED),
            (502, ErrorCode.HOT_SERVER),
        )
    return False


def backoff(attempt: int, retry: Retry) -> float:
    """Delay before retry ``attempt`` (0-based): base·2ⁿ capped, plus up to 100 % jitter."""
    base: float = min(
        retry.min_base_delay.total_seconds() * 2.0 ** min(attempt, 64),
        retry.max_base_delay.total_seconds(),
    )
    return base + random.uniform(0, base)


def append_retry_on(policy: AppendRetryPolicy) -> Callable[[BaseException], bool]:
    """The retry predicate for unary appends under ``policy``."""
    if policy is AppendRetryPolicy.NO_SIDE_EFFECTS:
        return lambda e: is_retryable(e) and has_no_side_effects(e)
    return is_retryable


async def run_with_retries(
    attempt: Callable[[], Awaitable[T]],
    retry: Retry,
    retry_on: Callable[[BaseException], bool] = is_retryable,
    *,
    track_uncertainty: bool = False,
) -> T:
    """Call ``attempt`` until it succeeds, fails for good, or attempts run out.

    A drain (:func:`needs_new_connection`) is retried without using up an attempt.
    With ``track_uncertainty`` (appends), a definite final failure after an attempt that
    may have taken effect is raised as :class:`AppendIndefiniteFailureError`. Transport
    failures that are not retried surface as :class:`S2ClientError`.
    """
    n = free = 0
    uncertain = False
    while True:
        try:
            return await attempt()
        except (S2Error, TransportError) as e:
            if needs_new_connection(e) and free < _MAX_FREE_RECONNECTS:
                free += 1
                await asyncio.sleep(backoff(0, retry) / 2)
                continue
            n += 1
            if n >= retry.max_attempts or not retry_on(e):
                final = _final(e, uncertain and track_uncertainty)
                raise final from final.__cause__
            uncertain = uncertain or not has_no_side_effects(e)
            delay = backoff(n - 1, retry)
            if isinstance(e, S2ServerError) and e._retry_after is not None:
                delay = max(delay, e._retry_after)
            await asyncio.sleep(delay)


def _final(error: S2Error | TransportError, uncertain: bool) -> BaseException:
    # after an attempt that may have taken effect, a definite refusal, or a refusal of the
    # batch's position (which that attempt may have taken: see _exactly_once), leaves the
    # outcome unknown
    if uncertain and (has_no_side_effects(error) or isinstance(error, SeqNumMismatchError)):
        return AppendIndefiniteFailureError(error)
    if isinstance(error, S2Error):
        return error
    wrapped = S2ClientError(f"{type(error).__name__}: {error}")
    wrapped.__cause__ = error
    return wrapped


class ReconnectLimiter:
    """Acts on a server's reconnect advice at most once a minute (a session that was
    advised again right after reconnecting ignores it until the minute is up)."""

    __slots__ = ("_last",)

    PERIOD = 60.0

    def __init__(self) -> None:
        self._last: float | None = None

    def acquire(self) -> bool:
        """Whether to reconnect now; counts the reconnect if so."""
        now = time.monotonic()
        if self._last is not None and now - self._last < self.PERIOD:
            return False
        self._last = now
        return True

    def record(self) -> None:
        """A reconnect happened for another reason (a drain): it counts too."""
        self._last = time.monotonic()
