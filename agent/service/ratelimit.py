"""Token buckets: a global budget (certificate fetches) and one bucket per client address."""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable

Clock = Callable[[], float]


class TokenBucket:
    """``capacity`` tokens, refilled at ``per_second``; thread-safe."""

    def __init__(self, capacity: float, per_second: float, clock: Clock = time.monotonic) -> None:
        self.capacity = capacity
        self.per_second = per_second
        self._clock = clock
        self._tokens = capacity
        self._at = clock()
        self._lock = threading.Lock()

    def _refill(self) -> None:
        now = self._clock()
        self._tokens = min(self.capacity, self._tokens + (now - self._at) * self.per_second)
        self._at = now

    def available(self) -> bool:
        with self._lock:
            self._refill()
            return self._tokens >= 1

    def take(self) -> bool:
        """Spend one token if there is one."""
        with self._lock:
            self._refill()
            if self._tokens < 1:
                return False
            self._tokens -= 1
            return True

    def charge(self) -> None:
        """Spend one token even if that leaves the bucket in debt (for costs found out afterwards)."""
        with self._lock:
            self._refill()
            self._tokens = max(-self.capacity, self._tokens - 1)

    def retry_after(self) -> float:
        """Seconds until one token is available."""
        with self._lock:
            self._refill()
            return 0.0 if self._tokens >= 1 else (1 - self._tokens) / self.per_second


class ClientBuckets:
    """One :class:`TokenBucket` per key (a client address), the least recently used forgotten first."""

    def __init__(
        self, capacity: float, per_second: float, *, max_clients: int = 10_000, clock: Clock = time.monotonic
    ) -> None:
        self.capacity = capacity
        self.per_second = per_second
        self.max_clients = max_clients
        self._clock = clock
        self._buckets: OrderedDict[str, TokenBucket] = OrderedDict()
        self._lock = threading.Lock()

    def bucket(self, key: str) -> TokenBucket:
        with self._lock:
            bucket = self._buckets.get(key)
            if bucket is None:
                bucket = TokenBucket(self.capacity, self.per_second, self._clock)
                self._buckets[key] = bucket
                while len(self._buckets) > self.max_clients:
                    self._buckets.popitem(last=False)
            else:
                self._buckets.move_to_end(key)
            return bucket
