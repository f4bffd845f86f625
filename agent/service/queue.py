"""The durable investigation queue (SQLite): nothing accepted is lost, nothing is run twice.

An alarm is written here before the HTTP 2xx. Deduplication happens in the same transaction:
by delivery (SNS redelivers with the same MessageId) and by alarm + window (the same alarm
firing again soon after attaches to the open investigation). Workers claim jobs under a lease;
a worker that dies leaves a lease that expires, and the job is claimed again. After
``max_attempts`` failures a job moves to the dead-letter state until redriven.
"""

from __future__ import annotations

import json
import random
import sqlite3
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from pathlib import Path
from typing import Any

from agent.service.payloads import AlarmEvent, AlarmStatus

_SCHEMA = """
CREATE TABLE IF NOT EXISTS jobs (
    id TEXT PRIMARY KEY,
    alarm_name TEXT NOT NULL,
    service TEXT,
    fired_at TEXT NOT NULL,
    status TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at REAL NOT NULL,
    lease_until REAL,
    event TEXT NOT NULL,
    updates TEXT NOT NULL DEFAULT '[]',
    resolved_at TEXT,
    result TEXT,
    error TEXT,
    created_at REAL NOT NULL,
    updated_at REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS jobs_alarm ON jobs (alarm_name, fired_at);
CREATE INDEX IF NOT EXISTS jobs_status ON jobs (status, next_attempt_at);
CREATE TABLE IF NOT EXISTS deliveries (
    message_id TEXT PRIMARY KEY,
    job_id TEXT,
    outcome TEXT NOT NULL,
    received_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS feedback (
    job_id TEXT NOT NULL,
    user_id TEXT NOT NULL,
    vote INTEGER NOT NULL,
    at REAL NOT NULL,
    PRIMARY KEY (job_id, user_id)
);
"""


class JobStatus(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    DEAD = "dead"


class EnqueueOutcome(StrEnum):
    CREATED = "created"  # a new investigation
    DUPLICATE = "duplicate"  # the same delivery again
    ATTACHED = "attached"  # the same alarm again within the window, or its resolution
    IGNORED = "ignored"  # not a firing transition and nothing to update


@dataclass(frozen=True)
class Job:
    id: str
    alarm_name: str
    service: str | None
    status: JobStatus
    attempts: int
    event: AlarmEvent
    updates: list[AlarmEvent]
    resolved_at: str | None
    result: dict[str, Any] | None
    error: str | None


Clock = Callable[[], float]


class InvestigationQueue:
    def __init__(
        self,
        path: Path | str,
        *,
        dedup_window: timedelta = timedelta(minutes=30),
        max_attempts: int = 3,
        lease_seconds: float = 900.0,
        backoff_base: float = 5.0,
        backoff_cap: float = 300.0,
        clock: Clock = time.time,
        rng: random.Random | None = None,
    ) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.dedup_window = dedup_window
        self.max_attempts = max_attempts
        self.lease_seconds = lease_seconds
        self.backoff_base = backoff_base
        self.backoff_cap = backoff_cap
        self._clock = clock
        self._rng = rng or random.Random()
        self._local = threading.local()
        with self._connect() as con:
            con.executescript(_SCHEMA)

    def _connect(self) -> sqlite3.Connection:
        con: sqlite3.Connection | None = getattr(self._local, "con", None)
        if con is None:
            con = sqlite3.connect(self.path, timeout=30.0, isolation_level=None, check_same_thread=False)
            con.execute("PRAGMA journal_mode=WAL")
            con.execute("PRAGMA synchronous=FULL")  # an acknowledged alarm survives power loss
            con.row_factory = sqlite3.Row
            self._local.con = con
        return con

    def close(self) -> None:
        con = getattr(self._local, "con", None)
        if con is not None:
            con.close()
            self._local.con = None

    # --------------------------------------------------------------------------- intake

    def enqueue(self, event: AlarmEvent) -> tuple[EnqueueOutcome, str | None]:
        """Durably record one notification; returns what happened and the job it concerns."""
        con = self._connect()
        now = self._clock()
        con.execute("BEGIN IMMEDIATE")
        try:
            seen = con.execute(
                "SELECT job_id FROM deliveries WHERE message_id = ?", (event.message_id,)
            ).fetchone()
            if seen is not None:
                con.execute("COMMIT")
                return EnqueueOutcome.DUPLICATE, seen["job_id"]
            outcome, job_id = self._place(con, event, now)
            con.execute(
                "INSERT INTO deliveries (message_id, job_id, outcome, received_at) VALUES (?, ?, ?, ?)",
                (event.message_id, job_id, outcome.value, now),
            )
            con.execute("COMMIT")
        except BaseException:
            con.execute("ROLLBACK")
            raise
        return outcome, job_id

    def _place(
        self, con: sqlite3.Connection, event: AlarmEvent, now: float
    ) -> tuple[EnqueueOutcome, str | None]:
        open_job = self._open_job_for(con, event)
        if event.status == AlarmStatus.FIRING:
            if open_job is not None:
                self._append_update(con, open_job, event, now)
                return EnqueueOutcome.ATTACHED, open_job
            job_id = uuid.uuid4().hex[:12]
            con.execute(
                "INSERT INTO jobs (id, alarm_name, service, fired_at, status, next_attempt_at, event, created_at, "
                "updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (job_id, event.alarm_name, event.service, event.time.isoformat(), JobStatus.QUEUED.value, now,
                 event.model_dump_json(), now, now),
            )  # fmt: skip
            return EnqueueOutcome.CREATED, job_id
        if event.status == AlarmStatus.RESOLVED and open_job is not None:
            self._append_update(con, open_job, event, now)
            con.execute("UPDATE jobs SET resolved_at = ? WHERE id = ?", (event.time.isoformat(), open_job))
            return EnqueueOutcome.ATTACHED, open_job
        return EnqueueOutcome.IGNORED, None

    def _open_job_for(self, con: sqlite3.Connection, event: AlarmEvent) -> str | None:
        """The latest job of the same alarm that fired within the window around this event."""
        rows = con.execute(
            "SELECT id, fired_at FROM jobs WHERE alarm_name = ? ORDER BY fired_at DESC LIMIT 5",
            (event.alarm_name,),
        ).fetchall()
        for row in rows:
            fired = datetime.fromisoformat(row["fired_at"])
            if abs(event.time - fired) <= self.dedup_window or (
                event.status == AlarmStatus.RESOLVED and event.time >= fired
            ):
                return str(row["id"])
        return None

    @staticmethod
    def _append_update(con: sqlite3.Connection, job_id: str, event: AlarmEvent, now: float) -> None:
        row = con.execute("SELECT updates FROM jobs WHERE id = ?", (job_id,)).fetchone()
        updates = json.loads(row["updates"])
        updates.append(json.loads(event.model_dump_json()))
        con.execute(
            "UPDATE jobs SET updates = ?, updated_at = ? WHERE id = ?", (json.dumps(updates), now, job_id)
        )

    # ---------------------------------------------------------------------------- workers

    def claim(self) -> Job | None:
        """Take the next runnable job (queued and due, or running with an expired lease)."""
        con = self._connect()
        now = self._clock()
        con.execute("BEGIN IMMEDIATE")
        try:
            row = con.execute(
                "SELECT id FROM jobs WHERE (status = ? AND next_attempt_at <= ?) OR (status = ? AND lease_until < ?) "
                "ORDER BY next_attempt_at LIMIT 1",
                (JobStatus.QUEUED.value, now, JobStatus.RUNNING.value, now),
            ).fetchone()
            if row is None:
                con.execute("COMMIT")
                return None
            con.execute(
                "UPDATE jobs SET status = ?, attempts = attempts + 1, lease_until = ?, updated_at = ? WHERE id = ?",
                (JobStatus.RUNNING.value, now + self.lease_seconds, now, row["id"]),
            )
            con.execute("COMMIT")
        except BaseException:
            con.execute("ROLLBACK")
            raise
        job = self.get(row["id"])
        assert job is not None
        return job

    def complete(self, job_id: str, result: dict[str, Any]) -> None:
        self._connect().execute(
            "UPDATE jobs SET status = ?, result = ?, error = NULL, lease_until = NULL, updated_at = ? WHERE id = ?",
            (JobStatus.DONE.value, json.dumps(result, default=str), self._clock(), job_id),
        )

    def fail(self, job_id: str, error: str) -> JobStatus:
        """Record a failed attempt: retry later with exponential backoff and jitter, or dead-letter."""
        job = self.get(job_id)
        if job is None:
            raise KeyError(job_id)
        now = self._clock()
        if job.attempts >= self.max_attempts:
            status, due = JobStatus.DEAD, now
        else:
            delay = min(self.backoff_cap, self.backoff_base * 2 ** (job.attempts - 1))
            status, due = JobStatus.QUEUED, now + self._rng.uniform(delay / 2, delay)
        self._connect().execute(
            "UPDATE jobs SET status = ?, error = ?, next_attempt_at = ?, lease_until = NULL, updated_at = ? "
            "WHERE id = ?",
            (status.value, error, due, now, job_id),
        )
        return status

    # ------------------------------------------------------------------------------ reads

    def get(self, job_id: str) -> Job | None:
        row = self._connect().execute("SELECT * FROM jobs WHERE id = ?", (job_id,)).fetchone()
        return _job(row) if row is not None else None

    def jobs(self, status: JobStatus | None = None) -> list[Job]:
        if status is None:
            rows = self._connect().execute("SELECT * FROM jobs ORDER BY created_at").fetchall()
        else:
            rows = (
                self._connect()
                .execute("SELECT * FROM jobs WHERE status = ? ORDER BY created_at", (status.value,))
                .fetchall()
            )
        return [_job(row) for row in rows]

    def counts(self) -> dict[str, int]:
        rows = self._connect().execute("SELECT status, count(*) AS n FROM jobs GROUP BY status").fetchall()
        return {row["status"]: row["n"] for row in rows}

    def delivery_count(self) -> int:
        return int(self._connect().execute("SELECT count(*) FROM deliveries").fetchone()[0])

    # -------------------------------------------------------------------------------- DLQ

    def dead_letters(self) -> list[Job]:
        return self.jobs(JobStatus.DEAD)

    def redrive(self, job_id: str | None = None) -> int:
        """Requeue dead jobs (one, or all). Investigations are idempotent, so this is safe."""
        now = self._clock()
        if job_id is None:
            cursor = self._connect().execute(
                "UPDATE jobs SET status = ?, attempts = 0, next_attempt_at = ?, updated_at = ? WHERE status = ?",
                (JobStatus.QUEUED.value, now, now, JobStatus.DEAD.value),
            )
        else:
            cursor = self._connect().execute(
                "UPDATE jobs SET status = ?, attempts = 0, next_attempt_at = ?, updated_at = ? "
                "WHERE status = ? AND id = ?",
                (JobStatus.QUEUED.value, now, now, JobStatus.DEAD.value, job_id),
            )
        return cursor.rowcount

    # --------------------------------------------------------------------------- feedback

    def record_feedback(self, job_id: str, user_id: str, vote: int) -> None:
        self._connect().execute(
            "INSERT OR REPLACE INTO feedback (job_id, user_id, vote, at) VALUES (?, ?, ?, ?)",
            (job_id, user_id, 1 if vote > 0 else -1, self._clock()),
        )

    def satisfaction(self) -> tuple[int, int]:
        """(thumbs up, total votes)."""
        row = self._connect().execute("SELECT sum(vote > 0), count(*) FROM feedback").fetchone()
        return int(row[0] or 0), int(row[1] or 0)


def _job(row: sqlite3.Row) -> Job:
    return Job(
        id=row["id"],
        alarm_name=row["alarm_name"],
        service=row["service"],
        status=JobStatus(row["status"]),
        attempts=int(row["attempts"]),
        event=AlarmEvent.model_validate_json(row["event"]),
        updates=[AlarmEvent.model_validate(u) for u in json.loads(row["updates"])],
        resolved_at=row["resolved_at"],
        result=json.loads(row["result"]) if row["result"] else None,
        error=row["error"],
    )
