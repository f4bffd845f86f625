"""Lenient views of the result's dumped lists (changes, alarms, SLO statuses).

``InvestigationResult`` carries these as plain dicts. A producer may dump them partially (a change
without its kind, an alarm without history); the report uses what is there, skips what it cannot
read, and lists the skipped items in its assessment instead of failing.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, TypeVar

from pydantic import BaseModel, ConfigDict, ValidationError

from mcp_server.analysis.models import InvestigationResult
from mcp_server.telemetry import Alarm, SloStatus

M = TypeVar("M", bound=BaseModel)


class ChangeView(BaseModel):
    """The fields of a ChangeEvent the report uses; only time and service are required."""

    model_config = ConfigDict(extra="ignore")

    time: datetime
    service: str
    kind: str = "change"
    version: str | None = None
    description: str = ""
    actor: str = ""
    id: str | None = None

    def label(self) -> str:
        return f"{self.service} {self.version or self.kind}"


def _parse(items: list[dict[str, Any]], model: type[M]) -> tuple[list[M], int]:
    parsed: list[M] = []
    skipped = 0
    for raw in items:
        try:
            parsed.append(model.model_validate(raw))
        except ValidationError:
            skipped += 1
    return parsed, skipped


def changes(result: InvestigationResult) -> list[ChangeView]:
    return _parse(result.changes, ChangeView)[0]


def alarms(result: InvestigationResult) -> list[Alarm]:
    return _parse(result.alarms, Alarm)[0]


def slo_statuses(result: InvestigationResult) -> list[SloStatus]:
    return _parse(result.slos, SloStatus)[0]


def input_problems(result: InvestigationResult) -> list[str]:
    problems = []
    for name, items, model in (
        ("changes", result.changes, ChangeView),
        ("alarms", result.alarms, Alarm),
        ("slos", result.slos, SloStatus),
    ):
        skipped = _parse(items, model)[1]  # type: ignore[type-var]
        if skipped:
            problems.append(
                f"{skipped} of {len(items)} {name} in the result could not be read and were left out."
            )
    return problems
