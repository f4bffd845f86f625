"""The PostgreSQL job store: N intakes and M workers on any hosts share one source of truth.

Selected by ``SLEUTH_DATABASE_URL=postgresql://…``; the same contract as the embedded SQLite
:class:`~agent.service.queue.InvestigationQueue` (see :mod:`agent.service.jobs`), with the same
rules (:mod:`agent.service.job_rules`). What SQLite gets from one writer at a time, this store gets
from PostgreSQL's own guarantees, so it holds across processes and hosts:

- one delivery, one record: ``deliveries.message_id`` is the primary key and a delivery is
  inserted with ``ON CONFLICT DO NOTHING``; the loser of a race sees the winner's row;
- one alarm, one open investigation: notifications of one alarm identity are serialised by a
  transaction-scoped advisory lock on the identity, so two intakes never both open a job for it;
- one claim per job: ``SELECT … FOR UPDATE SKIP LOCKED``, then a lease with a fresh token;
- one result: ``complete`` updates only the row still leased under its token, and logs the result
  in the same transaction.

Tables live in the first schema of the connection's ``search_path`` (``?options=-csearch_path=x``).
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

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
from mcp_server.errors import SleuthError

DATABASE_URL_ENV = "SLEUTH_DATABASE_URL"
POSTGRES_SCHEMES = ("postgresql://", "postgres://")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS jobs (
    id TEXT PRIMARY KEY,
    alarm_name TEXT NOT NULL,
    service TEXT,
    identity TEXT NOT NULL,
    fired_at TEXT NOT NULL,
    status TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at DOUBLE PRECISION NOT NULL,
    lease_until DOUBLE PRECISION,
    lease_token TEXT,
    claimed_at DOUBLE PRECISION,
    event TEXT NOT NULL,
    updates JSONB NOT NULL DEFAULT '[]',
    resolved_at TEXT,
    result JSONB,
    error TEXT,
    created_at DOUBLE PRECISION NOT NULL,
    updated_at DOUBLE PRECISION NOT NULL
);
CREATE INDEX IF NOT EXISTS jobs_identity ON jobs (identity, fired_at);
CREATE INDEX IF NOT EXISTS jobs_due ON jobs (status, next_attempt_at);
CREATE TABLE IF NOT EXISTS deliveries (
    message_id TEXT PRIMARY KEY,
    job_id TEXT,
    outcome TEXT NOT NULL,
    received_at DOUBLE PRECISION NOT NULL
);
CREATE TABLE IF NOT EXISTS held_resolutions (
    message_id TEXT PRIMARY KEY,
    identity TEXT NOT NULL,
    resolved_at TEXT NOT NULL,
    event TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS held_identity ON held_resolutions (identity, resolved_at);
CREATE TABLE IF NOT EXISTS feedback (
    job_id TEXT NOT NULL REFERENCES jobs (id),
    user_id TEXT NOT NULL,
    vote INTEGER NOT NULL,
    at DOUBLE PRECISION NOT NULL,
    PRIMARY KEY (job_id, user_id)
);
CREATE TABLE IF NOT EXISTS verdicts (
    job_id TEXT NOT NULL REFERENCES jobs (id),
    hypothesis TEXT NOT NULL,
    accepted BOOLEAN NOT NULL,
    user_id TEXT NOT NULL,
    at DOUBLE PRECISION NOT NULL,
    PRIMARY KEY (job_id, hypothesis)
);
CREATE TABLE IF NOT EXISTS execution_log (
    seq BIGSERIAL PRIMARY KEY,
    job_id TEXT NOT NULL,
    kind TEXT NOT NULL,
    name TEXT NOT NULL,
    task TEXT NOT NULL,
    worker TEXT NOT NULL,
    at DOUBLE PRECISION NOT NULL
);
CREATE INDEX IF NOT EXISTS execution_log_job ON execution_log (job_id, seq);
"""

Clock = Callable[[], float]


def database_url(env: Mapping[str, str]) -> str | None:
    """``SLEUTH_DATABASE_URL`` when it names PostgreSQL; None when unset (the embedded store)."""
    value = env.get(DATABASE_URL_ENV, "").strip()
    if not value:
        return None
    if not value.startswith(POSTGRES_SCHEMES):
        raise SleuthError(f"{DATABASE_URL_ENV}={_safe(value)!r}: expected postgresql://user@host:5432/db")
    return value


def _safe(url: str) -> str:
    """The URL without its password, for messages."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    return url.replace(f":{parts.password}@", ":***@", 1)


class PostgresJobStore:
    def __init__(
        self,
        url: str,
        *,
        dedup_window: timedelta = DEFAULT_DEDUP_WINDOW,
        max_attempts: int = 3,
        lease_seconds: float = DEFAULT_LEASE_SECONDS,
        backoff_base: float = 5.0,
        backoff_cap: float = 300.0,
        clock: Clock = time.time,
        rng: random.Random | None = None,
        pool_size: int = 8,
    ) -> None:
        try:
            import psycopg
            from psycopg.rows import dict_row
            from psycopg_pool import ConnectionPool
        except ImportError:
            raise SleuthError(
                f"{DATABASE_URL_ENV} names PostgreSQL but psycopg is not installed: pip install 'sleuth[scale]'"
            ) from None
        self.url = url
        self.dedup_window = dedup_window
        self.max_attempts = max_attempts
        self.lease_seconds = lease_seconds
        self.backoff_base = backoff_base
        self.backoff_cap = backoff_cap
        self._clock = clock
        self._rng = rng or random.Random()
        self._pool = ConnectionPool(
            url,
            min_size=1,
            max_size=pool_size,
            kwargs={"row_factory": dict_row, "prepare_threshold": None, "application_name": _application()},
            open=False,
            name="sleuth-jobs",
        )
        try:  # one direct connection first: an unreachable server fails now, in one line
            with psycopg.connect(url, application_name=_application()) as con:
                con.execute("SELECT pg_advisory_xact_lock(hashtextextended('sleuth-jobs-schema', 0))")
                con.execute(_SCHEMA)  # processes starting together create the tables once
        except psycopg.Error as exc:
            lines = str(exc).strip().splitlines()
            raise SleuthError(
                f"{DATABASE_URL_ENV}={_safe(url)}: cannot open the job store: {lines[0] if lines else exc}"
            ) from None
        self._pool.open()

    def close(self) -> None:
        self._pool.close()

    @contextmanager
    def _transaction(self) -> Iterator[Any]:
        """One connection, one transaction: committed on exit, rolled back on an exception."""
        with self._pool.connection() as con:
            yield con

    # --------------------------------------------------------------------------- intake

    def enqueue(self, event: AlarmEvent) -> tuple[EnqueueOutcome, str | None]:
        event = stored_event(event)
        now = self._clock()
        with self._transaction() as con:
            # Every notification of one alarm waits here for the others: placing is serialised
            # per identity across all intakes, and different alarms never wait for each other.
            con.execute("SELECT pg_advisory_xact_lock(hashtextextended(%s, 0))", (event.identity,))
            claimed = con.execute(
                "INSERT INTO deliveries (message_id, outcome, received_at) VALUES (%s, 'pending', %s) "
                "ON CONFLICT (message_id) DO NOTHING RETURNING message_id",
                (event.message_id, now),
            ).fetchone()
            if claimed is None:
                seen = con.execute(
                    "SELECT job_id FROM deliveries WHERE message_id = %s", (event.message_id,)
                ).fetchone()
                return EnqueueOutcome.DUPLICATE, seen["job_id"] if seen else None
            outcome, job_id = self._place(con, event, now)
            con.execute(
                "UPDATE deliveries SET job_id = %s, outcome = %s WHERE message_id = %s",
                (job_id, outcome.value, event.message_id),
            )
        return outcome, job_id

    def _place(self, con: Any, event: AlarmEvent, now: float) -> tuple[EnqueueOutcome, str | None]:
        identity = event.identity
        rows = con.execute(
            "SELECT id, fired_at FROM jobs WHERE identity = %s ORDER BY fired_at DESC LIMIT %s",
            (identity, OPEN_JOB_CANDIDATES),
        ).fetchall()
        open_job = open_job_among(event, ((r["id"], r["fired_at"]) for r in rows), self.dedup_window)
        if event.status == AlarmStatus.FIRING:
            if open_job is not None:
                self._append_update(con, open_job, event, now)
                return EnqueueOutcome.ATTACHED, open_job
            job_id = new_job_id()
            con.execute(
                "INSERT INTO jobs (id, alarm_name, service, identity, fired_at, status, next_attempt_at, event, "
                "created_at, updated_at) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
                (job_id, event.alarm_name, event.service, identity, event.time.isoformat(), JobStatus.QUEUED.value,
                 now, event.model_dump_json(), now, now),
            )  # fmt: skip
            self._attach_held_resolutions(con, job_id, event, identity, now)
            return EnqueueOutcome.CREATED, job_id
        if event.status == AlarmStatus.RESOLVED:
            if open_job is not None:
                self._resolve(con, open_job, event, now)
                return EnqueueOutcome.ATTACHED, open_job
            con.execute(
                "INSERT INTO held_resolutions (message_id, identity, resolved_at, event) VALUES (%s, %s, %s, %s)",
                (event.message_id, identity, event.time.isoformat(), event.model_dump_json()),
            )
            return EnqueueOutcome.HELD, None
        return EnqueueOutcome.IGNORED, None

    def _attach_held_resolutions(
        self, con: Any, job_id: str, event: AlarmEvent, identity: str, now: float
    ) -> None:
        """OKs that overtook their ALARM (out-of-order delivery) resolve the job they belong to."""
        rows = con.execute(
            "DELETE FROM held_resolutions WHERE identity = %s AND resolved_at >= %s RETURNING message_id, event, "
            "resolved_at",
            (identity, event.time.isoformat()),
        ).fetchall()
        for row in sorted(rows, key=lambda r: r["resolved_at"]):
            self._resolve(con, job_id, AlarmEvent.model_validate_json(row["event"]), now)
            con.execute(
                "UPDATE deliveries SET job_id = %s, outcome = %s WHERE message_id = %s",
                (job_id, EnqueueOutcome.ATTACHED.value, row["message_id"]),
            )

    def _resolve(self, con: Any, job_id: str, event: AlarmEvent, now: float) -> None:
        self._append_update(con, job_id, event, now)
        con.execute("UPDATE jobs SET resolved_at = %s WHERE id = %s", (event.time.isoformat(), job_id))

    @staticmethod
    def _append_update(con: Any, job_id: str, event: AlarmEvent, now: float) -> None:
        con.execute(
            "UPDATE jobs SET updates = updates || jsonb_build_array(%s::jsonb), updated_at = %s WHERE id = %s",
            (event.model_dump_json(), now, job_id),
        )

    # ---------------------------------------------------------------------------- workers

    def claim(self) -> Job | None:
        now = self._clock()
        token = new_lease_token()
        with self._transaction() as con:
            while True:
                row = con.execute(
                    "SELECT id, status, attempts FROM jobs WHERE (status = %s AND next_attempt_at <= %s) "
                    "OR (status = %s AND lease_until < %s) ORDER BY next_attempt_at LIMIT 1 "
                    "FOR UPDATE SKIP LOCKED",
                    (JobStatus.QUEUED.value, now, JobStatus.RUNNING.value, now),
                ).fetchone()
                if row is None:
                    return None
                if row["status"] == JobStatus.RUNNING.value and row["attempts"] >= self.max_attempts:
                    con.execute(
                        "UPDATE jobs SET status = %s, error = %s, lease_until = NULL, lease_token = NULL, "
                        "updated_at = %s WHERE id = %s",
                        (JobStatus.DEAD.value, lost_worker_error(row["attempts"]), now, row["id"]),
                    )
                    continue
                claimed = con.execute(
                    "UPDATE jobs SET status = %s, attempts = attempts + 1, lease_until = %s, lease_token = %s, "
                    "claimed_at = %s, updated_at = %s WHERE id = %s RETURNING *",
                    (JobStatus.RUNNING.value, now + self.lease_seconds, token, now, now, row["id"]),
                ).fetchone()
                return job_from_row(claimed)

    def renew(self, job: Job) -> bool:
        now = self._clock()
        with self._transaction() as con:
            cursor = con.execute(
                "UPDATE jobs SET lease_until = %s, updated_at = %s WHERE id = %s AND status = %s "
                "AND lease_token = %s",
                (now + self.lease_seconds, now, job.id, JobStatus.RUNNING.value, job.lease),
            )
            return cursor.rowcount == 1

    def complete(self, job: Job, result: dict[str, Any]) -> bool:
        from psycopg.types.json import Jsonb

        now = self._clock()
        with self._transaction() as con:
            cursor = con.execute(
                "UPDATE jobs SET status = %s, result = %s, error = NULL, lease_until = NULL, lease_token = NULL, "
                "updated_at = %s WHERE id = %s AND status = %s AND lease_token = %s",
                (JobStatus.DONE.value, Jsonb(result, dumps=_dumps), now, job.id, JobStatus.RUNNING.value,
                 job.lease),
            )  # fmt: skip
            if cursor.rowcount != 1:
                return False
            self._log(con, job.id, "result", "result", job.lease or "", now)
        return True

    def fail(self, job: Job, error: str) -> JobStatus | None:
        now = self._clock()
        status, due = after_failure(
            job.attempts, self.max_attempts, now, base=self.backoff_base, cap=self.backoff_cap, rng=self._rng
        )
        with self._transaction() as con:
            cursor = con.execute(
                "UPDATE jobs SET status = %s, error = %s, next_attempt_at = %s, lease_until = NULL, "
                "lease_token = NULL, updated_at = %s WHERE id = %s AND status = %s AND lease_token = %s",
                (status.value, error, due, now, job.id, JobStatus.RUNNING.value, job.lease),
            )
            return status if cursor.rowcount == 1 else None

    # ------------------------------------------------------------------------------ reads

    def get(self, job_id: str) -> Job | None:
        with self._transaction() as con:
            row = con.execute("SELECT * FROM jobs WHERE id = %s", (job_id,)).fetchone()
        return job_from_row(row) if row is not None else None

    def jobs(self, status: JobStatus | None = None) -> list[Job]:
        with self._transaction() as con:
            if status is None:
                rows = con.execute("SELECT * FROM jobs ORDER BY created_at, id").fetchall()
            else:
                rows = con.execute(
                    "SELECT * FROM jobs WHERE status = %s ORDER BY created_at, id", (status.value,)
                ).fetchall()
        return [job_from_row(row) for row in rows]

    def counts(self) -> dict[str, int]:
        with self._transaction() as con:
            rows = con.execute("SELECT status, count(*) AS n FROM jobs GROUP BY status").fetchall()
        return {row["status"]: int(row["n"]) for row in rows}

    def delivery_count(self) -> int:
        with self._transaction() as con:
            return int(con.execute("SELECT count(*) AS n FROM deliveries").fetchone()["n"])

    # -------------------------------------------------------------------------------- DLQ

    def dead_letters(self) -> list[Job]:
        return self.jobs(JobStatus.DEAD)

    def redrive(self, job_id: str | None = None) -> int:
        now = self._clock()
        where, args = "status = %s", [JobStatus.DEAD.value]
        if job_id is not None:
            where, args = "status = %s AND id = %s", [JobStatus.DEAD.value, job_id]
        with self._transaction() as con:
            cursor = con.execute(
                f"UPDATE jobs SET status = %s, attempts = 0, next_attempt_at = %s, updated_at = %s WHERE {where}",
                (JobStatus.QUEUED.value, now, now, *args),
            )
            return cursor.rowcount

    # ------------------------------------------------------------------- people's feedback

    def record_feedback(self, job_id: str, user_id: str, vote: int) -> bool:
        with self._transaction() as con:
            cursor = con.execute(
                "INSERT INTO feedback (job_id, user_id, vote, at) SELECT %s, %s, %s, %s "
                "WHERE EXISTS (SELECT 1 FROM jobs WHERE id = %s) "
                "ON CONFLICT (job_id, user_id) DO UPDATE SET vote = excluded.vote, at = excluded.at",
                (job_id, user_id, 1 if vote > 0 else -1, self._clock(), job_id),
            )
            return cursor.rowcount == 1

    def satisfaction(self) -> tuple[int, int]:
        with self._transaction() as con:
            row = con.execute(
                "SELECT count(*) FILTER (WHERE vote > 0) AS up, count(*) AS n FROM feedback"
            ).fetchone()
        return int(row["up"]), int(row["n"])

    def record_verdict(self, job_id: str, hypothesis: str, accepted: bool, user_id: str) -> bool:
        with self._transaction() as con:
            cursor = con.execute(
                "INSERT INTO verdicts (job_id, hypothesis, accepted, user_id, at) SELECT %s, %s, %s, %s, %s "
                "WHERE EXISTS (SELECT 1 FROM jobs WHERE id = %s) ON CONFLICT (job_id, hypothesis) DO UPDATE "
                "SET accepted = excluded.accepted, user_id = excluded.user_id, at = excluded.at",
                (job_id, hypothesis, accepted, user_id, self._clock(), job_id),
            )
            return cursor.rowcount == 1

    def verdicts(self, job_id: str) -> list[Verdict]:
        with self._transaction() as con:
            rows = con.execute(
                "SELECT hypothesis, accepted, user_id, at FROM verdicts WHERE job_id = %s ORDER BY at",
                (job_id,),
            ).fetchall()
        return [Verdict(r["hypothesis"], bool(r["accepted"]), r["user_id"], float(r["at"])) for r in rows]

    def update_result(self, job_id: str, result: dict[str, Any]) -> None:
        from psycopg.types.json import Jsonb

        with self._transaction() as con:
            con.execute(
                "UPDATE jobs SET result = %s, updated_at = %s WHERE id = %s",
                (Jsonb(result, dumps=_dumps), self._clock(), job_id),
            )

    # ----------------------------------------------------------------------- execution log

    def record_node(self, job_id: str, node: str, task: str) -> None:
        with self._transaction() as con:
            self._log(con, job_id, "node", node, task, self._clock())

    @staticmethod
    def _log(con: Any, job_id: str, kind: str, name: str, task: str, now: float) -> None:
        con.execute(
            "INSERT INTO execution_log (job_id, kind, name, task, worker, at) VALUES (%s, %s, %s, %s, %s, %s)",
            (job_id, kind, name, task, worker_name(), now),
        )

    def execution_log(self, job_id: str | None = None) -> list[LogEntry]:
        where, args = ("WHERE job_id = %s", (job_id,)) if job_id is not None else ("", ())
        with self._transaction() as con:
            rows = con.execute(
                f"SELECT kind, name, task, worker, at FROM execution_log {where} ORDER BY seq", args
            ).fetchall()
        return [LogEntry(r["kind"], r["name"], r["task"], r["worker"], float(r["at"])) for r in rows]


def _application() -> str:
    """How this process shows in ``pg_stat_activity``: who holds which connection."""
    return f"sleuth jobs {worker_name()}"[:63]


def _dumps(value: Any) -> str:
    import json

    return json.dumps(value, default=str)
