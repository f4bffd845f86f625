"""How long a caller will wait for a backend's answer.

A tool (or an investigation step) sets a deadline around its work; a backend that makes remote
calls reads :func:`remaining_seconds` and stops retrying, polling and chunking when it passes, so
an abandoned call does not keep spending the account's quota in the background. Deadlines nest:
the earliest one wins. They live in a context variable, so set them in the thread doing the work.

    with deadline(19.0):
        backend.query_logs(query)
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

_expiry: ContextVar[float | None] = ContextVar("sleuth_backend_deadline", default=None)


@contextmanager
def deadline(seconds: float | None) -> Iterator[None]:
    """Work inside must finish within ``seconds`` (None: no limit beyond an outer one)."""
    if seconds is None:
        yield
        return
    expiry = time.monotonic() + max(0.0, seconds)
    outer = _expiry.get()
    token = _expiry.set(expiry if outer is None else min(outer, expiry))
    try:
        yield
    finally:
        _expiry.reset(token)


def remaining_seconds() -> float | None:
    """Seconds left before the innermost deadline (negative once passed), or None without one."""
    expiry = _expiry.get()
    return None if expiry is None else expiry - time.monotonic()
