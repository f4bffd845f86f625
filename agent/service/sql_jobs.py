"""The job store's logic, once, over the SQL that SQLite and PostgreSQL both speak.

:class:`SqlJobStore` implements the :class:`~agent.service.jobs.JobStore` contract; the SQLite
:class:`~agent.service.queue.InvestigationQueue` and the PostgreSQL
:class:`~agent.service.pgstore.PostgresJobStore` supply connections, their schema, and the few
places the dialects differ: how notifications of one alarm are serialised, how a claim skips
rows other workers hold, how JSON is appended and stored. Statements use ``?`` placeholders
(a PostgreSQL connection turns them into ``%s``); every row is read by column name.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from contextlib import AbstractContextManager
from datetime import timedelta
from typing import Any, Protocol, TypedDict, Unpack

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

Clock = Callable[[], float]


class Cursor(Protocol):
    @property
    def rowcount(self) -> int: ...

    def fetchone(self) -> Any: ...

    def fetchall(self) -> list[Any]: ...


class Connection(Protocol):
    def execute(self, sql: str, params: Any = (), /) -> Cursor: ...


class StoreOptions(TypedDict, total=False):
    dedup_window: timedelta  # the same alarm again within this attaches to the open job (30 min)
    max_attempts: int  # tries before the DLQ (3)
    lease_seconds: float  # a claim's lease, renewed while its worker lives (30 s)
    backoff_base: float  # first retry after 2.5 to 5 s, doubling ...
    backoff_cap: float  # ... up to 300 s
    clock: Clock
    rng: random.Random | None


class SqlJobStore:
    # Dialect: appended to the claim's SELECT (PostgreSQL: skip rows other workers hold).
    _claim_lock = ""
    # Dialect: append one JSON event (the first parameter) to a job's ``updates`` array.
    _append_update_sql = ""

    def __init__(self, **options: Unpack[StoreOptions]) -> None:
        self.dedup_window = options.get("dedup_window", DEFAULT_DEDUP_WINDOW)
        self.max_attempts = options.get("max_attempts", 3)
        self.lease_seconds = options.get("lease_seconds", DEFAULT_LEASE_SECONDS)
        self.backoff_base = options.get("backoff_base", 5.0)
        self.backoff_cap = options.get("backoff_cap", 300.0)
        self._clock = options.get("clock", time.time)
        self._rng = options.get("rng") or random.Random()

    # ------------------------------------------------------------------ what a dialect supplies

    def _transaction(self) -> AbstractContextManager[Connection]:
        """Several statements, committed together (rolled back on an exception)."""
        raise NotImplementedError

    def _connection(self) -> AbstractContextManager[Connection]:
        """One statement, committed on its own."""
        raise NotImplementedError

    def _serialise_alarm(self, con: Connection, identity: str) -> None:
        """Make other notifications of this alarm wait until this transaction ends."""

    def _json(self, value: dict[str, Any]) -> Any:
        """A result as the dialect stores it."""
        raise NotImplementedError

    def close(self) -> None:
        raise NotImplementedError

    # --------------------------------------------------------------------------- intake

    def enqueue(self, event: AlarmEvent) -> tuple[EnqueueOutcome, str | None]:
        """Durably record one notification; returns what happened and the job it concerns.

        Alarm text is redacted before it is stored (the message id, a dedup key, is kept)."""
        event = stored_event(event)
        now = self._clock()
        with self._transaction() as con:
            self._serialise_alarm(con, event.identity)
            first = con.execute(
                "INSERT INTO deliveries (message_id, outcome, received_at) VALUES (?, 'pending', ?) "
                "ON CONFLICT (message_id) DO NOTHING RETURNING message_id",
                (event.message_id, now),
            ).fetchone()
            if first is None:
                seen = con.execute(
                    "SELECT job_id FROM deliveries WHERE message_id = ?", (event.message_id,)
                ).fetchone()
                return EnqueueOutcome.DUPLICATE, seen["job_id"] if seen is not None else None
            outcome, job_id = self._place(con, event, now)
            con.execute(
                "UPDATE deliveries SET job_id = ?, outcome = ? WHERE message_id = ?",
                (job_id, outcome.value, event.message_id),
            )
        return outcome, job_id

    def _place(self, con: Connection, event: AlarmEvent, now: float) -> tuple[EnqueueOutcome, str | None]:
        identity = event.identity
        rows = con.execute(
            "SELECT id, fired_at FROM jobs WHERE identity = ? ORDER BY fired_at DESC LIMIT ?",
            (identity, OPEN_JOB_CANDIDATES),
        ).fetchall()
        open_job = open_job_among(event, ((row["id"], row["fired_at"]) for row in rows), self.dedup_window)
        if event.status == AlarmStatus.FIRING:
            if open_job is not None:
                self._append_update(con, open_job, event, now)
                return EnqueueOutcome.ATTACHED, open_job
            job_id = new_job_id()
            con.execute(
                "INSERT INTO jobs (id, alarm_name, service, identity, fired_at, status, next_attempt_at, event, "
                "created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
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
                "INSERT INTO held_resolutions (message_id, identity, resolved_at, event) VALUES (?, ?, ?, ?)",
                (event.message_id, identity, event.time.isoformat(), event.model_dump_json()),
            )
            return EnqueueOutcome.HELD, None
        return EnqueueOutcome.IGNORED, None

    def _attach_held_resolutions(
        self, con: Connection, job_id: str, event: AlarmEvent, identity: str, now: float
    ) -> None:
        """OKs that overtook their ALARM (out-of-order delivery) resolve the job they belong to."""
        rows = con.execute(
            "DELETE FROM held_resolutions WHERE identity = ? AND resolved_at >= ? "
            "RETURNING message_id, event, resolved_at",
            (identity, event.time.isoformat()),
        ).fetchall()
        for row in sorted(rows, key=lambda r: str(r["resolved_at"])):
            self._resolve(con, job_id, AlarmEvent.model_validate_json(row["event"]), now)
            con.execute(
                "UPDATE deliveries SET job_id = ?, outcome = ? WHERE message_id = ?",
                (job_id, EnqueueOutcome.ATTACHED.value, row["message_id"]),
            )

    def _resolve(self, con: Connection, job_id: str, event: AlarmEvent, now: float) -> None:
        self._append_update(con, job_id, event, now)
        con.execute("UPDATE jobs SET resolved_at = ? WHERE id = ?", (event.time.isoformat(), job_id))

    def _append_update(self, con: Connection, job_id: str, event: AlarmEvent, now: float) -> None:
        con.execute(self._append_update_sql, (event.model_dump_json(), now, job_id))

    # ---------------------------------------------------------------------------- workers

    def claim(self) -> Job | None:
        """Take the next runnable job (queued and due, or running with an expired lease)."""
        now = self._clock()
        token = new_lease_token()
        with self._transaction() as con:
            while True:
                row = con.execute(
                    "SELECT id, status, attempts FROM jobs WHERE (status = ? AND next_attempt_at <= ?) "
                    f"OR (status = ? AND lease_until < ?) ORDER BY next_attempt_at LIMIT 1 {self._claim_lock}",
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
                claimed = con.execute(
                    "UPDATE jobs SET status = ?, attempts = attempts + 1, lease_until = ?, lease_token = ?, "
                    "claimed_at = ?, updated_at = ? WHERE id = ? RETURNING *",
                    (JobStatus.RUNNING.value, now + self.lease_seconds, token, now, now, row["id"]),
                ).fetchone()
                return job_from_row(dict(claimed))

    def renew(self, job: Job) -> bool:
        now = self._clock()
        with self._connection() as con:
            cursor = con.execute(
                "UPDATE jobs SET lease_until = ?, updated_at = ? WHERE id = ? AND status = ? AND lease_token = ?",
                (now + self.lease_seconds, now, job.id, JobStatus.RUNNING.value, job.lease),
            )
            return cursor.rowcount == 1

    def complete(self, job: Job, result: dict[str, Any]) -> bool:
        """Store the result, only under the job's current lease, and log it in the same transaction."""
        now = self._clock()
        with self._transaction() as con:
            cursor = con.execute(
                "UPDATE jobs SET status = ?, result = ?, error = NULL, lease_until = NULL, lease_token = NULL, "
                "updated_at = ? WHERE id = ? AND status = ? AND lease_token = ?",
                (JobStatus.DONE.value, self._json(result), now, job.id, JobStatus.RUNNING.value, job.lease),
            )
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
        with self._connection() as con:
            cursor = con.execute(
                "UPDATE jobs SET status = ?, error = ?, next_attempt_at = ?, lease_until = NULL, "
                "lease_token = NULL, updated_at = ? WHERE id = ? AND status = ? AND lease_token = ?",
                (status.value, error, due, now, job.id, JobStatus.RUNNING.value, job.lease),
            )
            return status if cursor.rowcount == 1 else None

    def release(self, job: Job) -> bool:
        """Hand a claimed job back, due now, without spending an attempt (a worker draining on SIGTERM)."""
        now = self._clock()
        with self._connection() as con:
            cursor = con.execute(
                "UPDATE jobs SET status = ?, attempts = CASE WHEN attempts > 0 THEN attempts - 1 ELSE 0 END, "
                "next_attempt_at = ?, lease_until = NULL, lease_token = NULL, updated_at = ? "
                "WHERE id = ? AND status = ? AND lease_token = ?",
                (JobStatus.QUEUED.value, now, now, job.id, JobStatus.RUNNING.value, job.lease),
            )
            return cursor.rowcount == 1

    # ------------------------------------------------------------------------------ reads

    def get(self, job_id: str) -> Job | None:
        with self._connection() as con:
            row = con.execute("SELECT * FROM jobs WHERE id = ?", (job_id,)).fetchone()
        return job_from_row(dict(row)) if row is not None else None

    def jobs(self, status: JobStatus | None = None) -> list[Job]:
        where, args = ("WHERE status = ?", (status.value,)) if status is not None else ("", ())
        with self._connection() as con:
            rows = con.execute(f"SELECT * FROM jobs {where} ORDER BY created_at, id", args).fetchall()
        return [job_from_row(dict(row)) for row in rows]

    def counts(self) -> dict[str, int]:
        with self._connection() as con:
            rows = con.execute("SELECT status, count(*) AS n FROM jobs GROUP BY status").fetchall()
        return {row["status"]: int(row["n"]) for row in rows}

    def delivery_count(self) -> int:
        with self._connection() as con:
            return int(con.execute("SELECT count(*) AS n FROM deliveries").fetchone()["n"])

    # -------------------------------------------------------------------------------- DLQ

    def dead_letters(self) -> list[Job]:
        return self.jobs(JobStatus.DEAD)

    def redrive(self, job_id: str | None = None) -> int:
        """Requeue dead jobs (one, or all). Investigations are idempotent, so this is safe."""
        now = self._clock()
        where, args = ("status = ?", [JobStatus.DEAD.value])
        if job_id is not None:
            where, args = ("status = ? AND id = ?", [JobStatus.DEAD.value, job_id])
        with self._connection() as con:
            cursor = con.execute(
                f"UPDATE jobs SET status = ?, attempts = 0, next_attempt_at = ?, updated_at = ? WHERE {where}",
                (JobStatus.QUEUED.value, now, now, *args),
            )
            return cursor.rowcount

    # ------------------------------------------------------------------- people's feedback

    def record_feedback(self, job_id: str, user_id: str, vote: int) -> bool:
        with self._connection() as con:
            cursor = con.execute(
                "INSERT INTO feedback (job_id, user_id, vote, at) SELECT ?, ?, ?, ? "
                "WHERE EXISTS (SELECT 1 FROM jobs WHERE id = ?) "
                "ON CONFLICT (job_id, user_id) DO UPDATE SET vote = excluded.vote, at = excluded.at",
                (job_id, user_id, 1 if vote > 0 else -1, self._clock(), job_id),
            )
            return cursor.rowcount == 1

    def satisfaction(self) -> tuple[int, int]:
        """(thumbs up, total votes)."""
        with self._connection() as con:
            row = con.execute(
                "SELECT count(*) FILTER (WHERE vote > 0) AS up, count(*) AS n FROM feedback"
            ).fetchone()
        return int(row["up"]), int(row["n"])

    def record_verdict(self, job_id: str, hypothesis: str, accepted: bool, user_id: str) -> bool:
        with self._connection() as con:
            cursor = con.execute(
                "INSERT INTO verdicts (job_id, hypothesis, accepted, user_id, at) SELECT ?, ?, ?, ?, ? "
                "WHERE EXISTS (SELECT 1 FROM jobs WHERE id = ?) ON CONFLICT (job_id, hypothesis) DO UPDATE "
                "SET accepted = excluded.accepted, user_id = excluded.user_id, at = excluded.at",
                (job_id, hypothesis, accepted, user_id, self._clock(), job_id),
            )
            return cursor.rowcount == 1

    def verdicts(self, job_id: str) -> list[Verdict]:
        with self._connection() as con:
            rows = con.execute(
                "SELECT hypothesis, accepted, user_id, at FROM verdicts WHERE job_id = ? ORDER BY at",
                (job_id,),
            ).fetchall()
        return [Verdict(r["hypothesis"], bool(r["accepted"]), r["user_id"], float(r["at"])) for r in rows]

    def update_result(self, job_id: str, result: dict[str, Any]) -> None:
        with self._connection() as con:
            con.execute(
                "UPDATE jobs SET result = ?, updated_at = ? WHERE id = ?",
                (self._json(result), self._clock(), job_id),
            )

    # ----------------------------------------------------------------------- execution log

    def record_node(self, job_id: str, node: str, task: str) -> None:
        with self._connection() as con:
            self._log(con, job_id, "node", node, task, self._clock())

    @staticmethod
    def _log(con: Connection, job_id: str, kind: str, name: str, task: str, now: float) -> None:
        con.execute(
            "INSERT INTO execution_log (job_id, kind, name, task, worker, at) VALUES (?, ?, ?, ?, ?, ?)",
            (job_id, kind, name, task, worker_name(), now),
        )

    def execution_log(self, job_id: str | None = None) -> list[LogEntry]:
        where, args = ("WHERE job_id = ?", (job_id,)) if job_id is not None else ("", ())
        with self._connection() as con:
            rows = con.execute(
                f"SELECT kind, name, task, worker, at FROM execution_log {where} ORDER BY seq", args
            ).fetchall()
        return [LogEntry(r["kind"], r["name"], r["task"], r["worker"], float(r["at"])) for r in rows]
