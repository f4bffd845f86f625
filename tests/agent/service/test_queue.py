"""What only the SQLite store does: upgrade old files in place, keep secrets out of its file.

The behaviour both job stores share is in ``test_job_store_contract.py``.
"""

from __future__ import annotations

import random
import sqlite3
from pathlib import Path
from typing import Any

from agent.service.queue import EnqueueOutcome, InvestigationQueue
from tests.agent.service.samples import FakeClock, stored_alarm


def _queue(tmp_path: Path, clock: FakeClock | None = None, **options: Any) -> InvestigationQueue:
    return InvestigationQueue(
        tmp_path / "q.sqlite", clock=clock or FakeClock(), rng=random.Random(1), **options
    )


def test_a_queue_written_before_identities_existed_is_upgraded_in_place(tmp_path: Path) -> None:
    path = tmp_path / "q.sqlite"
    event = stored_alarm("m1")
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

    assert queue.enqueue(stored_alarm("m2", minutes=5)) == (EnqueueOutcome.ATTACHED, "old1")


def test_a_secret_in_an_alarm_is_redacted_before_the_queue_stores_it(tmp_path: Path) -> None:
    queue = _queue(tmp_path)
    leaky = stored_alarm("m1").model_copy(
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
