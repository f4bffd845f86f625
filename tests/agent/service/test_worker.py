from __future__ import annotations

import random
import threading
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from agent.service.payloads import AlarmEvent, AlarmSource, AlarmStatus
from agent.service.queue import InvestigationQueue, JobStatus
from agent.service.testing.wait import eventually
from agent.service.worker import Worker


class Recorder:
    def __init__(self) -> None:
        self.calls: list[tuple[str, str]] = []

    def started(self, job_id: str, event: AlarmEvent) -> None:
        self.calls.append(("started", job_id))

    def progress(self, job_id: str, message: str) -> None:
        self.calls.append(("progress", message))

    def finished(self, job_id: str, event: AlarmEvent, summary: dict[str, Any]) -> None:
        self.calls.append(("finished", job_id))


def _queue(tmp_path: Path, lease: float) -> InvestigationQueue:
    queue = InvestigationQueue(tmp_path / "q.sqlite", lease_seconds=lease, rng=random.Random(0))
    queue.enqueue(
        AlarmEvent(
            source=AlarmSource.SNS,
            message_id="m1",
            alarm_name="visits-5xx",
            status=AlarmStatus.FIRING,
            time=datetime(2026, 1, 1, tzinfo=UTC),
        )
    )
    return queue


def test_a_living_worker_keeps_renewing_its_lease_so_nobody_else_takes_the_job(tmp_path: Path) -> None:
    queue = _queue(tmp_path, lease=1.0)
    release = threading.Event()
    seen: list[float] = []

    def investigate(job_id: str, event: AlarmEvent, progress: Any) -> dict[str, Any]:
        release.wait(30)
        return {"headline": "done"}

    worker = threading.Thread(target=Worker(queue, investigate).run_once)
    worker.start()
    eventually(lambda: queue.jobs()[0].status == JobStatus.RUNNING, what="the worker claiming the job")

    def renewed_three_times() -> bool:
        [job] = queue.jobs()
        if job.lease_until is not None and (not seen or job.lease_until > seen[-1]):
            seen.append(job.lease_until)
        assert queue.claim() is None  # never free while its worker lives
        return len(seen) >= 4

    eventually(renewed_three_times, timeout=30, what="three lease renewals")
    release.set()
    worker.join(30)

    [job] = queue.jobs()
    assert job.status == JobStatus.DONE and job.attempts == 1


def test_a_worker_that_lost_its_lease_neither_stores_nor_announces_its_result(tmp_path: Path) -> None:
    queue = _queue(tmp_path, lease=60)
    recorder = Recorder()
    taken_over = {}

    def investigate(job_id: str, event: AlarmEvent, progress: Any) -> dict[str, Any]:
        # Meanwhile the lease expired (a stalled host) and another worker took the job and finished it.
        queue._connect().execute("UPDATE jobs SET lease_until = 0")
        other = queue.claim()
        assert other is not None
        taken_over["job"] = other
        queue.complete(other, {"headline": "by the other worker"})
        return {"headline": "late"}

    Worker(queue, investigate, [recorder]).run_once()

    [job] = queue.jobs()
    assert job.result == {"headline": "by the other worker"}
    assert recorder.calls == [("started", job.id)]


def test_a_failing_investigation_is_retried_later_and_announced_only_when_done(tmp_path: Path) -> None:
    queue = _queue(tmp_path, lease=60)
    recorder = Recorder()

    def investigate(job_id: str, event: AlarmEvent, progress: Any) -> dict[str, Any]:
        raise RuntimeError("backend unavailable")

    Worker(queue, investigate, [recorder]).run_once()

    [job] = queue.jobs()
    assert job.status == JobStatus.QUEUED and job.error == "RuntimeError: backend unavailable"
    assert recorder.calls == [("started", job.id)]
