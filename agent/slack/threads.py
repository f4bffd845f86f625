"""Which Slack thread and messages belong to which investigation (SQLite, beside the queue).

Per investigation: the thread (channel + root ts), the one progress message that is edited as
steps finish, and the summary message that is edited after Accept/Reject.
"""

from __future__ import annotations

import sqlite3
import threading
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class SlackThread:
    channel: str
    ts: str
    progress_ts: str | None = None
    summary_ts: str | None = None


class SlackThreads:
    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        self._lock = threading.Lock()
        self._con = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None, timeout=30.0)
        self._con.execute(
            "CREATE TABLE IF NOT EXISTS slack_threads (job_id TEXT PRIMARY KEY, channel TEXT NOT NULL, ts TEXT NOT NULL)"
        )
        present = {row[1] for row in self._con.execute("PRAGMA table_info(slack_threads)")}
        for column in ("progress_ts", "summary_ts"):
            if column not in present:
                self._con.execute(f"ALTER TABLE slack_threads ADD COLUMN {column} TEXT")

    def remember(self, job_id: str, channel: str, ts: str) -> None:
        with self._lock:
            self._con.execute(
                "INSERT OR IGNORE INTO slack_threads (job_id, channel, ts) VALUES (?, ?, ?)",
                (job_id, channel, ts),
            )

    def set_progress(self, job_id: str, ts: str) -> None:
        with self._lock:
            self._con.execute("UPDATE slack_threads SET progress_ts = ? WHERE job_id = ?", (ts, job_id))

    def set_summary(self, job_id: str, ts: str) -> None:
        with self._lock:
            self._con.execute("UPDATE slack_threads SET summary_ts = ? WHERE job_id = ?", (ts, job_id))

    def thread(self, job_id: str) -> SlackThread | None:
        with self._lock:
            row = self._con.execute(
                "SELECT channel, ts, progress_ts, summary_ts FROM slack_threads WHERE job_id = ?", (job_id,)
            ).fetchone()
        return SlackThread(*row) if row else None

    def find(self, job_id: str) -> tuple[str, str] | None:
        where = self.thread(job_id)
        return (where.channel, where.ts) if where else None
