"""The hypothesis contract: what every reasoner emits and every consumer (CLI JSON, MCP, report,
evals) reads. Keep field names stable; ``sleuth investigate --json`` writes these as they are.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from mcp_server.analysis.taxonomy import FaultType


class EvidenceKind(StrEnum):
    METRIC_ANOMALY = "metric_anomaly"
    LOG_PATTERN = "log_pattern"
    ERROR_ORIGIN = "error_origin"
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
