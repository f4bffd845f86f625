"""Workers: claim jobs from the durable queue, investigate, store and announce the result.

The investigation itself is injected (:class:`Investigator`), so the same worker runs the
LangGraph investigation in production and a scripted one in tests. While a job runs, a
heartbeat renews its lease every third of the lease; a worker that dies stops renewing and
another takes the job within one lease. A worker that lost its lease (it stalled past it and
another worker took over) neither stores its result nor announces it.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any, Protocol

from agent.service.jobs import Job, WorkQueue
from agent.service.notifier import Notifier, notify_all
from agent.service.payloads import AlarmEvent

log = logging.getLogger(__name__)

Progress = Callable[[str], None]


class Investigator(Protocol):
    def __call__(self, job_id: str, event: AlarmEvent, progress: Progress) -> dict[str, Any]:
        """Investigate the alarm; return a JSON-able summary (top hypotheses, report file)."""
        ...


class _Heartbeat:
    """Renews one job's lease in the background until stopped (or until the lease is lost)."""

    def __init__(self, queue: WorkQueue, job: Job) -> None:
        self.queue = queue
        self.job = job
        self.lost = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"sleuth-lease-{job.id}", daemon=True)

    def __enter__(self) -> _Heartbeat:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        interval = max(0.05, self.queue.lease_seconds / 3)
        while not self._stop.wait(interval):
            try:
                renewed = self.queue.renew(self.job)
            except Exception as exc:  # a locked database now and then must not end the heartbeat
                log.warning("could not renew the lease of %s: %s", self.job.id, exc)
                continue
            if not renewed:
                log.warning("investigation %s: lease lost to another worker", self.job.id)
                self.lost.set()
                return


class Worker:
    def __init__(
        self, queue: WorkQueue, investigate: Investigator, notifiers: list[Notifier] | None = None
    ) -> None:
        self.queue = queue
        self.investigate = investigate
        self.notifiers = notifiers or []
        self._running: dict[str, Job] = {}  # by job id: what a drain hands back
        self._running_lock = threading.Lock()

    def run_once(self) -> Job | None:
        """Claim and run one job; return it as the worker left it (or None when nothing is due)."""
        job = self.queue.claim()
        if job is None:
            return None
        with self._running_lock:
            self._running[job.id] = job
        try:
            return self._run(job)
        finally:
            with self._running_lock:
                self._running.pop(job.id, None)

    def running(self) -> list[Job]:
        with self._running_lock:
            return list(self._running.values())

    def hand_back(self) -> list[str]:
        """Release the lease of every job still running (a drain's grace period ran out), so another
        worker takes each at once instead of after its lease; their late results are then dropped
        (the lease is gone). A store without ``release`` lets the lease run out instead."""
        release = getattr(self.queue, "release", None)
        handed: list[str] = []
        for job in self.running():
            if release is not None and release(job):
                handed.append(job.id)
        return handed

    def _run(self, job: Job) -> Job:
        with _Heartbeat(self.queue, job):
            notify_all(self.notifiers, "started", job.id, job.event)
            try:
                summary = self.investigate(
                    job.id, job.event, lambda msg: notify_all(self.notifiers, "progress", job.id, msg)
                )
            except Exception as exc:  # the worker loop is the outermost handler for one job
                status = self.queue.fail(job, f"{type(exc).__name__}: {exc}")
                log.warning(
                    "investigation %s failed (attempt %d): %s -> %s", job.id, job.attempts, exc, status
                )
                return job
            stored = self.queue.complete(job, summary)
        if not stored:
            log.warning("investigation %s finished after its lease was lost; result dropped", job.id)
            return job
        notify_all(self.notifiers, "finished", job.id, job.event, summary)
        return job

    def drain(self, limit: int = 10_000) -> int:
        """Run due jobs until none is left (tests and one-shot processing)."""
        done = 0
        while done < limit and self.run_once() is not None:
            done += 1
        return done


class WorkerPool:
    """N worker threads polling the queue until stopped."""

    def __init__(self, worker: Worker, size: int = 2, poll_seconds: float = 1.0) -> None:
        self.worker = worker
        self.size = size
        self.poll_seconds = poll_seconds
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._threads: list[threading.Thread] = []

    def start(self) -> None:
        for index in range(self.size):
            thread = threading.Thread(target=self._loop, name=f"sleuth-worker-{index}", daemon=True)
            thread.start()
            self._threads.append(thread)

    def wake(self) -> None:
        self._wake.set()

    def stop(self, timeout: float = 30.0) -> None:
        self._stop.set()
        self._wake.set()
        deadline = time.monotonic() + timeout
        for thread in self._threads:
            thread.join(max(0.0, deadline - time.monotonic()))

    def busy(self) -> bool:
        return any(thread.is_alive() for thread in self._threads)

    def drain(self, grace: float) -> list[str]:
        """Take no new job, let the running ones finish within ``grace`` seconds, hand back the rest."""
        running = len(self.worker.running())
        if running:
            log.warning("draining: %d running investigation(s), up to %gs", running, grace)
        self.stop(grace)
        handed = self.worker.hand_back() if self.busy() else []
        if handed:
            log.warning("drain: grace period over, handed back %s", ", ".join(handed))
        return handed

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                job = self.worker.run_once()
            except Exception:  # keep the pool alive; the job's lease expires and it is retried
                log.exception("worker loop error")
                job = None
            if job is None:
                self._wake.wait(self.poll_seconds)
                self._wake.clear()
