"""What the AWS backend cut, sampled or skipped, so answers never look more complete than they are."""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass

logger = logging.getLogger("sleuth.backends.aws")


@dataclass(frozen=True)
class BackendNote:
    source: str  # traces, logs, metrics, alarms, changes, slos
    message: str


class NoteBook:
    """Thread-safe, de-duplicated notes; the investigation reads them into its report."""

    def __init__(self) -> None:
        self._notes: list[BackendNote] = []
        self._lock = threading.Lock()

    def add(self, source: str, message: str) -> None:
        note = BackendNote(source, message)
        with self._lock:
            if note in self._notes:
                return
            self._notes.append(note)
        logger.info("%s: %s", source, message)

    def all(self) -> list[BackendNote]:
        with self._lock:
            return list(self._notes)

    def clear(self) -> None:
        with self._lock:
            self._notes.clear()
