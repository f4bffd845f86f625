"""The reasoner port: turns gathered findings into ranked, evidence-cited hypotheses."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

from pydantic import BaseModel, ConfigDict, Field

from agent.state import HumanFeedback
from mcp_server.analysis.models import Evidence, Hypothesis, KnowledgeRef
from mcp_server.analysis.signals import Scope, StepResult
from mcp_server.backends.base import TelemetryBackend


class ReasoningRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    question: str = ""
    scope: Scope
    findings: list[StepResult]
    extra_evidence: list[Evidence] = Field(default_factory=list)
    knowledge: list[KnowledgeRef] = Field(default_factory=list)
    feedback: list[HumanFeedback] = Field(default_factory=list)
    previous: list[Hypothesis] = Field(default_factory=list)  # the last round's hypotheses, if any
    tool_calls_left: int = 0
    tokens_left: int = 0
    seconds_left: float = 0.0

    def evidence(self) -> list[Evidence]:
        return [ev for f in self.findings for ev in f.all_evidence()] + list(self.extra_evidence)


class ReasoningReply(BaseModel):
    model_config = ConfigDict(extra="forbid")

    hypotheses: list[Hypothesis]
    new_evidence: list[Evidence] = Field(default_factory=list)  # from the reasoner's own tool calls
    notes: list[str] = Field(default_factory=list)
    reasoner: str  # who produced the hypotheses: "offline", "anthropic", or "offline" after a fallback
    fell_back: bool = False
    tool_calls: int = 0
    tokens: dict[str, int] = Field(default_factory=dict)


@dataclass
class ReasoningContext:
    """What a reasoner may use besides the request: the live backend and knowledge store (the
    Claude reasoner serves them to the model as MCP tools) and a progress callback."""

    backend: TelemetryBackend | None = None
    knowledge: Any = None
    progress: Callable[[str], None] | None = None

    def say(self, message: str) -> None:
        if self.progress is not None:
            self.progress(message)


@runtime_checkable
class Reasoner(Protocol):
    name: str

    def hypothesize(
        self, request: ReasoningRequest, context: ReasoningContext | None = None
    ) -> ReasoningReply:
        """Rank causes from the request's findings; report retries and tool calls through ``context``."""
        ...
