"""The agent's port onto the analysis engine: scope, one gather step per source, rank, mitigate.

:class:`EngineAnalysis` runs ``mcp_server.analysis.engine``'s own steps in the same order as
``engine.investigate`` (only in parallel branches, with checkpoints in between), so the offline
graph reaches the engine's accuracy. Engine objects cross checkpoints as JSON payloads.
"""

from __future__ import annotations

from typing import Any, Protocol, runtime_checkable

from agent.state import Scope, Source, SourceFindings
from mcp_server.analysis import engine
from mcp_server.analysis.mitigation import recommend_mitigations
from mcp_server.analysis.models import Detection, Evidence, EvidenceKind, Hypothesis, KnowledgeRef, Mitigation
from mcp_server.analysis.signals import Scope as EngineScope
from mcp_server.analysis.signals import SignalKind, StepResult
from mcp_server.backends.base import LogQuery, TelemetryBackend
from mcp_server.scenario import ScenarioSpec, Trigger
from mcp_server.telemetry import TimeWindow
from mcp_server.tool_calls import tool_call

LOOK_LIMIT = 20


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

    def gather(self, source: Source, backend: TelemetryBackend, scope: Scope) -> SourceFindings: ...

    def rank(self, scope: Scope, findings: list[SourceFindings]) -> list[Hypothesis]: ...

    def affected(self, findings: list[SourceFindings]) -> list[str]:
        """Services that show any anomaly (not only the ranked causes)."""
        ...

    def detection(
        self, scope: Scope, hypotheses: list[Hypothesis], findings: list[SourceFindings]
    ) -> Detection | None:
        """When the problem began versus when an alarm fired."""
        ...

    def mitigate(
        self,
        scope: Scope,
        hypotheses: list[Hypothesis],
        findings: list[SourceFindings],
        knowledge: list[KnowledgeRef],
    ) -> list[Mitigation]: ...

    def look(self, backend: TelemetryBackend, scope: Scope, service: str | None, text: str) -> list[Evidence]:
        """Evidence for a person's request ("also look at payments logs for 'timeout'")."""
        ...


def _evidence_key(ev: Evidence) -> tuple[str, str | None, str, str]:
    return (ev.kind.value, ev.service, ev.description, ev.source_query)


def look_in_logs(backend: TelemetryBackend, scope: Scope, service: str | None, text: str) -> list[Evidence]:
    """Log lines matching a person's request, as one evidence item with the first line quoted."""
    query = LogQuery(window=scope.window, service=service, text=text or None, limit=LOOK_LIMIT)
    records = backend.query_logs(query)
    where = service or "all services"
    description = f"{len(records)} log lines in {where} matching {text!r}" + (
        f"; first: {records[0].body[:200]}" if records else ""
    )
    return [
        Evidence(
            kind=EvidenceKind.NOTE,
            service=service,
            description=description,
            value=float(len(records)),
            source_query=tool_call("query_logs", scope.window, service=service, text=text or None),
        )
    ]


class EngineAnalysis:
    """The analysis engine's steps behind the agent's port."""

    name = "engine"
    sources: tuple[Source, ...] = (
        Source.TRACES,
        Source.METRICS,
        Source.LOGS,
        Source.CHANGES,
        Source.SLOS_ALARMS,
    )

    def __init__(self, max_hypotheses: int = 20) -> None:
        self.max_hypotheses = max_hypotheses

    @staticmethod
    def _engine_scope(scope: Scope) -> EngineScope:
        return EngineScope.model_validate(scope.payload)

    @staticmethod
    def _step_results(findings: list[SourceFindings]) -> list[StepResult]:
        return [
            StepResult.model_validate(f.payload["step"]) for f in findings if f.ok and "step" in f.payload
        ]

    def scope(
        self,
        backend: TelemetryBackend,
        spec: ScenarioSpec | None,
        trigger: Trigger,
        window: TimeWindow | None,
    ) -> Scope:
        sc = engine.scope(backend, spec, trigger=trigger, window=window)
        return Scope(
            question=trigger.text,
            symptom=trigger.text,
            services=[sc.focus_service] if sc.focus_service else [],
            window=sc.window,
            baseline=sc.baseline,
            onset=sc.onset,
            known_services=sc.services,
            notes=sc.notes,
            payload=sc.model_dump(mode="json"),
        )

    def gather(self, source: Source, backend: TelemetryBackend, scope: Scope) -> SourceFindings:
        step = engine.GATHER_STEPS[source.value]
        result = step(backend, self._engine_scope(scope))
        evidence = [sig.evidence for sig in result.signals] + list(result.evidence)
        numbered = [
            ev.model_copy(update={"id": f"{source.value}-{i}"}) for i, ev in enumerate(evidence, start=1)
        ]
        payload: dict[str, Any] = {"step": result.model_dump(mode="json"), **result.data}
        return SourceFindings(source=source, evidence=numbered, notes=result.notes, payload=payload)

    def rank(self, scope: Scope, findings: list[SourceFindings]) -> list[Hypothesis]:
        ranking = engine.rank(self._engine_scope(scope), self._step_results(findings), self.max_hypotheses)
        # The engine numbers evidence "ev-N"; cite the ids the gather branches gave the same items.
        ids = {_evidence_key(ev): ev.id for f in findings for ev in f.evidence}
        return [
            h.model_copy(
                update={
                    "evidence": [
                        ev.model_copy(update={"id": ids.get(_evidence_key(ev), ev.id)}) for ev in h.evidence
                    ]
                }
            )
            for h in ranking.hypotheses
        ]

    def affected(self, findings: list[SourceFindings]) -> list[str]:
        return sorted(
            {
                sig.service
                for r in self._step_results(findings)
                for sig in r.signals
                if sig.kind != SignalKind.CHANGE
            }
        )

    def detection(
        self, scope: Scope, hypotheses: list[Hypothesis], findings: list[SourceFindings]
    ) -> Detection | None:
        data = {k: v for f in findings if f.ok for k, v in f.payload.items() if k != "step"}
        return engine._detection(self._engine_scope(scope), hypotheses, data)

    def mitigate(
        self,
        scope: Scope,
        hypotheses: list[Hypothesis],
        findings: list[SourceFindings],
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
