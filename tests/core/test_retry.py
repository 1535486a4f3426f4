"""Retry rules: which failures are retried, backoff bounds, retry-after, attempt limits."""

from __future__ import annotations

from datetime import timedelta

import pytest
from s2_sdk import AppendRetryPolicy, Retry, S2ClientError, S2ServerError
from s2_sdk._duplex import ConnectError
from s2_sdk._retry import (
    RetryAfter,
    append_safe,
    backoff,
    has_no_side_effects,
    is_retryable,
    run_with_retries,
)


@pytest.mark.parametrize(
    ("error", "retryable", "no_side_effects"),
    [
        (S2ServerError("unavailable", "x", 503), True, False),
        (S2ServerError("rate_limited", "x", 429), True, True),
        (S2ServerError("hot_server", "x", 502), True, True),
        (S2ServerError("request_timeout", "x", 408), True, False),
        (S2ServerError("transaction_conflict", "x", 409), True, False),
        (S2ServerError("resource_already_exists", "x", 409), False, False),
        (S2ServerError("invalid", "x", 422), False, False),
        (ConnectError("refused"), True, True),
        (TimeoutError("slow"), True, False),
        (ConnectionResetError(), True, False),
    ],
)
def test_classification(error: BaseException, retryable: bool, no_side_effects: bool) -> None:
    assert is_retryable(error) is retryable
    assert has_no_side_effects(error) is no_side_effects
    assert append_safe(AppendRetryPolicy.ALL)(error) is retryable
    assert append_safe(AppendRetryPolicy.NO_SIDE_EFFECTS)(error) is (retryable and no_side_effects)


def test_backoff_is_jittered_exponential_and_capped() -> None:
    retry = Retry(min_base_delay=timedelta(milliseconds=100), max_base_delay=timedelta(seconds=1))
    for attempt, base in ((0, 0.1), (1, 0.2), (2, 0.4), (6, 1.0)):
        for _ in range(50):
            assert base <= backoff(attempt, retry) <= 2 * base


async def test_run_with_retries_attempts_and_retry_after() -> None:
    retry = Retry(max_attempts=3, min_base_delay=timedelta(0), max_base_delay=timedelta(0))
    calls = 0

    async def flaky() -> str:
        nonlocal calls
        calls += 1
        if calls < 3:
            raise RetryAfter(S2ServerError("rate_limited", "slow down", 429), 0.05)
        return "ok"

    assert await run_with_retries(flaky, retry) == "ok" and calls == 3

    async def always() -> str:
        raise S2ServerError("unavailable", "down", 503)

    with pytest.raises(S2ServerError) as err:
        await run_with_retries(always, retry)
    assert err.value.code == "unavailable"

    async def refused() -> str:
        raise ConnectError("refused")

    with pytest.raises(S2ClientError) as client_err:
        await run_with_retries(refused, retry)
    assert isinstance(client_err.value.__cause__, ConnectError)

    seen = 0

    async def not_retryable() -> str:
        nonlocal seen
        seen += 1
        raise S2ServerError("invalid", "bad", 422)

    with pytest.raises(S2ServerError):
        await run_with_retries(not_retryable, retry)
    assert seen == 1
