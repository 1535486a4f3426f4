"""Which failures are retried, and how long to wait between attempts."""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable
from typing import TypeVar

from s2_sdk._duplex import ConnectError
from s2_sdk._errors import S2ClientError, S2Error, S2ServerError
from s2_sdk._options import AppendRetryPolicy, Retry

__all__ = ["RetryAfter", "backoff", "has_no_side_effects", "is_retryable", "run_with_retries"]

T = TypeVar("T")
_RETRYABLE_STATUSES = frozenset({408, 429, 500, 502, 503, 504})


class RetryAfter(S2ServerError):
    """A retryable server error that named a minimum delay (``retry-after-ms``)."""

    def __init__(self, error: S2ServerError, delay: float) -> None:
        super().__init__(error.code, error.message, error.status_code)
        self.error = error
        self.delay = delay


def is_retryable(error: BaseException) -> bool:
    """Transport failures, 408/429/5xx and 409 ``transaction_conflict``."""
    if isinstance(error, ConnectionError | TimeoutError):
        return True
    if isinstance(error, S2ServerError):
        return error.status_code in _RETRYABLE_STATUSES or (
            error.status_code == 409 and error.code == "transaction_conflict"
        )
    return False


def has_no_side_effects(error: BaseException) -> bool:
    """Failures that guarantee the request did nothing (safe to retry any append)."""
    if isinstance(error, ConnectError):
        return True
    if isinstance(error, S2ServerError):
        return (error.status_code, error.code) in ((429, "rate_limited"), (502, "hot_server"))
    return False


def backoff(attempt: int, retry: Retry) -> float:
    """Delay before retry ``attempt`` (0-based): base·2ⁿ capped, plus up to 100 % jitter."""
    base: float = min(
        retry.min_base_delay.total_seconds() * 2.0**attempt, retry.max_base_delay.total_seconds()
    )
    return base + random.uniform(0, base)


def append_safe(policy: AppendRetryPolicy) -> Callable[[BaseException], bool]:
    """The retry predicate for appends under ``policy``."""
    if policy is AppendRetryPolicy.ALL:
        return is_retryable
    return lambda e: is_retryable(e) and has_no_side_effects(e)


async def run_with_retries(
    attempt: Callable[[], Awaitable[T]],
    retry: Retry,
    retry_on: Callable[[BaseException], bool] = is_retryable,
) -> T:
    """Call ``attempt`` until it succeeds, fails for good, or attempts run out.

    Transport failures that are not retried surface as :class:`S2ClientError`.
    """
    n = 0
    while True:
        try:
            return await attempt()
        except (S2Error, OSError, TimeoutError) as e:
            error = e.error if isinstance(e, RetryAfter) else e
            n += 1
            if n >= retry.max_attempts or not retry_on(error):
                if isinstance(error, S2Error):
                    raise error from None
                raise S2ClientError(f"{type(error).__name__}: {error}") from error
            delay = backoff(n - 1, retry)
            if isinstance(e, RetryAfter):
                delay = max(delay, e.delay)
            await asyncio.sleep(delay)
