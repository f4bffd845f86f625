"""Wait for a condition with a deadline (never a fixed sleep)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")

_pause = threading.Event()  # never set: wait(timeout) is an interruptible pause between polls


def eventually(check: Callable[[], T], *, timeout: float = 30.0, what: str = "the condition") -> T:
    """Poll ``check`` until it returns something truthy; raise TimeoutError naming ``what``."""
    deadline = time.monotonic() + timeout
    interval = 0.005
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise TimeoutError(f"{what} did not happen within {timeout:.0f} s")
        _pause.wait(interval)
        interval = min(0.1, interval * 2)
