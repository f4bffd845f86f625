"""Backend notes: what a backend cut, sampled, skipped or could not reach, for the answer that caused it.

A backend keeps a :class:`NoteBook`; callers take a mark before a piece of work and read the notes
added since, so one tool answer or one investigation step reports exactly what its calls noted
(plus whatever parallel calls noted meanwhile: a note is never lost, at worst shown twice).

    with watch_notes(backend) as watch:
        records = backend.query_logs(query)
    message = "; ".join(watch.messages())
"""

from __future__ import annotations

import logging
import threading
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager

from mcp_server.backends.base import BackendNote

logger = logging.getLogger("sleuth.backends")

MAX_KEPT = 2_000  # notes remembered for readers that took a mark; older ones are dropped


class NoteBook:
    """Thread-safe numbered notes. The same note added again gets a new number (a later call that
    cuts the same way must say so too) but is logged once."""

    def __init__(self, logger_name: str = "sleuth.backends") -> None:
        self._entries: deque[tuple[int, BackendNote]] = deque(maxlen=MAX_KEPT)
        self._next = 1
        self._logged: set[BackendNote] = set()
        self._lock = threading.Lock()
        self._logger = logging.getLogger(logger_name)

    def add(self, source: str, message: str) -> None:
        note = BackendNote(source=source, message=message)
        with self._lock:
            self._entries.append((self._next, note))
            self._next += 1
            first = note not in self._logged
            if first and len(self._logged) < MAX_KEPT:
                self._logged.add(note)
        if first:
            self._logger.info("%s: %s", source, message)

    def mark(self) -> int:
        """The number the next note will get."""
        with self._lock:
            return self._next

    def since(self, mark: int) -> list[BackendNote]:
        """Notes numbered ``mark`` or later, each once, oldest first."""
        with self._lock:
            found = [note for number, note in self._entries if number >= mark]
        return list(dict.fromkeys(found))

    def all(self) -> list[BackendNote]:
        return self.since(0)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()


class NoteWatch:
    """The notes one piece of work caused on one backend."""

    def __init__(self, backend: object) -> None:
        self._backend = backend
        mark = getattr(backend, "note_mark", None)  # duck-typed test fakes may not keep notes
        self._mark: int | None = mark() if callable(mark) else None

    def notes(self) -> list[BackendNote]:
        reader = getattr(self._backend, "notes_since", None)
        if self._mark is None or not callable(reader):
            return []
        return list(reader(self._mark))

    def messages(self) -> list[str]:
        """``source: message`` lines, for an answer's message or an investigation's notes."""
        return [f"{n.source}: {n.message}" for n in self.notes()]


@contextmanager
def watch_notes(backend: object) -> Iterator[NoteWatch]:
    yield NoteWatch(backend)
