"""Backend notes are read per piece of work: each once, none lost, and the same cut noted again."""

from __future__ import annotations

from mcp_server.backends.base import BackendNote
from mcp_server.backends.deadline import deadline, remaining_seconds
from mcp_server.backends.notes import NoteBook, NoteWatch


class _Backend:
    def __init__(self) -> None:
        self.book = NoteBook()

    def note_mark(self) -> int:
        return self.book.mark()

    def notes_since(self, mark: int) -> list[BackendNote]:
        return self.book.since(mark)


def test_a_watch_sees_the_notes_made_after_it_began_each_once() -> None:
    backend = _Backend()
    backend.book.add("logs", "window cut to 6h")
    watch = NoteWatch(backend)
    backend.book.add("logs", "window cut to 6h")
    backend.book.add("traces", "sampled 300 of 900 traces")
    backend.book.add("logs", "window cut to 6h")

    assert watch.messages() == ["logs: window cut to 6h", "traces: sampled 300 of 900 traces"]


def test_a_backend_without_notes_gives_an_empty_watch() -> None:
    assert NoteWatch(object()).notes() == []


def test_deadlines_nest_and_the_earliest_wins() -> None:
    assert remaining_seconds() is None
    with deadline(30):
        with deadline(5):
            inner = remaining_seconds()
        with deadline(100):
            outer = remaining_seconds()

    assert inner is not None and 0 < inner <= 5
    assert outer is not None and 5 < outer <= 30
