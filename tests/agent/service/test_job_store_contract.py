"""One contract, two job stores: every test here runs against SQLite and against PostgreSQL.

The PostgreSQL store runs in a throwaway schema on 127.0.0.1:5432 and is skipped (saying so)
when no server answers. Races use one store object per thread, each with its own connections,
as separate intake and worker processes have.
"""

from __future__ import annotations

import random
import threading
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from agent.service.jobs import EnqueueOutcome, JobStatus, JobStore
from agent.service.payloads import AlarmStatus
from agent.service.queue import InvestigationQueue
from tests.agent.service.postgres import throwaway_schema
from tests.agent.service.samples import T0, FakeClock, stored_alarm

StoreFactory = Callable[..., JobStore]


@pytest.fixture(params=["sqlite", "postgres"])
def make_store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[StoreFactory]:
    """``make_store(clock=…, **options)``: a store on one shared place (each call a new handle)."""
    opened: list[Any] = []

    def sqlite(clock: FakeClock | None = None, **options: Any) -> JobStore:
        store = InvestigationQueue(
            tmp_path / "q.sqlite", clock=clock or FakeClock(), rng=random.Random(1), **options
        )
        opened.append(store)
        return store

    if request.param == "sqlite":
        yield sqlite
    else:
        from agent.service.pgstore import PostgresJobStore

        with throwaway_schema() as url:

            def postgres(clock: FakeClock | None = None, **options: Any) -> JobStore:
                store = PostgresJobStore(
                    url, clock=clock or FakeClock(), rng=random.Random(1), pool_size=4, **options
                )
                opened.append(store)
                return store

            try:
                yield postgres
            finally:
                for store in opened:
                    store.close()
            return
    for store in opened:
        store.close()


def test_a_redelivered_message_is_recognised_and_starts_nothing(make_store: StoreFactory) -> None:
    queue = make_store()

    first = queue.enqueue(stored_alarm("m1"))
    again = queue.enqueue(stored_alarm("m1"))

    assert first[0] == EnqueueOutcome.CREATED and again == (EnqueueOutcome.DUPLICATE, first[1])
    assert len(queue.jobs()) == 1


def test_the_same_alarm_firing_again_within_the_window_attaches_to_the_open_investigation(
    make_store: StoreFactory,
) -> None:
    queue = make_store()

    _, job_id = queue.enqueue(stored_alarm("m1"))
    outcome, attached_to = queue.enqueue(stored_alarm("m2", minutes=10))
    later, new_job = queue.enqueue(stored_alarm("m3", minutes=90))

    assert outcome == EnqueueOutcome.ATTACHED and attached_to == job_id
    assert later == EnqueueOutcome.CREATED and new_job != job_id
    job = queue.get(job_id)  # type: ignore[arg-type]
    assert job is not None and [u.message_id for u in job.updates] == ["m2"]


def test_the_same_alarm_name_for_another_service_is_another_investigation(make_store: StoreFactory) -> None:
    queue = make_store()

    visits = queue.enqueue(stored_alarm("m1", service="visits"))
    billing = queue.enqueue(stored_alarm("m2", service="billing", minutes=5))

    assert visits[0] == billing[0] == EnqueueOutcome.CREATED and visits[1] != billing[1]


def test_a_resolution_updates_the_running_investigation_and_never_starts_one(
    make_store: StoreFactory,
) -> None:
    queue = make_store()

    _, job_id = queue.enqueue(stored_alarm("m1"))
    resolved = queue.enqueue(stored_alarm("ok1", status=AlarmStatus.RESOLVED, minutes=45))

    assert resolved == (EnqueueOutcome.ATTACHED, job_id)
    job = queue.get(job_id)  # type: ignore[arg-type]
    assert job is not None and job.resolved_at == (T0 + timedelta(minutes=45)).isoformat()


def test_a_resolution_that_overtakes_its_alarm_is_held_then_attached(make_store: StoreFactory) -> None:
    queue = make_store()

    held = queue.enqueue(stored_alarm("ok1", status=AlarmStatus.RESOLVED, minutes=12))
    outcome, job_id = queue.enqueue(stored_alarm("m1"))

    assert held == (EnqueueOutcome.HELD, None) and outcome == EnqueueOutcome.CREATED
    job = queue.get(job_id)  # type: ignore[arg-type]
    assert job is not None and job.resolved_at == (T0 + timedelta(minutes=12)).isoformat()
    assert [u.message_id for u in job.updates] == ["ok1"]
    assert queue.enqueue(stored_alarm("ok1", status=AlarmStatus.RESOLVED, minutes=12)) == (
        EnqueueOutcome.DUPLICATE,
        job_id,
    )


def test_every_resolution_that_overtook_its_alarm_is_attached(make_store: StoreFactory) -> None:
    queue = make_store()

    queue.enqueue(stored_alarm("ok2", status=AlarmStatus.RESOLVED, minutes=14))
    queue.enqueue(stored_alarm("ok1", status=AlarmStatus.RESOLVED, minutes=12))
    _, job_id = queue.enqueue(stored_alarm("m1"))

    job = queue.get(job_id)  # type: ignore[arg-type]
    assert job is not None and [u.message_id for u in job.updates] == ["ok1", "ok2"]
    assert job.resolved_at == (T0 + timedelta(minutes=14)).isoformat()


def test_a_held_resolution_older_than_the_alarm_belongs_to_an_earlier_episode(
    make_store: StoreFactory,
) -> None:
    queue = make_store()

    queue.enqueue(stored_alarm("ok0", status=AlarmStatus.RESOLVED, minutes=0))
    _, job_id = queue.enqueue(stored_alarm("m1", minutes=10))

    job = queue.get(job_id)  # type: ignore[arg-type]
    assert job is not None and job.resolved_at is None


def test_failures_back_off_then_dead_letter_and_redrive_requeues(make_store: StoreFactory) -> None:
    clock = FakeClock()
    queue = make_store(clock, max_attempts=3, backoff_base=10.0)
    _, job_id = queue.enqueue(stored_alarm("m1"))

    statuses = []
    for not_before, by in ((5.0, 10.0), (10.0, 20.0), (None, None)):
        job = queue.claim()
        assert job is not None and job.id == job_id
        statuses.append(queue.fail(job, "boom"))
        start = clock.now
        if not_before is not None and by is not None:
            clock.now = start + not_before - 0.01
            assert queue.claim() is None  # backing off
            clock.now = start + by + 0.01
        else:
            clock.now += 10_000
            assert queue.claim() is None  # dead

    assert statuses == [JobStatus.QUEUED, JobStatus.QUEUED, JobStatus.DEAD]
    [dead] = queue.dead_letters()
    assert dead.id == job_id and dead.error == "boom"
    assert queue.redrive("no-such-job") == 0 and queue.redrive() == 1
    assert queue.claim() is not None


def test_a_job_whose_worker_died_is_claimed_again_after_its_lease(make_store: StoreFactory) -> None:
    clock = FakeClock()
    queue = make_store(clock, lease_seconds=30)
    queue.enqueue(stored_alarm("m1"))
    assert queue.claim() is not None  # this worker then "crashes"

    assert queue.claim() is None
    clock.now += 31
    reclaimed = queue.claim()

    assert reclaimed is not None and reclaimed.attempts == 2


def test_a_renewed_lease_keeps_the_job_with_its_worker(make_store: StoreFactory) -> None:
    clock = FakeClock()
    queue = make_store(clock, lease_seconds=30)
    queue.enqueue(stored_alarm("m1"))
    job = queue.claim()
    assert job is not None

    for _ in range(4):
        clock.now += 20
        assert queue.renew(job)
        assert queue.claim() is None

    assert queue.complete(job, {"headline": "done"})


def test_a_worker_that_lost_its_lease_can_neither_renew_nor_overwrite_the_result(
    make_store: StoreFactory,
) -> None:
    clock = FakeClock()
    queue = make_store(clock, lease_seconds=30)
    queue.enqueue(stored_alarm("m1"))
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
    assert [(e.kind, e.task) for e in queue.execution_log(fast.id)] == [("result", fast.lease)]


def test_a_job_that_kills_its_worker_every_time_ends_in_the_dead_letter_queue(
    make_store: StoreFactory,
) -> None:
    clock = FakeClock()
    queue = make_store(clock, lease_seconds=30, max_attempts=2)
    _, job_id = queue.enqueue(stored_alarm("m1"))
    for _ in range(2):
        assert queue.claim() is not None
        clock.now += 31

    assert queue.claim() is None
    [dead] = queue.dead_letters()
    assert dead.id == job_id and "lease expired" in (dead.error or "")


def test_feedback_and_verdicts_are_kept_only_for_investigations_that_exist(make_store: StoreFactory) -> None:
    clock = FakeClock()
    queue = make_store(clock)
    _, job_id = queue.enqueue(stored_alarm("m1"))
    assert job_id is not None

    assert queue.record_feedback(job_id, "U1", 1)
    assert queue.record_feedback(job_id, "U2", 1) and queue.record_feedback(job_id, "U2", -1)  # changed mind
    assert not queue.record_feedback("no-such-job", "U1", 1)
    assert queue.record_verdict(job_id, "visits/bad_deployment", True, "U1")
    clock.now += 1
    assert queue.record_verdict(job_id, "visits/bad_deployment", False, "U2")
    assert not queue.record_verdict("no-such-job", "visits/bad_deployment", False, "U1")
    queue.update_result(job_id, {"headline": "reviewed"})

    assert queue.satisfaction() == (1, 2)
    assert [(v.hypothesis, v.accepted, v.user) for v in queue.verdicts(job_id)] == [
        ("visits/bad_deployment", False, "U2")
    ]
    job = queue.get(job_id)
    assert job is not None and job.result == {"headline": "reviewed"}


def test_accepted_alarms_survive_reopening_the_store(make_store: StoreFactory) -> None:
    queue = make_store()
    queue.enqueue(stored_alarm("m1"))
    queue.close()

    reopened = make_store()

    assert [j.status for j in reopened.jobs()] == [JobStatus.QUEUED]
    assert reopened.counts() == {"queued": 1}
    assert reopened.enqueue(stored_alarm("m1"))[0] == EnqueueOutcome.DUPLICATE


def test_a_secret_in_an_alarm_is_redacted_before_the_store_keeps_it(make_store: StoreFactory) -> None:
    queue = make_store()
    leaky = stored_alarm("m1").model_copy(
        update={
            "reason": "5xx rising; db_url=postgres://app:SuperSecretPw@db.internal/visits password=hunter2"
        }
    )

    _, job_id = queue.enqueue(leaky)

    job = queue.get(job_id or "")
    assert job is not None and "[REDACTED:" in job.event.reason and "SuperSecretPw" not in job.event.reason
    assert queue.enqueue(leaky)[0] == EnqueueOutcome.DUPLICATE


def test_completed_nodes_and_the_result_are_logged_with_the_worker_that_ran_them(
    make_store: StoreFactory,
) -> None:
    queue = make_store()
    queue.enqueue(stored_alarm("m1"))
    job = queue.claim()
    assert job is not None

    queue.record_node(job.id, "scope", "task-1")
    queue.record_node(job.id, "gather", "task-2")
    assert queue.complete(job, {"headline": "x"})
    assert not queue.complete(job, {"headline": "again"})  # the lease ended with the first result

    log = queue.execution_log(job.id)
    assert [(e.kind, e.name, e.task) for e in log] == [
        ("node", "scope", "task-1"),
        ("node", "gather", "task-2"),
        ("result", "result", job.lease),
    ]
    assert len({e.worker for e in log}) == 1 and log[0].worker.endswith(f":{__import__('os').getpid()}")
    assert queue.execution_log() == log


def _race(count: int, work: Callable[[int], Any]) -> list[Any]:
    """Run ``work(i)`` for i in range(count) on threads released at once; their results in order."""
    start = threading.Barrier(count)
    results: list[Any] = [None] * count
    errors: list[BaseException] = []

    def run(index: int) -> None:
        start.wait(30)
        try:
            results[index] = work(index)
        except BaseException as exc:  # reported to the test below
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert errors == []
    return results


def test_intakes_racing_on_one_alarm_open_one_investigation_and_record_each_delivery_once(
    make_store: StoreFactory,
) -> None:
    stores = [make_store() for _ in range(4)]
    # 4 intakes get 3 deliveries each of one alarm: every delivery twice, one re-fire each
    deliveries = [stored_alarm(f"m{i % 6}", minutes=i % 6) for i in range(12)]

    outcomes = _race(12, lambda i: stores[i % 4].enqueue(deliveries[i]))

    kinds = sorted(o.value for o, _ in outcomes)
    assert kinds == ["attached"] * 5 + ["created"] + ["duplicate"] * 6
    assert len({job_id for _, job_id in outcomes}) == 1
    [job] = stores[0].jobs()
    assert sorted(u.message_id for u in job.updates) == sorted(
        {f"m{i}" for i in range(6)} - {job.event.message_id}
    )


def test_workers_racing_to_claim_take_each_job_once(make_store: StoreFactory) -> None:
    stores = [make_store() for _ in range(4)]
    for index in range(8):
        stores[0].enqueue(stored_alarm(f"m{index}", name=f"alarm-{index}"))

    claimed = _race(4, lambda i: [job.id for job in iter(stores[i].claim, None)])

    every = [job_id for ids in claimed for job_id in ids]
    assert len(every) == 8 and len(set(every)) == 8


def test_a_released_job_is_due_again_at_once_without_spending_an_attempt(make_store: StoreFactory) -> None:
    clock = FakeClock()
    queue = make_store(clock, lease_seconds=30)
    queue.enqueue(stored_alarm("m1"))
    job = queue.claim()
    assert job is not None and job.attempts == 1

    assert queue.release(job)
    assert not queue.release(job)  # the lease went with the first release
    again = queue.claim()

    assert again is not None and again.id == job.id and again.attempts == 1
    assert not queue.complete(job, {"headline": "late"}) and queue.complete(again, {"headline": "x"})
