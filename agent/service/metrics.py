"""Prometheus metrics for the intake and the workers (``prometheus_client``, the ``[scale]`` extra).

One :class:`ServiceMetrics` per process, with its own registry (no process-wide globals, so
several services in one test process never share counts). What it exposes:

- ``sleuth_jobs{status}``: the job store's counts, read at each scrape (queue depth);
- ``sleuth_investigations_{started,finished,failed}_total``, counted by :class:`MeteredQueue`
  around the worker's claims, completions and failures, and
  ``sleuth_investigations_deduplicated_total`` for notifications the intake folded into an
  existing investigation (the same delivery again, a re-fire or a resolution);
- ``sleuth_investigation_duration_seconds``, claim to stored result;
- ``sleuth_llm_tokens_total{direction}``, the tokens the reasoner reported (0 for offline).

The base install has no ``prometheus_client``: :func:`open_metrics` then returns None and
``GET /metrics`` answers 501 with the install hint.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

from agent.service.jobs import EnqueueOutcome, Job, JobReader, JobStatus, WorkQueue
from mcp_server.errors import SleuthError

log = logging.getLogger(__name__)

INSTALL_HINT = "metrics need prometheus_client: pip install 'sleuth[scale]'"
DURATION_BUCKETS = (1.0, 2.5, 5.0, 10.0, 20.0, 30.0, 60.0, 120.0, 300.0, 600.0, 1800.0)
_DEDUPLICATED = {EnqueueOutcome.DUPLICATE, EnqueueOutcome.ATTACHED}


class MetricsUnavailable(SleuthError):
    """prometheus_client is not installed, or the metrics port cannot be opened."""


class _JobCounts:
    """A collector that asks the job store for its counts at each scrape."""

    def __init__(self, jobs: JobReader) -> None:
        self.jobs = jobs

    def collect(self) -> Iterator[Any]:
        from prometheus_client.core import GaugeMetricFamily

        family = GaugeMetricFamily(
            "sleuth_jobs", "Investigations in the job store by status", labels=["status"]
        )
        counts = self.jobs.counts()
        for status in [s.value for s in JobStatus] + sorted(set(counts) - {s.value for s in JobStatus}):
            family.add_metric([status], float(counts.get(status, 0)))
        yield family


class ServiceMetrics:
    """The process's counters and histogram, and the rendering of its registry."""

    def __init__(self, jobs: JobReader | None = None) -> None:
        try:
            from prometheus_client import CollectorRegistry, Counter, Histogram
        except ImportError:
            raise MetricsUnavailable(INSTALL_HINT) from None
        self.registry = CollectorRegistry()
        self.started = Counter(
            "sleuth_investigations_started", "Investigations claimed by a worker", registry=self.registry
        )
        self.finished = Counter(
            "sleuth_investigations_finished", "Investigations whose result was stored", registry=self.registry
        )
        self.failed = Counter(
            "sleuth_investigations_failed",
            "Investigation attempts that raised (retried or dead-lettered)",
            registry=self.registry,
        )
        self.deduplicated = Counter(
            "sleuth_investigations_deduplicated",
            "Notifications folded into an existing investigation (redelivery, re-fire, resolution)",
            registry=self.registry,
        )
        self.duration = Histogram(
            "sleuth_investigation_duration_seconds",
            "Claim to stored result, per finished investigation",
            buckets=DURATION_BUCKETS,
            registry=self.registry,
        )
        self.tokens = Counter(
            "sleuth_llm_tokens", "Tokens the reasoner used", labelnames=["direction"], registry=self.registry
        )
        for direction in ("input", "output"):
            self.tokens.labels(direction=direction)  # present (at 0) before the first LLM call
        self._watched = False
        if jobs is not None:
            self.watch(jobs)

    def watch(self, jobs: JobReader) -> None:
        """Expose ``jobs.counts()`` as ``sleuth_jobs{status}`` (once per process)."""
        if not self._watched:
            self.registry.register(_JobCounts(jobs))  # type: ignore[arg-type]
            self._watched = True

    def enqueued(self, outcomes: Iterable[EnqueueOutcome]) -> None:
        folded = sum(1 for outcome in outcomes if outcome in _DEDUPLICATED)
        if folded:
            self.deduplicated.inc(folded)

    def used_tokens(self, tokens: dict[str, Any] | None) -> None:
        for direction, count in (tokens or {}).items():
            if isinstance(count, int) and count > 0:
                self.tokens.labels(direction=str(direction)).inc(count)

    def render(self) -> tuple[bytes, str]:
        """The exposition text and its content type (reads the job store: call off the event loop)."""
        from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

        return generate_latest(self.registry), CONTENT_TYPE_LATEST

    def serve(self, port: int, host: str = "127.0.0.1") -> None:
        """Answer ``GET /metrics`` on ``host:port`` from a background thread (``sleuth worker``)."""
        from prometheus_client import start_http_server

        try:
            start_http_server(port, addr=host, registry=self.registry)
        except OSError as exc:
            raise MetricsUnavailable(f"cannot serve metrics on {host}:{port}: {exc.strerror}") from None


def open_metrics(jobs: JobReader | None = None) -> ServiceMetrics | None:
    """The process's metrics, or None (logged once) when prometheus_client is not installed."""
    try:
        return ServiceMetrics(jobs)
    except MetricsUnavailable as exc:
        log.info("%s; /metrics answers 501", exc)
        return None


class MeteredQueue:
    """A :class:`WorkQueue` that counts what the worker does through it; everything else passes on."""

    def __init__(self, queue: WorkQueue, metrics: ServiceMetrics) -> None:
        self.queue = queue
        self.metrics = metrics
        self._claimed: dict[tuple[str, str | None], float] = {}
        self._lock = threading.Lock()
        self.lease_seconds = queue.lease_seconds

    def claim(self) -> Job | None:
        job = self.queue.claim()
        if job is not None:
            self.metrics.started.inc()
            with self._lock:
                self._claimed[(job.id, job.lease)] = time.monotonic()
        return job

    def renew(self, job: Job) -> bool:
        return self.queue.renew(job)

    def complete(self, job: Job, result: dict[str, Any]) -> bool:
        stored = self.queue.complete(job, result)
        began = self._forget(job)
        if stored:
            self.metrics.finished.inc()
            if began is not None:
                self.metrics.duration.observe(time.monotonic() - began)
        # tokens were spent whether or not the result could still be stored
        self.metrics.used_tokens(result.get("tokens"))
        return stored

    def fail(self, job: Job, error: str) -> JobStatus | None:
        self._forget(job)
        self.metrics.failed.inc()
        return self.queue.fail(job, error)

    def release(self, job: Job) -> bool:
        """Hand the job back (drain); a store without ``release`` lets the lease run out."""
        self._forget(job)
        release = getattr(self.queue, "release", None)
        return bool(release(job)) if release is not None else False

    def _forget(self, job: Job) -> float | None:
        with self._lock:
            return self._claimed.pop((job.id, job.lease), None)


def metric_value(metrics: ServiceMetrics, name: str, labels: Sequence[tuple[str, str]] = ()) -> float:
    """One sample's value from the registry (tests and ``sleuth`` status lines)."""
    value = metrics.registry.get_sample_value(name, dict(labels))
    return float(value) if value is not None else 0.0
