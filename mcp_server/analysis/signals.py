"""What the investigation steps hand each other: the scope and the per-service signals.

Every gather step returns a :class:`StepResult` (pydantic, so graph state carries it as it is). A
:class:`Signal` says "service X looks wrong in this way, this strongly, since then" and carries
the :class:`Evidence` that shows it; the ranking turns signals into hypotheses. The :class:`Scope`
is the one description of where and when to look, for the engine, the MCP tools and the agent.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from mcp_server.analysis.models import Evidence
from mcp_server.scenario import Trigger
from mcp_server.telemetry import Alarm, ChangeEvent, ServiceEdge, SloStatus, TimeWindow


class Scope(BaseModel):
    """Where and when to look: the incident window, its onset and the baseline before it."""

    model_config = ConfigDict(extra="forbid")

    window: TimeWindow
    onset: datetime
    onset_source: Literal["trigger", "detected", "default"]
    baseline: TimeWindow
    incident: TimeWindow
    bucket_seconds: int
    services: list[str] = Field(default_factory=list)
    focus_service: str | None = None
    trigger: Trigger = Field(default_factory=Trigger)
    notes: list[str] = Field(default_factory=list)
    clarity: float = Field(default=1.0, ge=0.0, le=1.0)  # how clearly the data shows an onset
    # per service, when its own witnesses of the onset's episode began to move (a ramp's start)
    service_starts: dict[str, datetime] = Field(default_factory=dict)

    @property
    def named_services(self) -> list[str]:
        """The services the trigger names and the data knows (empty: search them all)."""
        return [self.focus_service] if self.focus_service else []

    def window_text(self, which: Literal["incident", "baseline", "window"] = "incident") -> str:
        w = {"incident": self.incident, "baseline": self.baseline, "window": self.window}[which]
        return f"{w.start.isoformat()}/{w.end.isoformat()}"


class SignalKind(StrEnum):
    ERROR_ORIGIN = "error_origin"  # the deepest failing spans are here
    ERROR_RATE = "error_rate"  # the service's spans fail more (may be propagated)
    SELF_LATENCY = "self_latency"  # time spent in the service itself grew
    LATENCY = "latency"  # end-to-end latency grew (may be propagated)
    METRIC = "metric"
    LOG = "log"
    CHANGE = "change"
    HOST_SKEW = "host_skew"
    STRUCTURE = "structure"  # the service's code path changed (calls made, or whom it returns after)
    EDGE = "edge"  # a call edge into the service degraded
    SLO = "slo"
    ALARM = "alarm"


class Signal(BaseModel):
    model_config = ConfigDict(extra="forbid")

    service: str
    kind: SignalKind
    strength: float = Field(ge=0.0, le=1.0)
    onset: datetime | None = None
    evidence: Evidence
    hints: dict[str, Any] = Field(default_factory=dict)  # for fault classification (peer, host, words...)


class FirstAlarm(BaseModel):
    """The first alarm that fired at or after the onset: when someone was told."""

    model_config = ConfigDict(extra="forbid")

    name: str
    time: datetime


class StepResult(BaseModel):
    """One gather step's findings. A step that failed says so (``ok=False``) and carries no signals."""

    model_config = ConfigDict(extra="forbid")

    step: str
    ok: bool = True
    error: str = ""
    signals: list[Signal] = Field(default_factory=list)
    evidence: list[Evidence] = Field(default_factory=list)  # findings not tied to one service's signal
    edges: list[ServiceEdge] = Field(default_factory=list)  # the incident call graph (traces step)
    baseline_edges: list[ServiceEdge] = Field(default_factory=list)
    notes: list[str] = Field(default_factory=list)
    slos: list[SloStatus] = Field(default_factory=list)  # slos_alarms: every SLO's status in the window
    alarms: list[Alarm] = Field(default_factory=list)  # slos_alarms: the alarms that fired in the window
    first_alarm: FirstAlarm | None = None  # slos_alarms
    changes: list[ChangeEvent] = Field(default_factory=list)  # changes: those near the onset
    seconds: float = 0.0

    def all_evidence(self) -> list[Evidence]:
        """The signals' evidence, then the step's other findings: the order their ids were given in."""
        return [sig.evidence for sig in self.signals] + list(self.evidence)
