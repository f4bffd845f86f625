"""Every AWS request the backend makes: under a deadline that covers its retries, with backoff on
throttling, and with failing APIs remembered for a while so one investigation does not knock on
a denied or throttled API forty times.

A backend call (``AwsBackend.query_logs`` ...) opens one :class:`CallDeadline` with
:meth:`ApiCaller.bounded`: ``call_deadline_seconds``, or less when the caller set a shorter
deadline (:mod:`mcp_server.backends.deadline`). Every request, retry, Insights poll and chunk
inside it checks that deadline, so when a tool gives up, the backend has already stopped.
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

from mcp_server.backends import deadline as caller_deadline
from mcp_server.backends.aws.config import AwsBackendConfig
from mcp_server.backends.aws.errors import AwsApiUnavailableError, aws_errors
from mcp_server.backends.notes import NoteBook

Clock = Callable[[], float]
Sleeper = Callable[[float], None]
REMEMBERED = frozenset({"throttled", "denied", "credentials", "unreachable", "failed"})
ANY_API = "*"  # credential failures hold for every API


@dataclass(frozen=True)
class CallDeadline:
    """When one backend call must be done, on the backend's clock."""

    clock: Clock
    expiry: float
    budget: float  # seconds it was given

    def remaining(self) -> float:
        return self.expiry - self.clock()

    def expired(self) -> bool:
        return self.remaining() <= 0


_active: ContextVar[CallDeadline | None] = ContextVar("sleuth_aws_call_deadline", default=None)


@dataclass(frozen=True)
class _Failure:
    reason: str
    detail: str
    at: float


class ApiCaller:
    """Requests with deadlines, retries and a memory of failing APIs (one per backend)."""

    def __init__(
        self,
        config: AwsBackendConfig,
        notes: NoteBook,
        clock: Clock = time.monotonic,
        sleep: Sleeper = time.sleep,
        jitter: Callable[[], float] = random.random,
    ) -> None:
        self.config = config
        self.notes = notes
        self.clock = clock
        self.sleep = sleep
        self._jitter = jitter
        self._failures: dict[str, _Failure] = {}
        self._lock = threading.Lock()
        self.requests: dict[str, int] = {}  # requests made per API (retries included)

    # ------------------------------------------------------------------------- deadlines

    @contextmanager
    def bounded(self) -> Iterator[CallDeadline]:
        """The deadline of one backend call; nested calls share the outermost one."""
        active = _active.get()
        if active is not None:
            yield active
            return
        budget = self.config.call_deadline_seconds
        ambient = caller_deadline.remaining_seconds()
        if ambient is not None:
            budget = max(0.0, min(budget, ambient))
        token = _active.set(CallDeadline(self.clock, self.clock() + budget, budget))
        try:
            yield _active.get()  # type: ignore[misc]
        finally:
            _active.reset(token)

    def deadline(self) -> CallDeadline:
        """The active deadline (a fresh default one outside :meth:`bounded`, e.g. in unit tests)."""
        active = _active.get()
        if active is not None:
            return active
        budget = self.config.call_deadline_seconds
        return CallDeadline(self.clock, self.clock() + budget, budget)

    def timed_out(self, api: str, what: str) -> AwsApiUnavailableError:
        """The error for work that the deadline stopped (say what was stopped)."""
        budget = self.deadline().budget
        return AwsApiUnavailableError(api, "timeout", f"{what} at the {budget:.3g}s deadline of this call")

    # --------------------------------------------------------------------------- requests

    def call(self, api: str, method: Callable[..., Any], **params: Any) -> Any:
        """One request with retries on throttling and transient failures, inside the deadline."""
        self._check_remembered(api)
        deadline = self.deadline()
        started = self.clock()
        attempt = 0
        while True:
            if deadline.expired():
                raise self.timed_out(api, f"{api} was not started")
            self._count(api)
            try:
                with aws_errors(api):
                    return method(**params)
            except AwsApiUnavailableError as exc:
                attempt += 1
                if not exc.retryable:
                    self._remember(api, exc)
                    raise
                delay = min(
                    self.config.retry_max_seconds, self.config.retry_base_seconds * 2 ** (attempt - 1)
                )
                delay *= 0.5 + 0.5 * self._jitter()
                elapsed = self.clock() - started
                if attempt >= self.config.max_attempts:
                    failure = AwsApiUnavailableError(
                        api,
                        exc.reason,
                        f"{exc.detail}; still {exc.reason} after {attempt} tries over {elapsed:.1f}s",
                    )
                    self._remember(api, failure)
                    raise failure from None
                if deadline.remaining() <= delay:
                    failure = AwsApiUnavailableError(
                        api,
                        exc.reason,
                        f"{exc.detail}; {attempt} tries over {elapsed:.1f}s, stopped at the "
                        f"{deadline.budget:.3g}s deadline of this call",
                    )
                    self._remember(api, failure)
                    raise failure from None
                self.sleep(delay)

    def call_once(self, api: str, method: Callable[..., Any], **params: Any) -> Any:
        """One try, outside the deadline and the failure memory (clean-up such as StopQuery)."""
        self._count(api)
        with aws_errors(api):
            return method(**params)

    def pages(
        self,
        api: str,
        client: Any,
        operation: str,
        result_key: str,
        max_items: int | None = None,
        **params: Any,
    ) -> Iterator[Any]:
        """Items of ``result_key`` across pages (each page its own request), at most ``max_items``."""
        token_in, token_out = _token_names(client, operation)
        method = getattr(client, operation)
        seen = 0
        token: str | None = None
        while True:
            page = self.call(api, method, **params, **({token_in: token} if token and token_in else {}))
            for item in page.get(result_key) or []:
                yield item
                seen += 1
                if max_items is not None and seen >= max_items:
                    return
            following = page.get(token_out) if token_out else None
            if not following or following == token:
                return
            token = following

    # ----------------------------------------------------------------------------- memory

    def _remember(self, api: str, error: AwsApiUnavailableError) -> None:
        if error.reason not in REMEMBERED or self.config.failure_memory_seconds <= 0:
            return
        key = ANY_API if error.reason == "credentials" else api
        with self._lock:
            self._failures[key] = _Failure(error.reason, error.detail, self.clock())

    def _check_remembered(self, api: str) -> None:
        now = self.clock()
        with self._lock:
            failure = self._failures.get(api) or self._failures.get(ANY_API)
            if failure is not None and now - failure.at >= self.config.failure_memory_seconds:
                self._failures = {k: f for k, f in self._failures.items() if f is not failure}
                failure = None
        if failure is not None:
            ago = now - failure.at
            raise AwsApiUnavailableError(
                api,
                failure.reason,
                f"{failure.detail} (failed {ago:.0f}s ago; not asked again for "
                f"{self.config.failure_memory_seconds:g}s)",
            )

    def _count(self, api: str) -> None:
        with self._lock:
            self.requests[api] = self.requests.get(api, 0) + 1


def _token_names(client: Any, operation: str) -> tuple[str | None, str | None]:
    """The paging token's name in the request and in the response (NextToken or nextToken)."""
    model = client.meta.service_model.operation_model(client.meta.method_to_api_mapping[operation])

    def pick(shape: Any) -> str | None:
        members = shape.members if shape is not None else {}
        return next((name for name in ("NextToken", "nextToken") if name in members), None)

    return pick(model.input_shape), pick(model.output_shape)
