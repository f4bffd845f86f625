"""The durable investigation queue (SQLite): nothing accepted is lost, nothing is run twice.

An alarm is written here before the HTTP 2xx. Deduplication happens in the same transaction:
by delivery (SNS redelivers with the same MessageId) and by alarm identity + window (the same
alarm, for the same labels or dimensions, firing again soon after attaches to the open
investigation). Workers claim jobs under a short lease that they renew while they live; a worker
that dies stops renewing, and the job is claimed again once the lease runs out. After
``max_attempts`` failures a job moves to the dead-letter state until redriven.

This is the embedded :class:`~agent.service.jobs.JobStore`; see that module for the contract.
"""

from __future__ import annotations

import json
import random
import sqlite3
import threading
import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

from agent.service.job_rules import (
    DEFAULT_DEDUP_WINDOW,
    DEFAULT_LEASE_SECONDS,
    OPEN_JOB_CANDIDATES,
    after_failure,
    job_from_row,
    lost_worker_error,
    new_job_id,
    new_lease_token,
    open_job_among,
    stored_event,
    worker_name,
)
from agent.service.jobs import EnqueueOutcome, Job, JobStatus, LogEntry, Verdict
from agent.service.payloads import AlarmEvent, AlarmStatus

__all__ = ["DEFAULT_LEASE_SECONDS", "EnqueueOutcome", "InvestigationQueue", "Job", "JobStatus", "Verdict"]

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
CREATE TABLE IF NOT EXISTS held_resolutions (
    message_id TEXT PRIMARY KEY,
    identity TEXT NOT NULL,
    resolved_at TEXT NOT NULL,
    event TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS held_identity ON held_resolutions (identity, resolved_at);
CREATE TABLE IF NOT EXISTS feedback (
    job_id TEXT NOT NULL,
    user_id TEXT NOT NULL,
    vote INTEGER NOT NULL,
    at REAL NOT NULL,
    PRIMARY KEY (job_id, user_id)
);
CREATE TABLE IF NOT EXISTS verdicts (
    job_id TEXT NOT NULL,
    hypothesis TEXT NOT NULL,
    accepted INTEGER NOT NULL,
    user_id TEXT NOT NULL,
    at REAL NOT NULL,
    PRIMARY KEY (job_id, hypothesis)
);
CREATE TABLE IF NOT EXISTS execution_log (
    job_id TEXT NOT NULL,
    kind TEXT NOT NULL,
    name TEXT NOT NULL,
    task TEXT NOT NULL,
    worker TEXT NOT NULL,
    at REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS execution_log_job ON execution_log (job_id, at);
"""

# Columns added after the first release: queues written by it are upgraded in place.
_ADDED_COLUMNS = {"identity": "TEXT", "lease_token": "TEXT", "claimed_at": "REAL"}

Clock = Callable[[], float]


class InvestigationQueue:
    def __init__(
        self,
        path: Path | str,
        *,
        dedup_window: timedelta = DEFAULT_DEDUP_WINDOW,
        max_attempts: int = 3,
        lease_seconds: float = DEFAULT_LEASE_SECONDS,
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
        self._migrate()

    def _connect(self) -> sqlite3.Connection:
        con: sqlite3.Connection | None = getattr(self._local, "con", None)
        if con is None:
            con = sqlite3.connect(self.path, timeout=30.0, isolation_level=None, check_same_thread=False)
            con.execute("PRAGMA journal_mode=WAL")
            con.execute("PRAGMA synchronous=FULL")  # an acknowledged alarm survives power loss
            con.row_factory = sqlite3.Row
            self._local.con = con
        return con

    def _migrate(self) -> None:
        con = self._connect()
        con.executescript(_SCHEMA)
        present = {row["name"] for row in con.execute("PRAGMA table_info(jobs)")}
        for column, kind in _ADDED_COLUMNS.items():
            if column not in present:
                con.execute(f"ALTER TABLE jobs ADD COLUMN {column} {kind}")
        for row in con.execute("SELECT id, event FROM jobs WHERE identity IS NULL").fetchall():
            identity = AlarmEvent.model_validate_json(row["event"]).identity
            con.execute("UPDATE jobs SET identity = ? WHERE id = ?", (identity, row["id"]))
        con.execute("CREATE INDEX IF NOT EXISTS jobs_identity ON jobs (identity, fired_at)")

    def close(self) -> None:
        con = getattr(self._local, "con", None)
        if con is not None:
            con.close()
            self._local.con = None

    def _transaction(self) -> _Transaction:
        return _Transaction(self._connect())

    # --------------------------------------------------------------------------- intake

    def enqueue(self, event: AlarmEvent) -> tuple[EnqueueOutcome, str | None]:
        """Durably record one notification; returns what happened and the job it concerns.

        Alarm text is redacted before it is stored: a secret in an alarm's reason or labels must
        not sit in the queue's file (the message id, a dedup key, is kept as delivered)."""
        event = stored_event(event)
        now = self._clock()
        with self._transaction() as con:
            seen = con.execute(
                "SELECT job_id FROM deliveries WHERE message_id = ?", (event.message_id,)
            ).fetchone()
            if seen is not None:
                return EnqueueOutcome.DUPLICATE, seen["job_id"]
            outcome, job_id = self._place(con, event, now)
            con.execute(
                "INSERT INTO deliveries (message_id, job_id, outcome, received_at) VALUES (?, ?, ?, ?)",
                (event.message_id, job_id, outcome.value, now),
            )
        return outcome, job_id

    def _place(
        self, con: sqlite3.Connection, event: AlarmEvent, now: float
    ) -> tuple[EnqueueOutcome, str | None]:
        identity = event.identity
        open_job = self._open_job_for(con, event, identity)
        if event.status == AlarmStatus.FIRING:
            if open_job is not None:
                self._append_update(con, open_job, event, now)
                return EnqueueOutcome.ATTACHED, open_job
            job_id = new_job_id()
            con.execute(
                "INSERT INTO jobs (id, alarm_name, service, fired_at, status, next_attempt_at, event, created_at, "
                "updated_at, identity) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (job_id, event.alarm_name, event.service, event.time.isoformat(), JobStatus.QUEUED.value, now,
                 event.model_dump_json(), now, now, identity),
            )  # fmt: skip
            self._attach_held_resolutions(con, job_id, event, identity, now)
            return EnqueueOutcome.CREATED, job_id
        if event.status == AlarmStatus.RESOLVED:
            if open_job is not None:
                self._resolve(con, open_job, event, now)
                return EnqueueOutcome.ATTACHED, open_job
            con.execute(
                "INSERT INTO held_resolutions (message_id, identity, resolved_at, event) VALUES (?, ?, ?, ?)",
                (event.message_id, identity, event.time.isoformat(), event.model_dump_json()),
            )
            return EnqueueOutcome.HELD, None
        return EnqueueOutcome.IGNORED, None

    def _open_job_for(self, con: sqlite3.Connection, event: AlarmEvent, identity: str) -> str | None:
        """The latest job of the same alarm that fired within the window around this event."""
        rows = con.execute(
            "SELECT id, fired_at FROM jobs WHERE identity = ? ORDER BY fired_at DESC LIMIT ?",
            (identity, OPEN_JOB_CANDIDATES),
        ).fetchall()
        return open_job_among(event, ((row["id"], row["fired_at"]) for row in rows), self.dedup_window)

    def _attach_held_resolutions(
        self, con: sqlite3.Connection, job_id: str, event: AlarmEvent, identity: str, now: float
    ) -> None:
        """OKs that overtook their ALARM (out-of-order delivery) resolve the job they belong to."""
        rows = con.execute(
            "SELECT message_id, event FROM held_resolutions WHERE identity = ? AND resolved_at >= ? "
            "ORDER BY resolved_at",
            (identity, event.time.isoformat()),
        ).fetchall()
        for row in rows:
            self._resolve(con, job_id, AlarmEvent.model_validate_json(row["event"]), now)
            con.execute("DELETE FROM held_resolutions WHERE message_id = ?", (row["message_id"],))
            con.execute(
                "UPDATE deliveries SET job_id = ?, outcome = ? WHERE message_id = ?",
                (job_id, EnqueueOutcome.ATTACHED.value, row["message_id"]),
            )

    def _resolve(self, con: sqlite3.Connection, job_id: str, event: AlarmEvent, now: float) -> None:
        self._append_update(con, job_id, event, now)
        con.execute("UPDATE jobs SET resolved_at = ? WHERE id = ?", (event.time.isoformat(), job_id))

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
        now = self._clock()
        token = new_lease_token()
        with self._transaction() as con:
            while True:
                row = con.execute(
                    "SELECT id, status, attempts FROM jobs WHERE (status = ? AND next_attempt_at <= ?) "
                    "OR (status = ? AND lease_until < ?) ORDER BY next_attempt_at LIMIT 1",
                    (JobStatus.QUEUED.value, now, JobStatus.RUNNING.value, now),
                ).fetchone()
                if row is None:
                    return None
                if row["status"] == JobStatus.RUNNING.value and row["attempts"] >= self.max_attempts:
                    # Its workers died every time: a poison job goes to the DLQ instead of looping.
                    con.execute(
                        "UPDATE jobs SET status = ?, error = ?, lease_until = NULL, lease_token = NULL, "
                        "updated_at = ? WHERE id = ?",
                        (JobStatus.DEAD.value, lost_worker_error(row["attempts"]), now, row["id"]),
                    )
                    continue
                con.execute(
                    "UPDATE jobs SET status = ?, attempts = attempts + 1, lease_until = ?, lease_token = ?, "
                    "claimed_at = ?, updated_at = ? WHERE id = ?",
                    (JobStatus.RUNNING.value, now + self.lease_seconds, token, now, now, row["id"]),
                )
                break
        return self.get(row["id"])

    def renew(self, job: Job) -> bool:
        now = self._clock()
        cursor = self._connect().execute(
            "UPDATE jobs SET lease_until = ?, updated_at = ? WHERE id = ? AND status = ? AND lease_token = ?",
            (now + self.lease_seconds, now, job.id, JobStatus.RUNNING.value, job.lease),
        )
        return cursor.rowcount == 1

    def complete(self, job: Job, result: dict[str, Any]) -> bool:
        now = self._clock()
        with self._transaction() as con:
            cursor = con.execute(
                "UPDATE jobs SET status = ?, result = ?, error = NULL, lease_until = NULL, lease_token = NULL, "
                "updated_at = ? WHERE id = ? AND status = ? AND lease_token = ?",
                (JobStatus.DONE.value, json.dumps(result, default=str), now, job.id,
                 JobStatus.RUNNING.value, job.lease),
            )  # fmt: skip
            if cursor.rowcount != 1:
                return False
            self._log(con, job.id, "result", "result", job.lease or "", now)
        return True

    def fail(self, job: Job, error: str) -> JobStatus | None:
        """Record a failed attempt: retry later with exponential backoff and jitter, or dead-letter."""
        now = self._clock()
        status, due = after_failure(
            job.attempts, self.max_attempts, now, base=self.backoff_base, cap=self.backoff_cap, rng=self._rng
        )
        cursor = self._connect().execute(
            "UPDATE jobs SET status = ?, error = ?, next_attempt_at = ?, lease_until = NULL, lease_token = NULL, "
            "updated_at = ? WHERE id = ? AND status = ? AND lease_token = ?",
            (status.value, error, due, now, job.id, JobStatus.RUNNING.value, job.lease),
        )
        return status if cursor.rowcount == 1 else None

    # ------------------------------------------------------------------------------ reads

    def get(self, job_id: str) -> Job | None:
        row = self._connect().execute("SELECT * FROM jobs WHERE id = ?", (job_id,)).fetchone()
        return _job(row) if row is not None else None

    def jobs(self, status: JobStatus | None = None) -> list[Job]:
        con = self._connect()
        if status is None:
            rows = con.execute("SELECT * FROM jobs ORDER BY created_at").fetchall()
        else:
            rows = con.execute(
                "SELECT * FROM jobs WHERE status = ? ORDER BY created_at", (status.value,)
            ).fetchall()
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
        where, args = ("status = ?", [JobStatus.DEAD.value])
        if job_id is not None:
            where, args = ("status = ? AND id = ?", [JobStatus.DEAD.value, job_id])
        cursor = self._connect().execute(
            f"UPDATE jobs SET status = ?, attempts = 0, next_attempt_at = ?, updated_at = ? WHERE {where}",
            (JobStatus.QUEUED.value, now, now, *args),
        )
        return cursor.rowcount

    # ------------------------------------------------------------------- people's feedback

    def record_feedback(self, job_id: str, user_id: str, vote: int) -> bool:
        cursor = self._connect().execute(
            "INSERT OR REPLACE INTO feedback (job_id, user_id, vote, at) "
            "SELECT ?, ?, ?, ? WHERE EXISTS (SELECT 1 FROM jobs WHERE id = ?)",
            (job_id, user_id, 1 if vote > 0 else -1, self._clock(), job_id),
        )
        return cursor.rowcount == 1

    def satisfaction(self) -> tuple[int, int]:
        """(thumbs up, total votes)."""
        row = self._connect().execute("SELECT sum(vote > 0), count(*) FROM feedback").fetchone()
        return int(row[0] or 0), int(row[1] or 0)

    def record_verdict(self, job_id: str, hypothesis: str, accepted: bool, user_id: str) -> bool:
        cursor = self._connect().execute(
            "INSERT OR REPLACE INTO verdicts (job_id, hypothesis, accepted, user_id, at) "
            "SELECT ?, ?, ?, ?, ? WHERE EXISTS (SELECT 1 FROM jobs WHERE id = ?)",
            (job_id, hypothesis, int(accepted), user_id, self._clock(), job_id),
        )
        return cursor.rowcount == 1

    def verdicts(self, job_id: str) -> list[Verdict]:
        rows = (
            self._connect()
            .execute(
                "SELECT hypothesis, accepted, user_id, at FROM verdicts WHERE job_id = ? ORDER BY at",
                (job_id,),
            )
            .fetchall()
        )
        return [Verdict(r["hypothesis"], bool(r["accepted"]), r["user_id"], float(r["at"])) for r in rows]

    def update_result(self, job_id: str, result: dict[str, Any]) -> None:
        self._connect().execute(
            "UPDATE jobs SET result = ?, updated_at = ? WHERE id = ?",
            (json.dumps(result, default=str), self._clock(), job_id),
        )

    # ----------------------------------------------------------------------- execution log

    def record_node(self, job_id: str, node: str, task: str) -> None:
        self._log(self._connect(), job_id, "node", node, task, self._clock())

    @staticmethod
    def _log(con: sqlite3.Connection, job_id: str, kind: str, name: str, task: str, now: float) -> None:
        con.execute(
            "INSERT INTO execution_log (job_id, kind, name, task, worker, at) VALUES (?, ?, ?, ?, ?, ?)",
            (job_id, kind, name, task, worker_name(), now),
        )

    def execution_log(self, job_id: str | None = None) -> list[LogEntry]:
        where, args = ("WHERE job_id = ?", (job_id,)) if job_id is not None else ("", ())
        rows = self._connect().execute(
            f"SELECT kind, name, task, worker, at FROM execution_log {where} ORDER BY at, rowid", args
        )
        return [LogEntry(r["kind"], r["name"], r["task"], r["worker"], float(r["at"])) for r in rows]


class _Transaction:
    """``BEGIN IMMEDIATE`` ... ``COMMIT`` (``ROLLBACK`` on any exception)."""

    def __init__(self, con: sqlite3.Connection) -> None:
        self.con = con

    def __enter__(self) -> sqlite3.Connection:
        self.con.execute("BEGIN IMMEDIATE")
        return self.con

    def __exit__(self, kind: object, value: object, traceback: object) -> None:
        self.con.execute("ROLLBACK" if kind is not None else "COMMIT")


def _job(row: sqlite3.Row) -> Job:
    return job_from_row(dict(zip(row.keys(), row, strict=True)))
