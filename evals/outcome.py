"""What an eval method produces, and the shape every method has.

A method receives the imported telemetry and the scenario's public description (window and
trigger, never the ground truth) and returns an :class:`Outcome`: its ranked hypotheses, what
they cost, and the report's scoring inputs when it drafted one. Methods are small picklable
objects so the harness can run them in worker processes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

from evals.report_correctness import ReportFacts
from mcp_server.analysis.models import Hypothesis, InvestigationResult
from mcp_server.backends.base import TelemetryBackend
from mcp_server.scenario import ScenarioSpec


@dataclass
class Outcome:
    """A method's ranking, its cost, and the report's scoring inputs when it drafted one."""

    hypotheses: list[Hypothesis]
    reasoner: str
    tool_calls: int = 0
    tokens: dict[str, int] = field(default_factory=dict)
    five_whys_nodes: list[str] | None = None
    report_completeness: float | None = None
    notes: list[str] = field(default_factory=list)  # e.g. the report could not be drafted
    report_facts: ReportFacts | None = None  # what the drafted report says, for the correctness checks

    @classmethod
    def of(cls, result: InvestigationResult, **extra: Any) -> Outcome:
        """The outcome of a whole investigation."""
        return cls(
            hypotheses=list(result.hypotheses),
            reasoner=result.reasoner,
            tool_calls=result.tool_calls,
            tokens=dict(result.tokens),
            **extra,
        )


class Method(Protocol):
    @property
    def name(self) -> str: ...

    def run(self, backend: TelemetryBackend, spec: ScenarioSpec) -> Outcome: ...
