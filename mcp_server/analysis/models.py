"""The hypothesis contract: what every reasoner emits and every consumer (CLI JSON, MCP, report,
evals) reads. Keep field names stable; ``sleuth investigate --json`` writes these as they are.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from enum import StrEnum
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from mcp_server.scenario import Trigger
from mcp_server.taxonomy import FaultType
from mcp_server.telemetry import Alarm, ChangeEvent, SloStatus, TimeWindow
from mcp_server.tool_calls import ToolCall, parse_tool_call


class EvidenceKind(StrEnum):
    METRIC_ANOMALY = "metric_anomaly"
    LOG_PATTERN = "log_pattern"
    ERROR_ORIGIN = "error_origin"
    ERROR_RATE = "error_rate"  # a service's spans fail more often (possibly propagated from downstream)
    LATENCY = "latency"
    TOPOLOGY = "topology"
    CHANGE = "change"
    SLO = "slo"
    ALARM = "alarm"
    HOST_SKEW = "host_skew"  # errors or latency concentrated on one host or availability zone
    KNOWLEDGE = "knowledge"  # a matching SOP or past COE
    VERIFICATION = "verification"  # a targeted check run while verifying a hypothesis
    NOTE = "note"


class Evidence(BaseModel):
    """One observation, reproducible from ``source_query``."""

    model_config = ConfigDict(extra="forbid")

    id: str = ""  # stable within an investigation, e.g. "ev-3"; hypotheses cite evidence by id
    kind: EvidenceKind
    service: str | None = None
    description: str
    time: datetime | None = None
    value: float | None = None
    baseline: float | None = None
    source_query: str = ""  # the tool call / query that shows it, e.g. "error_origins(service='visits')"
    attributes: dict[str, Any] = Field(default_factory=dict)


class Hypothesis(BaseModel):
    model_config = ConfigDict(extra="forbid")

    rank: int
    service: str
    fault_type: FaultType
    confidence: float = Field(ge=0.0, le=1.0)
    summary: str
    onset: datetime | None = None
    component: str | None = None  # the host, availability zone or dependency, when one is implicated
    evidence: list[Evidence] = Field(default_factory=list)
    scores: dict[str, float] = Field(default_factory=dict)  # the ranking's signal breakdown
    verified: bool | None = None  # set by the verify step: True confirmed, False refuted, None untested
    flags: list[str] = Field(default_factory=list)  # e.g. "uncited claim dropped", "offline fallback"


class EvidenceView(BaseModel):
    """One piece of cited evidence as it is shown, cut to a readable length."""

    model_config = ConfigDict(extra="forbid")

    id: str
    kind: str
    service: str | None = None
    description: str
    source_query: str = Field(
        default="", description="The exact tool call that shows it: '<tool> <JSON arguments>'."
    )
    call: ToolCall | None = Field(default=None, description="source_query as tool name and arguments.")


class HypothesisView(BaseModel):
    """A hypothesis as people and models see it: the CLI summary, the review pause, Slack and MCP."""

    model_config = ConfigDict(extra="forbid")

    rank: int
    service: str
    fault_type: str
    confidence: float
    summary: str
    component: str | None = None
    onset: datetime | None = None
    verified: bool | None = None
    evidence: list[EvidenceView] = Field(default_factory=list)

    @classmethod
    def of(
        cls, h: Hypothesis, *, evidence: int = 4, known: Mapping[str, Evidence] | None = None
    ) -> HypothesisView:
        """The view of ``h`` with its first ``evidence`` citations (resolved through ``known`` by id)."""
        cited = [known.get(e.id, e) if known and e.id else e for e in h.evidence][:evidence]
        return cls(
            rank=h.rank,
            service=h.service,
            fault_type=h.fault_type.value,
            confidence=round(h.confidence, 3),
            summary=h.summary[:600],
            component=h.component,
            onset=h.onset,
            verified=h.verified,
            evidence=[
                EvidenceView(
                    id=e.id,
                    kind=e.kind.value,
                    service=e.service,
                    description=e.description[:400],
                    source_query=e.source_query[:600],
                    call=parse_tool_call(e.source_query),
                )
                for e in cited
            ],
        )


class MitigationKind(StrEnum):
    """In the order an SOP tries them: roll back first, restarts and config changes last."""

    ROLLBACK = "rollback"
    SHIFT_AWAY = "shift_away"
    SCALE_UP = "scale_up"
    THROTTLE_OR_SHED = "throttle_or_shed"
    RESTART = "restart"
    CONFIG = "config"
    OTHER = "other"


class Mitigation(BaseModel):
    model_config = ConfigDict(extra="forbid")

    order: int
    kind: MitigationKind
    action: str  # what to do, concretely
    target: str | None = None  # service, host, AZ, deployment id
    rationale: str = ""
    risk: str = ""  # risk of the action and of recurrence
    sop: str | None = None  # the SOP id it follows
    applicable: bool = True  # False: the SOP step was considered and ruled out (e.g. nothing to roll back)


class KnowledgeRef(BaseModel):
    model_config = ConfigDict(extra="forbid")

    doc_id: str
    doc_type: str  # "sop" | "coe"
    title: str
    section: str = ""
    snippet: str = ""
    score: float = 0.0


class Detection(BaseModel):
    """When the problem began versus when someone was told: the number every COE asks about."""

    model_config = ConfigDict(extra="forbid")

    onset: datetime | None = None
    first_alarm: str | None = None
    first_alarm_time: datetime | None = None
    detection_delay_seconds: float | None = None
    slo_breach_time: datetime | None = None


class InvestigationResult(BaseModel):
    """Everything one investigation found. ``sleuth investigate --json`` writes this model.

    Built in one place, the graph's report step (``agent/nodes/report.py``).
    """

    model_config = ConfigDict(extra="forbid")

    id: str = ""
    scenario: str | None = None
    question: str = ""
    trigger: Trigger = Field(default_factory=Trigger)
    window: TimeWindow
    baseline_window: TimeWindow | None = None
    onset: datetime | None = None
    # how the onset was found: a change point in the data, or (no clear one) shortly before the
    # trigger time or the middle of the window, which are guesses; None when not recorded
    onset_source: Literal["detected", "trigger", "default"] | None = None
    affected_services: list[str] = Field(default_factory=list)
    hypotheses: list[Hypothesis] = Field(default_factory=list)
    evidence: list[Evidence] = Field(default_factory=list)  # everything gathered; hypotheses cite by id
    slos: list[SloStatus] = Field(default_factory=list)
    alarms: list[Alarm] = Field(default_factory=list)  # those that fired in the window
    changes: list[ChangeEvent] = Field(default_factory=list)  # those near the onset
    detection: Detection | None = None
    knowledge: list[KnowledgeRef] = Field(default_factory=list)
    mitigations: list[Mitigation] = Field(default_factory=list)
    notes: list[str] = Field(default_factory=list)  # degraded sources, budget exhaustion, fallbacks
    reasoner: str = "offline"
    timings: dict[str, float] = Field(default_factory=dict)  # seconds per step
    tool_calls: int = 0
    tokens: dict[str, int] = Field(default_factory=dict)
