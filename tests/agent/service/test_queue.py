from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from agent.service.payloads import AlarmEvent, AlarmSource, AlarmStatus
from agent.service.queue import EnqueueOutcome, InvestigationQueue, JobStatus

T0 = datetime(2026, 1, 1, 10, 0, tzinfo=UTC)


class FakeClock:
    def __init__(self) -> None:
        self.now = 1_000.0

    def __call__(self) -> float:
        return self.now


def _event(
    message_id: str, *, name: str = "visits-5xx", status: AlarmStatus = AlarmStatus.FIRING, minutes: float = 0
) -> AlarmEvent:
    return AlarmEvent(
        source=AlarmSource.SNS,
        message_id=message_id,
        alarm_name=name,
        status=status,
        time=T0 + timedelta(minutes=minutes),
        service="visits",
    )


def _queue(tmp_path: Path, clock: FakeClock | None = None, **options: Any) -> InvestigationQueue:
    return InvestigationQueue(
        tmp_path / "q.sqlite", clock=clock or FakeClock(), rng=random.Random(1), **options
    )  # type: ignore[arg-type]


def test_a_redelivered_message_is_recognised_and_starts_nothing(tmp_path: Path) -> None:
    queue = _queue(tmp_path)

    first = queue.enqueue(_event("m1"))
    again = queue.enqueue(_event("m1"))

    assert first[0] == EnqueueOutcome.CREATED and again == (EnqueueOutcome.DUPLICATE, first[1])
    assert len(queue.jobs()) == 1


def test_the_same_alarm_firing_again_within_the_window_attaches_to_the_open_investigation(
    tmp_path: Path,
) -> None:
    queue = _queue(tmp_path)

    _, job_id = queue.enqueue(_event("m1"))
    outcome, attached_to = queue.enqueue(_event("m2", minutes=10))
    later, new_job = queue.enqueue(_event("m3", minutes=90))

    assert outcome == EnqueueOutcome.ATTACHED and attached_to == job_id
    assert later == EnqueueOutcome.CREATED and new_job != job_id
    job = queue.get(job_id)  # type: ignore[arg-type]
    assert job is not None and [u.message_id for u in job.updates] == ["m2"]


def test_a_resolution_updates_the_running_investigation_and_never_starts_one(tmp_path: Path) -> None:
    queue = _queue(tmp_path)

    stray = queue.enqueue(_event("ok0", name="other", status=AlarmStatus.RESOLVED))
    _, job_id = queue.enqueue(_event("m1"))
    resolved = queue.enqueue(_event("ok1", status=AlarmStatus.RESOLVED, minutes=45))

    assert stray == (EnqueueOutcome.IGNORED, None)
    assert resolved == (EnqueueOutcome.ATTACHED, job_id)
    job = queue.get(job_id)  # type: ignore[arg-type]
    assert job is not None and job.resolved_at == (T0 + timedelta(minutes=45)).isoformat()


def test_failures_back_off_then_dead_letter_and_redrive_requeues(tmp_path: Path) -> None:
    clock = FakeClock()
    queue = _queue(tmp_path, clock, max_attempts=3, backoff_base=10.0)
    _, job_id = queue.enqueue(_event("m1"))
    assert job_id is not None

    delays = []
    for _ in range(3):
        job = queue.claim()
        assert job is not None and job.id == job_id
        status = queue.fail(job_id, "boom")
        due = queue._connect().execute("SELECT next_attempt_at FROM jobs").fetchone()[0]
        delays.append(due - clock.now)
        assert queue.claim() is None  # not due yet (or dead)
        clock.now += 1_000

    assert status == JobStatus.DEAD and [j.id for j in queue.dead_letters()] == [job_id]
    assert 5.0 <= delays[0] <= 10.0 and 10.0 <= delays[1] <= 20.0
    assert queue.redrive() == 1
    assert queue.claim() is not None


def test_a_job_whose_worker_died_is_claimed_again_after_its_lease(tmp_path: Path) -> None:
    clock = FakeClock()
    queue = _queue(tmp_path, clock, lease_seconds=60)
    queue.enqueue(_event("m1"))
    assert queue.claim() is not None  # this worker then "crashes"

    assert queue.claim() is None
    clock.now += 61
    reclaimed = queue.claim()

    assert reclaimed is not None and reclaimed.attempts == 2


def test_accepted_alarms_survive_reopening_the_queue(tmp_path: Path) -> None:
    queue = _queue(tmp_path)
    queue.enqueue(_event("m1"))
    queue.close()

    reopened = _queue(tmp_path)

    assert [j.status for j in reopened.jobs()] == [JobStatus.QUEUED]
    assert reopened.enqueue(_event("m1"))[0] == EnqueueOutcome.DUPLICATE
