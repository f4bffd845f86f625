"""The investigation state: pydantic models that LangGraph checkpoints after every step.

Fields that parallel branches write (the gather fan-out) carry reducers, so branches add to them
instead of overwriting each other. The scope and the gather findings are the analysis engine's own
models (:class:`Scope`, :class:`StepResult`), carried as they are. Everything here must survive a checkpoint round trip: plain
data and pydantic models only (the checkpointer's allowlist is built from these annotations).
"""

from __future__ import annotations

import operator
from enum import StrEnum
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field

from mcp_server.analysis.models import (
    Evidence,
    Hypothesis,
    InvestigationResult,
    KnowledgeRef,
    Mitigation,
)
from mcp_server.analysis.signals import Scope, StepResult
from mcp_server.scenario import Trigger
from mcp_server.telemetry import TimeWindow


def merge_dicts(left: dict[str, Any], right: dict[str, Any]) -> dict[str, Any]:
    return {**left, **right}


def add_counts(left: dict[str, int], right: dict[str, int]) -> dict[str, int]:
    merged = dict(left)
    for key, value in right.items():
        merged[key] = merged.get(key, 0) + value
    return merged


class Source(StrEnum):
    """What the gather step fans out over, one parallel branch each."""

    METRICS = "metrics"
    LOGS = "logs"
    TRACES = "traces"
    CHANGES = "changes"
    SLOS_ALARMS = "slos_alarms"
    PLATFORM = "platform"  # the platform's own detectors (AWS Application Signals, anomaly bands...)
    DEPENDENCIES = "dependencies"


class GatherTask(BaseModel):
    """The argument a ``Send`` hands to one gather branch."""

    model_config = ConfigDict(extra="forbid")

    source: Source
    scope: Scope


class EvidenceRequest(BaseModel):
    """A person asks the agent to look somewhere: "also look at the payments logs for 'timeout'"."""

    model_config = ConfigDict(extra="forbid")

    service: str | None = None
    text: str = ""
    note: str = ""


class HumanFeedback(BaseModel):
    """The value a person resumes an interrupted investigation with."""

    model_config = ConfigDict(extra="forbid")

    accept: list[int] = Field(default_factory=list)  # hypothesis ranks as the person saw them
    reject: list[int] = Field(default_factory=list)
    add_evidence: list[EvidenceRequest] = Field(default_factory=list)
    note: str = ""
    # Filled by the review step: the ranks resolved to "service/fault_type" keys, which survive re-ranking.
    accepted_keys: list[str] = Field(default_factory=list)
    rejected_keys: list[str] = Field(default_factory=list)

    @property
    def wants_more(self) -> bool:
        return bool(self.add_evidence or self.reject)


def hypothesis_key(hypothesis: Hypothesis) -> str:
    return f"{hypothesis.service}/{hypothesis.fault_type.value}"


class InvestigationState(BaseModel):
    id: str = ""
    scenario: str | None = None
    data_dir: str | None = None  # where the telemetry came from, so ``--resume`` can reopen it
    question: str = ""
    trigger: Trigger = Field(default_factory=Trigger)
    window: TimeWindow | None = None  # an explicit window overrides the scenario's
    started_at: float = 0.0  # wall clock (epoch seconds) at the first step

    scope: Scope | None = None
    findings: Annotated[list[StepResult], operator.add] = Field(default_factory=list)  # one per gather branch
    extra_evidence: Annotated[list[Evidence], operator.add] = Field(default_factory=list)
    knowledge: list[KnowledgeRef] = Field(default_factory=list)
    hypotheses: list[Hypothesis] = Field(default_factory=list)
    mitigations: list[Mitigation] = Field(default_factory=list)
    feedback: list[HumanFeedback] = Field(default_factory=list)

    reasoner: str = "offline"
    verify_rounds: int = 0
    checked: list[str] = Field(default_factory=list)  # hypothesis keys the verify step has tested
    review_rounds: int = 0
    rework: bool = False  # the last review asked for another hypothesize round
    notes: Annotated[list[str], operator.add] = Field(default_factory=list)
    timings: Annotated[dict[str, float], merge_dicts] = Field(default_factory=dict)
    tool_calls: Annotated[int, operator.add] = 0
    tokens: Annotated[dict[str, int], add_counts] = Field(default_factory=dict)

    result: InvestigationResult | None = None
    report: dict[str, str] = Field(default_factory=dict)  # format -> path, when a report was drafted

    def all_evidence(self) -> list[Evidence]:
        """Gathered evidence followed by what verification and people added, ids unique."""
        seen: set[str] = set()
        out: list[Evidence] = []
        for item in [ev for f in self.findings for ev in f.all_evidence()] + list(self.extra_evidence):
            if item.id and item.id in seen:
                continue
            seen.add(item.id)
            out.append(item)
        return out

    def failed_sources(self) -> list[StepResult]:
        return [f for f in self.findings if not f.ok]
