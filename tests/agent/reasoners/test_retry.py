from __future__ import annotations

import anthropic
import httpx2
import pytest

from agent.reasoners.retry import ModelUnavailableError, RetryPolicy, is_retryable

REQUEST = httpx2.Request("POST", "https://api.anthropic.com/v1/messages")


def status_error(status: int) -> anthropic.APIStatusError:
    response = httpx2.Response(status, request=REQUEST)
    return anthropic.APIStatusError("scripted", response=response, body=None)


def test_rate_limits_overload_server_errors_and_timeouts_are_retried_but_bad_requests_are_not() -> None:
    assert all(is_retryable(status_error(code)) for code in (408, 429, 500, 502, 503, 529))
    assert is_retryable(anthropic.APITimeoutError(request=REQUEST))
    assert is_retryable(anthropic.APIConnectionError(request=REQUEST))
    assert not any(is_retryable(status_error(code)) for code in (400, 401, 403, 404))


def test_backoff_grows_exponentially_with_full_jitter_and_is_capped() -> None:
    policy = RetryPolicy(base_seconds=1.0, max_seconds=5.0, rand=lambda: 1.0)

    assert [policy.delay(n) for n in range(5)] == [1.0, 2.0, 4.0, 5.0, 5.0]
    assert RetryPolicy(rand=lambda: 0.25).delay(2) == 1.0


def test_a_call_that_keeps_failing_raises_model_unavailable_after_every_attempt() -> None:
    slept: list[float] = []
    attempts: list[int] = []

    def overloaded() -> None:
        attempts.append(1)
        raise status_error(529)

    with pytest.raises(ModelUnavailableError, match="after 3 attempts"):
        RetryPolicy(attempts=3, sleep=slept.append, rand=lambda: 0.5).call(overloaded)
    assert len(attempts) == 3 and slept == [0.5, 1.0]


def test_a_non_retryable_error_is_raised_at_once() -> None:
    slept: list[float] = []

    def unauthorized() -> None:
        raise status_error(401)

    with pytest.raises(anthropic.APIStatusError):
        RetryPolicy(sleep=slept.append).call(unauthorized)
    assert slept == []
