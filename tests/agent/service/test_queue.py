from __future__ import annotations

import random
import sqlite3
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
    message_id: str,
    *,
    name: str = "visits-5xx",
    status: AlarmStatus = AlarmStatus.FIRING,
    minutes: float = 0,
    service: str = "visits",
) -> AlarmEvent:
    return AlarmEvent(
        source=AlarmSource.SNS,
        message_id=message_id,
        alarm_name=name,
        status=status,
        time=T0 + timedelta(minutes=minutes),
        service=service,
        labels={"Service": service},
    )


def _queue(tmp_path: Path, clock: FakeClock | None = None, **options: Any) -> InvestigationQueue:
    return InvestigationQueue(
        tmp_path / "q.sqlite", clock=clock or FakeClock(), rng=random.Random(1), **options
    )


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


def test_the_same_alarm_name_for_another_service_is_another_investigation(tmp_path: Path) -> None:
    queue = _queue(tmp_path)

    visits = queue.enqueue(_event("m1", service="visits"))
    billing = queue.enqueue(_event("m2", service="billing", minutes=5))

    assert visits[0] == billing[0] == EnqueueOutcome.CREATED and visits[1] != billing[1]


def test_a_resolution_updates_the_running_investigation_and_never_starts_one(tmp_path: Path) -> None:
    queue = _queue(tmp_path)

    _, job_id = queue.enqueue(_event("m1"))
    resolved = queue.enqueue(_event("ok1", status=AlarmStatus.RESOLVED, minutes=45))

    assert resolved == (EnqueueOutcome.ATTACHED, job_id)
    job = queue.get(job_id)  # type: ignore[arg-type]
    assert job is not None and job.resolved_at == (T0 + timedelta(minutes=45)).isoformat()


def test_a_resolution_that_overtakes_its_alarm_is_held_then_attached(tmp_path: Path) -> None:
    queue = _queue(tmp_path)

    held = queue.enqueue(_event("ok1", status=AlarmStatus.RESOLVED, minutes=12))
    outcome, job_id = queue.enqueue(_event("m1"))

    assert held == (EnqueueOutcome.HELD, None) and outcome == EnqueueOutcome.CREATED
    job = queue.get(job_id)  # type: ignore[arg-type]
    assert job is not None and job.resolved_at == (T0 + timedelta(minutes=12)).isoformat()
    assert [u.message_id for u in job.updates] == ["ok1"]
    with sqlite3.connect(tmp_path / "q.sqlite") as con:
        assert con.execute("SELECT job_id, outcome FROM deliveries WHERE message_id = 'ok1'").fetchone() == (
            job_id,
            "attached",
        )


def test_every_resolution_that_overtook_its_alarm_is_attached(tmp_path: Path) -> None:
    queue = _queue(tmp_path)

    queue.enqueue(_event("ok1", status=AlarmStatus.RESOLVED, minutes=12))
    queue.enqueue(_event("ok2", status=AlarmStatus.RESOLVED, minutes=14))
    _, job_id = queue.enqueue(_event("m1"))

    job = queue.get(job_id)  # type: ignore[arg-type]
    assert job is not None and [u.message_id for u in job.updates] == ["ok1", "ok2"]
    assert job.resolved_at == (T0 + timedelta(minutes=14)).isoformat()


def test_a_held_resolution_older_than_the_alarm_belongs_to_an_earlier_episode(tmp_path: Path) -> None:
    queue = _queue(tmp_path)

    queue.enqueue(_event("ok0", status=AlarmStatus.RESOLVED, minutes=0))
    _, job_id = queue.enqueue(_event("m1", minutes=10))

    job = queue.get(job_id)  # type: ignore[arg-type]
    assert job is not None and job.resolved_at is None


def test_failures_back_off_then_dead_letter_and_redrive_requeues(tmp_path: Path) -> None:
    clock = FakeClock()
    queue = _queue(tmp_path, clock, max_attempts=3, backoff_base=10.0)
    _, job_id = queue.enqueue(_event("m1"))
    assert job_id is not None

    delays = []
    status = None
    for _ in range(3):
        job = queue.claim()
        assert job is not None and job.id == job_id
        status = queue.fail(job, "boom")
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
    queue = _queue(tmp_path, clock, lease_seconds=30)
    queue.enqueue(_event("m1"))
    assert queue.claim() is not None  # this worker then "crashes"

    assert queue.claim() is None
    clock.now += 31
    reclaimed = queue.claim()

    assert reclaimed is not None and reclaimed.attempts == 2


def test_a_renewed_lease_keeps_the_job_with_its_worker(tmp_path: Path) -> None:
    clock = FakeClock()
    queue = _queue(tmp_path, clock, lease_seconds=30)
    queue.enqueue(_event("m1"))
    job = queue.claim()
    assert job is not None

    for _ in range(4):
        clock.now += 20
        assert queue.renew(job)
        assert queue.claim() is None

    assert queue.complete(job, {"headline": "done"})


def test_a_worker_that_lost_its_lease_can_neither_renew_nor_overwrite_the_result(tmp_path: Path) -> None:
    clock = FakeClock()
    queue = _queue(tmp_path, clock, lease_seconds=30)
    queue.enqueue(_event("m1"))
    slow = queue.claim()
    clock.now += 31
    fast = queue.claim()
    assert slow is not None and fast is not None and slow.lease != fast.lease

    assert queue.complete(fast, {"headline": "fast"})
    assert not queue.renew(slow)
    assert not queue.complete(slow, {"headline": "slow"})
    assert queue.fail(slow, "late") is None
    job = queue.get(fast.id)
    assert job is not None and job.status == JobStatus.DONE and job.result == {"headline": "fast"}


def test_a_job_that_kills_its_worker_every_time_ends_in_the_dead_letter_queue(tmp_path: Path) -> None:
    clock = FakeClock()
    queue = _queue(tmp_path, clock, lease_seconds=30, max_attempts=2)
    _, job_id = queue.enqueue(_event("m1"))
    for _ in range(2):
        assert queue.claim() is not None
        clock.now += 31

    assert queue.claim() is None
    [dead] = queue.dead_letters()
    assert dead.id == job_id and "lease expired" in (dead.error or "")


def test_feedback_and_verdicts_are_kept_only_for_investigations_that_exist(tmp_path: Path) -> None:
    queue = _queue(tmp_path)
    _, job_id = queue.enqueue(_event("m1"))
    assert job_id is not None

    assert queue.record_feedback(job_id, "U1", 1)
    assert not queue.record_feedback("no-such-job", "U1", 1)
    assert queue.record_verdict(job_id, "visits/bad_deployment", False, "U1")
    assert not queue.record_verdict("no-such-job", "visits/bad_deployment", False, "U1")

    assert queue.satisfaction() == (1, 1)
    assert [(v.hypothesis, v.accepted) for v in queue.verdicts(job_id)] == [("visits/bad_deployment", False)]


def test_accepted_alarms_survive_reopening_the_queue(tmp_path: Path) -> None:
    queue = _queue(tmp_path)
    queue.enqueue(_event("m1"))
    queue.close()

    reopened = _queue(tmp_path)

    assert [j.status for j in reopened.jobs()] == [JobStatus.QUEUED]
    assert reopened.enqueue(_event("m1"))[0] == EnqueueOutcome.DUPLICATE


def test_a_queue_written_before_identities_existed_is_upgraded_in_place(tmp_path: Path) -> None:
    path = tmp_path / "q.sqlite"
    event = _event("m1")
    with sqlite3.connect(path) as con:
        con.executescript(
            "CREATE TABLE jobs (id TEXT PRIMARY KEY, alarm_name TEXT NOT NULL, service TEXT, fired_at TEXT NOT NULL, "
            "status TEXT NOT NULL, attempts INTEGER NOT NULL DEFAULT 0, next_attempt_at REAL NOT NULL, "
            "lease_until REAL, event TEXT NOT NULL, updates TEXT NOT NULL DEFAULT '[]', resolved_at TEXT, "
            "result TEXT, error TEXT, created_at REAL NOT NULL, updated_at REAL NOT NULL);"
        )
        con.execute(
            "INSERT INTO jobs (id, alarm_name, fired_at, status, next_attempt_at, event, created_at, updated_at) "
            "VALUES ('old1', 'visits-5xx', ?, 'queued', 0, ?, 0, 0)",
            (event.time.isoformat(), event.model_dump_json()),
        )

    queue = _queue(tmp_path)

    assert queue.enqueue(_event("m2", minutes=5)) == (EnqueueOutcome.ATTACHED, "old1")


def test_a_secret_in_an_alarm_is_redacted_before_the_queue_stores_it(tmp_path: Path) -> None:
    queue = _queue(tmp_path)
    leaky = _event("m1").model_copy(
        update={
            "reason": "5xx rising; db_url=postgres://app:SuperSecretPw@db.internal/visits password=hunter2"
        }
    )

    _, job_id = queue.enqueue(leaky)

    stored = b"".join(path.read_bytes() for path in tmp_path.iterdir())
    assert b"SuperSecretPw" not in stored and b"hunter2" not in stored
    job = queue.get(job_id or "")
    assert job is not None and "[REDACTED:" in job.event.reason
    assert queue.enqueue(leaky)[0] == EnqueueOutcome.DUPLICATE
