"""Workers: claim jobs from the durable queue, investigate, store and announce the result.

The investigation itself is injected (:class:`Investigator`), so the same worker runs the
LangGraph investigation in production and a scripted one in tests.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any, Protocol

from agent.service.notifier import Notifier, notify_all
from agent.service.payloads import AlarmEvent
from agent.service.queue import InvestigationQueue, Job

log = logging.getLogger(__name__)

Progress = Callable[[str], None]


class Investigator(Protocol):
    def __call__(self, job_id: str, event: AlarmEvent, progress: Progress) -> dict[str, Any]:
        """Investigate the alarm; return a JSON-able summary (top hypotheses, report paths)."""
        ...


class Worker:
    def __init__(
        self, queue: InvestigationQueue, investigate: Investigator, notifiers: list[Notifier] | None = None
    ) -> None:
        self.queue = queue
        self.investigate = investigate
        self.notifiers = notifiers or []

    def run_once(self) -> Job | None:
        """Claim and run one job; return it (or None when nothing is due)."""
        job = self.queue.claim()
        if job is None:
            return None
        notify_all(self.notifiers, "started", job.id, job.event)
        try:
            summary = self.investigate(
                job.id, job.event, lambda msg: notify_all(self.notifiers, "progress", job.id, msg)
            )
        except Exception as exc:  # the worker loop is the outermost handler for one job
            status = self.queue.fail(job.id, f"{type(exc).__name__}: {exc}")
            log.warning("investigation %s failed (attempt %d): %s -> %s", job.id, job.attempts, exc, status)
            return self.queue.get(job.id)
        self.queue.complete(job.id, summary)
        notify_all(self.notifiers, "finished", job.id, job.event, summary)
        return self.queue.get(job.id)

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
        for thread in self._threads:
            thread.join(timeout)

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
