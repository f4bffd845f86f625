"""Errors that reach a user. Each says what was wrong, where, and (when it can) how to fix it."""

from __future__ import annotations

from pathlib import Path


class SleuthError(Exception):
    """Base class: a problem the user can act on (never a bug)."""


class InputFileError(SleuthError):
    """A file that could not be read: names the file, the line and the field."""

    def __init__(self, path: Path | str, line: int | None, field: str | None, problem: str) -> None:
        self.path = Path(path)
        self.line = line
        self.field = field
        self.problem = problem
        where = str(self.path)
        if line is not None:
            where += f":{line}"
        if field:
            where += f" field {field!r}"
        super().__init__(f"{where}: {problem}")

    def __reduce__(self) -> tuple[type, tuple[Path, int | None, str | None, str]]:
        # Keeps the error intact when it crosses a process boundary (parallel import).
        return (type(self), (self.path, self.line, self.field, self.problem))


class QueryError(SleuthError):
    """A query the backend cannot answer as asked (bad time range, unknown name, bad regex...)."""


class TimeRangeError(QueryError):
    pass


class UnknownServiceError(QueryError):
    def __init__(self, service: str, known: list[str]) -> None:
        self.service = service
        self.known = known
        hint = ", ".join(known[:20]) + (" ..." if len(known) > 20 else "")
        super().__init__(f"unknown service {service!r}; known services: {hint or '(none)'}")


class UnknownMetricError(QueryError):
    def __init__(self, metric: str, service: str | None, known: list[str]) -> None:
        self.metric = metric
        hint = ", ".join(known[:20]) + (" ..." if len(known) > 20 else "")
        where = f" for service {service!r}" if service else ""
        super().__init__(f"unknown metric {metric!r}{where}; known metrics: {hint or '(none)'}")


class EmptyWindowError(QueryError):
    pass


class BackendUnavailableError(SleuthError):
    """A backend (or one of its APIs) is unreachable, throttled or denied access."""
