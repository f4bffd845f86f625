"""The rules every job store applies, as pure functions: one owner for SQLite and PostgreSQL.

What is stored of an alarm (redacted), which open job a notification belongs to (alarm identity
within the dedup window), when a failed job is tried again (exponential backoff with jitter) or
dead-lettered, and how a stored row reads back as a :class:`~agent.service.jobs.Job`. The stores
differ only in how they make these decisions atomic (``BEGIN IMMEDIATE`` in SQLite, row locks and
unique keys in PostgreSQL).
"""

from __future__ import annotations

import json
import os
import random
import socket
import uuid
from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta
from typing import Any

from agent.service.jobs import Job, JobStatus
from agent.service.payloads import AlarmEvent, AlarmStatus
from mcp_server.redaction import Redactor

DEFAULT_LEASE_SECONDS = 30.0
DEFAULT_DEDUP_WINDOW = timedelta(minutes=30)
OPEN_JOB_CANDIDATES = 5  # latest jobs of one identity looked at when placing a notification

_REDACTOR = Redactor()


def stored_event(event: AlarmEvent) -> AlarmEvent:
    """The alarm as a store keeps it: text redacted, the message id (a dedup key) as delivered."""
    return _REDACTOR.model(event).model_copy(update={"message_id": event.message_id})


def new_job_id() -> str:
    return uuid.uuid4().hex[:12]


def new_lease_token() -> str:
    return uuid.uuid4().hex


def worker_name() -> str:
    """Who records an execution-log entry: this host and process."""
    return f"{socket.gethostname()}:{os.getpid()}"


def open_job_among(event: AlarmEvent, candidates: Iterable[tuple[str, str]], window: timedelta) -> str | None:
    """The job (``(id, fired_at iso)``, latest first) this notification belongs to: one that fired
    within the window around it, or, for a resolution, any that fired before it."""
    for job_id, fired_at in candidates:
        fired = datetime.fromisoformat(fired_at)
        if abs(event.time - fired) <= window or (
            event.status == AlarmStatus.RESOLVED and event.time >= fired
        ):
            return str(job_id)
    return None


def after_failure(
    attempts: int, max_attempts: int, now: float, *, base: float, cap: float, rng: random.Random
) -> tuple[JobStatus, float]:
    """Where a failed attempt leaves its job: queued again after a jittered backoff, or dead."""
    if attempts >= max_attempts:
        return JobStatus.DEAD, now
    delay = min(cap, base * 2 ** (attempts - 1))
    return JobStatus.QUEUED, now + rng.uniform(delay / 2, delay)


def lost_worker_error(attempts: int) -> str:
    """Why a job whose workers died every time went to the DLQ instead of looping."""
    return f"worker lost {attempts} times (lease expired)"


def _json(value: Any) -> Any:
    return json.loads(value) if isinstance(value, str | bytes) else value


def job_from_row(row: Mapping[str, Any]) -> Job:
    """A stored job (SQLite keeps JSON as text, PostgreSQL as jsonb: both read here)."""
    result = _json(row["result"]) if row["result"] else None
    return Job(
        id=row["id"],
        alarm_name=row["alarm_name"],
        service=row["service"],
        status=JobStatus(row["status"]),
        attempts=int(row["attempts"]),
        event=AlarmEvent.model_validate_json(row["event"]),
        updates=[AlarmEvent.model_validate(u) for u in _json(row["updates"])],
        resolved_at=row["resolved_at"],
        result=result,
        error=row["error"],
        lease=row["lease_token"],
        lease_until=row["lease_until"],
        claimed_at=row["claimed_at"],
    )
