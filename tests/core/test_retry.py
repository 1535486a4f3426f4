"""Retry rules: which failures are retried, backoff bounds, retry-after, attempt limits."""

from __future__ import annotations

from datetime import timedelta

import pytest
from s2_sdk import (
    AppendIndefiniteFailureError,
    AppendRetryPolicy,
    ConnectError,
    ConnectionClosedError,
    ConnectionRetiredError,
    ReadTimeoutError,
    Retry,
    S2ClientError,
    S2ServerError,
    ServerDrainingError,
)
from s2_sdk._retry import (
    append_retry_on,
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
        (ServerDrainingError("server_draining", "x", 503), True, True),
        (ConnectError("refused"), True, True),
        (ConnectionRetiredError("retired"), True, True),
        (ReadTimeoutError("slow"), True, False),
        (ConnectionClosedError("reset"), True, False),
        (S2ClientError("bad input"), False, False),
        (AppendIndefiniteFailureError(ConnectError("refused")), False, False),
    ],
)
def test_classification(error: BaseException, retryable: bool, no_side_effects: bool) -> None:
    assert is_retryable(error) is retryable
    assert has_no_side_effects(error) is no_side_effects
    assert append_retry_on(AppendRetryPolicy.ALL)(error) is retryable
    no_side_effects_policy = append_retry_on(AppendRetryPolicy.NO_SIDE_EFFECTS)
    assert no_side_effects_policy(error) is (retryable and no_side_effects)


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
            error = S2ServerError("rate_limited", "slow down", 429)
            error._retry_after = 0.05
            raise error
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


async def test_a_drain_is_retried_without_using_up_an_attempt() -> None:
    retry = Retry(max_attempts=1, min_base_delay=timedelta(0), max_base_delay=timedelta(0))
    calls = 0

    async def draining_twice() -> str:
        nonlocal calls
        calls += 1
        if calls <= 2:
            raise ServerDrainingError("server_draining", "draining", 503)
        return "ok"

    assert await run_with_retries(draining_twice, retry) == "ok" and calls == 3

    async def always_draining() -> str:
        raise ServerDrainingError("server_draining", "draining", 503)

    with pytest.raises(ServerDrainingError):  # bounded: a server that always drains
        await run_with_retries(always_draining, retry)


async def test_append_uncertainty_is_reported() -> None:
    retry = Retry(max_attempts=2, min_base_delay=timedelta(0), max_base_delay=timedelta(0))
    calls = 0

    async def timeout_then_refused() -> str:
        nonlocal calls
        calls += 1
        if calls == 1:
            raise ReadTimeoutError("the first attempt may have been applied")
        raise S2ServerError("rate_limited", "definitely not applied", 429)

    with pytest.raises(AppendIndefiniteFailureError) as err:
        await run_with_retries(timeout_then_refused, retry, track_uncertainty=True)
    final = err.value.final_attempt_error
    assert isinstance(final, S2ServerError) and final.code == "rate_limited"
    assert err.value.__cause__ is final

    calls = 0
    with pytest.raises(S2ServerError) as plain:  # not an append: no uncertainty reported
        await run_with_retries(timeout_then_refused, retry)
    assert plain.value.code == "rate_limited"
