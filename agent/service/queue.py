"""The durable investigation queue (SQLite): nothing accepted is lost, nothing is run twice.

An alarm is written here before the HTTP 2xx. Deduplication happens in the same transaction:
by delivery (SNS redelivers with the same MessageId) and by alarm identity + window (the same
alarm, for the same labels or dimensions, firing again soon after attaches to the open
investigation). Workers claim jobs under a short lease that they renew while they live; a worker
that dies stops renewing, and the job is claimed again once the lease runs out. After
``max_attempts`` failures a job moves to the dead-letter state until redriven.

This is the embedded :class:`~agent.service.jobs.JobStore` (see that module for the contract);
the logic it shares with the PostgreSQL store is :class:`~agent.service.sql_jobs.SqlJobStore`.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from contextlib import AbstractContextManager, nullcontext
from pathlib import Path
from typing import Any, Unpack

from agent.service.job_rules import DEFAULT_LEASE_SECONDS
from agent.service.jobs import EnqueueOutcome, Job, JobStatus, Verdict
from agent.service.payloads import AlarmEvent
from agent.service.sql_jobs import Connection, SqlJobStore, StoreOptions

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
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    job_id TEXT NOT NULL,
    kind TEXT NOT NULL,
    name TEXT NOT NULL,
    task TEXT NOT NULL,
    worker TEXT NOT NULL,
    at REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS execution_log_job ON execution_log (job_id, seq);
"""

# Columns added after the first release: queues written by it are upgraded in place.
_ADDED_COLUMNS = {"identity": "TEXT", "lease_token": "TEXT", "claimed_at": "REAL"}


class InvestigationQueue(SqlJobStore):
    # BEGIN IMMEDIATE already makes every writer wait its turn: no per-alarm lock, no row skipping.
    _append_update_sql = (
        "UPDATE jobs SET updates = json_insert(updates, '$[#]', json(?)), updated_at = ? WHERE id = ?"
    )

    def __init__(self, path: Path | str, **options: Unpack[StoreOptions]) -> None:
        super().__init__(**options)
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
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

    def _transaction(self) -> AbstractContextManager[Connection]:
        return _Transaction(self._connect())

    def _connection(self) -> AbstractContextManager[Connection]:
        return nullcontext(self._connect())  # autocommit: each statement is its own transaction

    def _json(self, value: dict[str, Any]) -> str:
        return json.dumps(value, default=str)


class _Transaction:
    """``BEGIN IMMEDIATE`` ... ``COMMIT`` (``ROLLBACK`` on any exception)."""

    def __init__(self, con: sqlite3.Connection) -> None:
        self.con = con

    def __enter__(self) -> sqlite3.Connection:
        self.con.execute("BEGIN IMMEDIATE")
        return self.con

    def __exit__(self, kind: object, value: object, traceback: object) -> None:
        self.con.execute("ROLLBACK" if kind is not None else "COMMIT")
