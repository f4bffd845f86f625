"""Celery over a real Redis on loopback: the same worker code, exactly one investigation per job."""

from __future__ import annotations

import logging
import random
import threading
import uuid
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from agent.service.dispatch import CeleryDispatch, celery_app, queue_url, register_task
from agent.service.payloads import AlarmEvent, AlarmSource, AlarmStatus
from agent.service.queue import InvestigationQueue, JobStatus
from agent.service.testing.serve_process import listening
from agent.service.testing.wait import eventually
from agent.service.worker import Worker
from mcp_server.errors import SleuthError

REDIS = ("127.0.0.1", 6379)
REDIS_DB = 13  # apart from anything else on the machine's Redis


@pytest.fixture(autouse=True)
def _logging_left_as_found() -> Iterator[None]:
    """Celery's test worker configures logging for the whole process (root handlers, disabled
    loggers); later tests that read log records through caplog must find it as it was."""
    loggers = [
        logging.getLogger(),
        *(
            logger
            for logger in logging.Logger.manager.loggerDict.values()
            if isinstance(logger, logging.Logger)
        ),
    ]
    state = [
        (logger, logger.disabled, logger.propagate, logger.level, list(logger.handlers)) for logger in loggers
    ]
    yield
    for logger, disabled, propagate, level, handlers in state:
        logger.disabled, logger.propagate, logger.level = disabled, propagate, level
        logger.handlers[:] = handlers
    known = {id(logger) for logger in loggers}
    for logger in list(logging.Logger.manager.loggerDict.values()):
        if isinstance(logger, logging.Logger) and id(logger) not in known:
            logger.handlers[:] = []


@pytest.fixture
def broker() -> Iterator[str]:
    pytest.importorskip("celery", reason="the scale extra (Celery) is not installed: pip install '.[scale]'")
    if not listening(*REDIS):
        pytest.skip("no Redis on 127.0.0.1:6379: start redis-server to run the Celery tests")
    url = f"redis://{REDIS[0]}:{REDIS[1]}/{REDIS_DB}"
    yield url
    import redis

    redis.Redis(host=REDIS[0], port=REDIS[1], db=REDIS_DB).flushdb()


def _event(index: int) -> AlarmEvent:
    return AlarmEvent(
        source=AlarmSource.SNS,
        message_id=f"m{index}",
        alarm_name=f"alarm-{index}",
        status=AlarmStatus.FIRING,
        time=datetime(2026, 1, 1, tzinfo=UTC),
    )


def test_sleuth_queue_names_the_broker_and_rejects_anything_else() -> None:
    assert queue_url({}) is None and queue_url({"SLEUTH_QUEUE": "sqlite"}) is None
    assert queue_url({"SLEUTH_QUEUE": "redis://h:6379/0"}) == "redis://h:6379/0"
    assert queue_url({"SLEUTH_QUEUE": "sqs://"}) == "sqs://"
    with pytest.raises(SleuthError, match="SLEUTH_QUEUE='amqp://x'"):
        queue_url({"SLEUTH_QUEUE": "amqp://x"})


def test_celery_apps_acknowledge_late_and_keep_tasks_of_a_killed_worker() -> None:
    pytest.importorskip("celery", reason="the scale extra (Celery) is not installed")
    app = celery_app("sqs://", visibility_timeout=120)
    assert app.conf.task_acks_late and app.conf.task_reject_on_worker_lost
    assert app.conf.worker_prefetch_multiplier == 1
    assert app.conf.broker_transport_options["visibility_timeout"] == 120


def test_duplicated_tasks_on_redis_never_start_a_second_investigation(tmp_path: Path, broker: str) -> None:
    from celery.contrib.testing.worker import start_worker

    store = InvestigationQueue(tmp_path / "q.sqlite", lease_seconds=30, rng=random.Random(0))
    ran: Counter[str] = Counter()
    lock = threading.Lock()

    def investigate(job_id: str, event: AlarmEvent, progress: Any) -> dict[str, Any]:
        with lock:
            ran[job_id] += 1
        return {"headline": event.alarm_name}

    name = f"sleuth-test-{uuid.uuid4().hex[:8]}"
    app = celery_app(broker, queue=name)
    register_task(app, Worker(store, investigate).run_once)
    dispatch = CeleryDispatch(app, queue=name)
    for index in range(20):
        store.enqueue(_event(index))
        dispatch.wake()
        dispatch.wake()  # a duplicated delivery of the same wake-up
        if index % 5 == 0:
            store.enqueue(_event(index))  # the same alarm again: deduplicated, no second job
    with start_worker(app, pool="threads", concurrency=3, perform_ping_check=False, queues=[name]):
        eventually(
            lambda: store.counts().get("done", 0) == 20, timeout=60, what="20 investigations done over Celery"
        )
    jobs = store.jobs()
    assert len(jobs) == 20 and all(job.status == JobStatus.DONE for job in jobs)
    assert sorted(ran.values()) == [1] * 20
    assert {job.result["headline"] for job in jobs if job.result} == {f"alarm-{i}" for i in range(20)}
