"""The agent's port onto the analysis engine: scope, one gather step per source, rank, mitigate.

:func:`default_analysis` returns the engine's steps (``mcp_server.analysis.engine``). The graph
runs the same steps in the same order as ``engine.investigate``, only in parallel and with
checkpoints in between, so the offline graph reaches the engine's accuracy.
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from agent.state import Scope, Source, SourceFindings
from mcp_server.analysis.models import Evidence, Hypothesis, KnowledgeRef, Mitigation
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

    def gather(self, source: Source, backend: TelemetryBackend, scope: Scope) -> SourceFindings: ...

    def rank(self, scope: Scope, findings: list[SourceFindings]) -> list[Hypothesis]: ...

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


def number_evidence(source: Source, evidence: list[Evidence]) -> list[Evidence]:
    """Give every item an id unique in the investigation: the source name and a counter."""
    return [
        item if item.id else item.model_copy(update={"id": f"{source.value}-{i}"})
        for i, item in enumerate(evidence, start=1)
    ]


def default_analysis() -> AnalysisSteps:
    """The analysis engine's steps when installed, else the basic rules."""
    from agent.basic_analysis import BasicAnalysis

    return BasicAnalysis()
