"""The PostgreSQL job store: N intakes and M workers on any hosts share one source of truth.

Selected by ``SLEUTH_DATABASE_URL=postgresql://…``; the same contract as the embedded SQLite
:class:`~agent.service.queue.InvestigationQueue` (see :mod:`agent.service.jobs`), and the same
code (:class:`~agent.service.sql_jobs.SqlJobStore`). What SQLite gets from one writer at a time, this store gets
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

import json
from collections.abc import Iterator, Mapping, Sequence
from contextlib import AbstractContextManager, contextmanager
from typing import Any, Unpack
from urllib.parse import urlsplit

from agent.service.job_rules import worker_name
from agent.service.sql_jobs import Connection, Cursor, SqlJobStore, StoreOptions
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


class PostgresJobStore(SqlJobStore):
    _claim_lock = "FOR UPDATE SKIP LOCKED"
    _append_update_sql = (
        "UPDATE jobs SET updates = updates || jsonb_build_array(?::jsonb), updated_at = ? WHERE id = ?"
    )

    def __init__(self, url: str, *, pool_size: int = 8, **options: Unpack[StoreOptions]) -> None:
        super().__init__(**options)
        try:
            import psycopg
            from psycopg.rows import dict_row
            from psycopg_pool import ConnectionPool
        except ImportError:
            raise SleuthError(
                f"{DATABASE_URL_ENV} names PostgreSQL but psycopg is not installed: pip install 'sleuth[scale]'"
            ) from None
        self.url = url
        try:  # one direct connection first: an unreachable server fails now, in one line
            with psycopg.connect(url, application_name=_application()) as con:
                con.execute("SELECT pg_advisory_xact_lock(hashtextextended('sleuth-jobs-schema', 0))")
                con.execute(_SCHEMA)  # processes starting together create the tables once
        except psycopg.Error as exc:
            lines = str(exc).strip().splitlines()
            raise SleuthError(
                f"{DATABASE_URL_ENV}={_safe(url)}: cannot open the job store: {lines[0] if lines else exc}"
            ) from None
        self._pool = ConnectionPool(
            url,
            min_size=1,
            max_size=pool_size,
            kwargs={"row_factory": dict_row, "prepare_threshold": None, "application_name": _application()},
            name="sleuth-jobs",
            open=True,
        )

    def close(self) -> None:
        self._pool.close()

    @contextmanager
    def _pooled(self) -> Iterator[Connection]:
        """A pooled connection: its transaction commits on exit, rolls back on an exception."""
        with self._pool.connection() as con:
            yield _Placeholders(con)

    def _transaction(self) -> AbstractContextManager[Connection]:
        return self._pooled()

    def _connection(self) -> AbstractContextManager[Connection]:
        return self._pooled()

    def _serialise_alarm(self, con: Connection, identity: str) -> None:
        # Notifications of one alarm wait here for each other across every intake (a lock for the
        # transaction); notifications of different alarms never wait for each other.
        con.execute("SELECT pg_advisory_xact_lock(hashtextextended(?, 0))", (identity,))

    def _json(self, value: dict[str, Any]) -> Any:
        from psycopg.types.json import Jsonb

        return Jsonb(value, dumps=_dumps)


class _Placeholders:
    """A psycopg connection taking the shared statements' ``?`` placeholders."""

    def __init__(self, con: Any) -> None:
        self.con = con

    def execute(self, sql: str, params: Sequence[Any] = (), /) -> Cursor:
        cursor: Cursor = self.con.execute(sql.replace("?", "%s"), params)
        return cursor


def _application() -> str:
    """How this process shows in ``pg_stat_activity``: who holds which connection."""
    return f"sleuth jobs {worker_name()}"[:63]


def _dumps(value: Any) -> str:
    return json.dumps(value, default=str)
