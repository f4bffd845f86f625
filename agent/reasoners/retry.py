"""Retries for model calls: exponential backoff with full jitter, then give up loudly.

Retried: 429 (rate limit), 408/409, every 5xx including 529 (overloaded), connection errors
and timeouts. Anything else (400 bad request, 401 auth) is a bug or a configuration problem and
is raised at once. ``sleep`` and ``rand`` are injected so tests neither wait nor guess.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TypeVar

import anthropic

from agent.errors import ModelUnavailableError

T = TypeVar("T")
RETRIED_STATUS = {408, 409, 429}


def is_retryable(exc: BaseException) -> bool:
    if isinstance(exc, anthropic.APIConnectionError):  # includes APITimeoutError
        return True
    if isinstance(exc, anthropic.APIStatusError):
        return exc.status_code in RETRIED_STATUS or exc.status_code >= 500
    return False


def describe(exc: BaseException) -> str:
    status = getattr(exc, "status_code", None)
    return f"{type(exc).__name__}" + (f" (HTTP {status})" if status else "")


@dataclass
class RetryPolicy:
    attempts: int = 4
    base_seconds: float = 1.0
    max_seconds: float = 20.0
    sleep: Callable[[float], None] = time.sleep
    rand: Callable[[], float] = field(default_factory=lambda: random.Random().random)

    def delay(self, attempt: int) -> float:
        """Full jitter: uniform in [0, min(max, base * 2**attempt)]."""
        return self.rand() * min(self.max_seconds, self.base_seconds * 2**attempt)

    def call(self, fn: Callable[[], T], on_retry: Callable[[str, float], None] | None = None) -> T:
        last: BaseException | None = None
        for attempt in range(self.attempts):
            try:
                return fn()
            except anthropic.APIError as exc:
                if not is_retryable(exc):
                    raise
                last = exc
                if attempt + 1 < self.attempts:
                    pause = self.delay(attempt)
                    if on_retry is not None:
                        on_retry(describe(exc), pause)
                    self.sleep(pause)
        raise ModelUnavailableError(
            f"model API unavailable after {self.attempts} attempts: {describe(last) if last else 'unknown error'}"
        )
