"""Which Slack thread belongs to which investigation (SQLite, beside the queue)."""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path


class SlackThreads:
    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        self._lock = threading.Lock()
        self._con = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None, timeout=30.0)
        self._con.execute(
            "CREATE TABLE IF NOT EXISTS slack_threads (job_id TEXT PRIMARY KEY, channel TEXT NOT NULL, ts TEXT NOT NULL)"
        )

    def remember(self, job_id: str, channel: str, ts: str) -> None:
        with self._lock:
            self._con.execute("INSERT OR IGNORE INTO slack_threads VALUES (?, ?, ?)", (job_id, channel, ts))

    def find(self, job_id: str) -> tuple[str, str] | None:
        with self._lock:
            row = self._con.execute(
                "SELECT channel, ts FROM slack_threads WHERE job_id = ?", (job_id,)
            ).fetchone()
        return (row[0], row[1]) if row else None
