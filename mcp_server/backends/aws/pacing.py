"""Logs Insights pacing: stay under a share of the account's concurrent-query and StartQuery limits.

An account (per region) may run about 30 Insights queries at once and start about 5 a second;
dashboards and people share those limits with Sleuth. :class:`InsightsPacer` lets at most
``concurrency * share`` of Sleuth's queries run at once and spaces their starts to
``start_rate * share`` a second, waiting no longer than the call's deadline.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Iterator
from contextlib import contextmanager

from mcp_server.backends.aws.calls import CallDeadline, Clock, Sleeper
from mcp_server.backends.aws.config import AwsBackendConfig
from mcp_server.backends.aws.errors import AwsApiUnavailableError

API = "logs:StartQuery"


class InsightsPacer:
    def __init__(self, config: AwsBackendConfig, clock: Clock, sleep: Sleeper) -> None:
        share = config.insights_account_share
        self.max_running = max(1, math.floor(config.insights_account_concurrency * share))
        self.interval = 1.0 / (config.insights_account_start_rate * share)
        self._clock = clock
        self._sleep = sleep
        self._running = 0
        self._next_start: float | None = None
        self._slots = threading.Condition()
        self.most_running = 0  # the high-water mark, for tests and benchmarks

    @contextmanager
    def slot(self, deadline: CallDeadline) -> Iterator[None]:
        """Hold one running-query slot, started no sooner than the start rate allows."""
        with self._slots:
            while self._running >= self.max_running:
                remaining = deadline.remaining()
                if remaining <= 0 or not self._slots.wait(timeout=remaining):
                    raise AwsApiUnavailableError(
                        API,
                        "timeout",
                        f"{self._running} Logs Insights queries were still running at the "
                        f"{deadline.budget:.3g}s deadline (insights_account_share allows {self.max_running})",
                    )
            self._running += 1
            self.most_running = max(self.most_running, self._running)
            now = self._clock()
            start = now if self._next_start is None else max(now, self._next_start)
            self._next_start = start + self.interval
        try:
            wait = start - now
            if wait > 0:
                if wait >= deadline.remaining():
                    raise AwsApiUnavailableError(
                        API,
                        "timeout",
                        f"the next Logs Insights start was {wait:.1f}s away, past the "
                        f"{deadline.budget:.3g}s deadline (insights_account_start_rate x share)",
                    )
                self._sleep(wait)
            yield
        finally:
            with self._slots:
                self._running -= 1
                self._slots.notify()
