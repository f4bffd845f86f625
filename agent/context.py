"""What an investigation runs with: typed dependencies handed to every graph node.

Nothing in the graph reaches for a global client. ``agent/wiring.py`` builds the deps for every
entry point; ``run_investigation`` builds the graph once with a checkpointer and passes an
:class:`InvestigationDeps` as LangGraph's runtime context.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from os import PathLike
from typing import TYPE_CHECKING, Any, Protocol

from mcp_server.analysis.models import InvestigationResult
from mcp_server.backends.base import TelemetryBackend
from mcp_server.redaction import Redactor
from mcp_server.scenario import ScenarioSpec

if TYPE_CHECKING:
    from langgraph.checkpoint.base import BaseCheckpointSaver

    from agent.analysis import AnalysisSteps
    from agent.reasoners.base import Reasoner
    from knowledge.base import KnowledgeStore


@dataclass(frozen=True)
class Budgets:
    """Limits for one investigation. The graph stops looping, never mid-step, when one runs out."""

    max_tool_calls: int = 40
    max_tokens: int = 200_000
    wall_seconds: float = 600.0
    max_verify_rounds: int = 2
    max_review_rounds: int = 3
    tool_result_chars: int = 6_000  # a tool result is compacted to this before the model sees it


@dataclass
class BudgetUse:
    tool_calls: int = 0
    tokens: int = 0
    seconds: float = 0.0

    def exhausted(self, budgets: Budgets) -> str | None:
        """The first budget that ran out, named for the notes, or None."""
        if self.tool_calls >= budgets.max_tool_calls:
            return f"tool-call budget reached ({self.tool_calls}/{budgets.max_tool_calls})"
        if self.tokens >= budgets.max_tokens:
            return f"token budget reached ({self.tokens}/{budgets.max_tokens})"
        if self.seconds >= budgets.wall_seconds:
            return f"wall-time budget reached ({self.seconds:.0f}s/{budgets.wall_seconds:.0f}s)"
        return None


class ReportDrafter(Protocol):
    """Drafts the COE of a finished investigation into ``out_dir``; returns the files by format."""

    def __call__(
        self, result: InvestigationResult, backend: TelemetryBackend, out_dir: str, /
    ) -> Mapping[str, str | PathLike[str]]: ...


@dataclass
class InvestigationDeps:
    backend: TelemetryBackend
    reasoner: Reasoner
    analysis: AnalysisSteps
    knowledge: KnowledgeStore | None = None
    spec: ScenarioSpec | None = None
    budgets: Budgets = field(default_factory=Budgets)
    human_review: bool = False  # pause after verification for a person to accept/reject/add evidence
    drafter: ReportDrafter | None = None  # drafts the COE into report_dir when both are given
    report_dir: str | None = None
    checkpointer: BaseCheckpointSaver[Any] | None = None  # None: SQLite under the data directory
    clock: Callable[[], float] = time.time
    redactor: Redactor = field(default_factory=Redactor)  # for the trigger, question and review answers
