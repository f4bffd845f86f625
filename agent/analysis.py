"""The agent's port onto the analysis engine: scope, one gather step per source, rank, check, mitigate.

:class:`EngineAnalysis` hands the graph ``mcp_server.analysis``'s public functions as they are:
the engine's :class:`Scope` and :class:`StepResult` travel through graph state unchanged, and
the evidence ids the gather steps give are the ones every later step cites.
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from agent.state import Source
from mcp_server.analysis import engine
from mcp_server.analysis.detection import detect
from mcp_server.analysis.mitigation import recommend_mitigations
from mcp_server.analysis.models import Detection, Evidence, Hypothesis, KnowledgeRef, Mitigation
from mcp_server.analysis.signals import Scope, StepResult
from mcp_server.analysis.verification import Check, check_hypothesis, look_in_logs
from mcp_server.backends.base import TelemetryBackend
from mcp_server.scenario import ScenarioSpec, Trigger
from mcp_server.telemetry import TimeWindow


@runtime_checkable
class AnalysisSteps(Protocol):
    name: str
    sources: tuple[Source, ...]

    def scope(
        self,
        backend: TelemetryBackend,
        spec: ScenarioSpec | None,
        trigger: Trigger,
        window: TimeWindow | None,
    ) -> Scope: ...

    def gather(self, source: Source, backend: TelemetryBackend, scope: Scope) -> StepResult: ...

    def rank(self, scope: Scope, findings: list[StepResult]) -> list[Hypothesis]: ...

    def affected(self, findings: list[StepResult]) -> list[str]:
        """Services that show any anomaly (not only the ranked causes)."""
        ...

    def detection(self, scope: Scope, hypotheses: list[Hypothesis], findings: list[StepResult]) -> Detection:
        """When the problem began versus when an alarm fired."""
        ...

    def check(self, backend: TelemetryBackend, scope: Scope, hypothesis: Hypothesis) -> Check:
        """One targeted check of a hypothesis against the data."""
        ...

    def mitigate(
        self,
        scope: Scope,
        hypotheses: list[Hypothesis],
        findings: list[StepResult],
        knowledge: list[KnowledgeRef],
    ) -> list[Mitigation]: ...

    def look(self, backend: TelemetryBackend, scope: Scope, service: str | None, text: str) -> list[Evidence]:
        """Evidence for a person's request ("also look at payments logs for 'timeout'")."""
        ...


class EngineAnalysis:
    """The analysis engine's steps behind the agent's port."""

    name = "engine"
    sources: tuple[Source, ...] = (
        Source.TRACES,
        Source.METRICS,
        Source.LOGS,
        Source.CHANGES,
        Source.SLOS_ALARMS,
        Source.PLATFORM,
    )

    def __init__(self, max_hypotheses: int = engine.MAX_HYPOTHESES) -> None:
        self.max_hypotheses = max_hypotheses

    def scope(
        self,
        backend: TelemetryBackend,
        spec: ScenarioSpec | None,
        trigger: Trigger,
        window: TimeWindow | None,
    ) -> Scope:
        return engine.scope(backend, spec, trigger=trigger, window=window)

    def gather(self, source: Source, backend: TelemetryBackend, scope: Scope) -> StepResult:
        return engine.GATHER_STEPS[source.value](backend, scope)

    def rank(self, scope: Scope, findings: list[StepResult]) -> list[Hypothesis]:
        return engine.rank(scope, findings, self.max_hypotheses)

    def affected(self, findings: list[StepResult]) -> list[str]:
        return engine.affected_services(findings)

    def detection(self, scope: Scope, hypotheses: list[Hypothesis], findings: list[StepResult]) -> Detection:
        return detect(scope, hypotheses, findings)

    def check(self, backend: TelemetryBackend, scope: Scope, hypothesis: Hypothesis) -> Check:
        return check_hypothesis(backend, scope, hypothesis)

    def mitigate(
        self,
        scope: Scope,
        hypotheses: list[Hypothesis],
        findings: list[StepResult],
        knowledge: list[KnowledgeRef],
    ) -> list[Mitigation]:
        if not hypotheses:
            return []
        sop = next((k.doc_id for k in knowledge if k.doc_type == "sop"), None)
        return [m.model_copy(update={"sop": m.sop or sop}) for m in recommend_mitigations(hypotheses[0])]

    def look(self, backend: TelemetryBackend, scope: Scope, service: str | None, text: str) -> list[Evidence]:
        return look_in_logs(backend, scope, service, text)


def default_analysis() -> AnalysisSteps:
    return EngineAnalysis()
