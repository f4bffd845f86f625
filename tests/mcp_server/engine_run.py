"""The analysis engine's steps run in order, for tests of the engine itself.

Investigations run through the agent graph (``agent/wiring.py``); the engine's tests call its
public steps directly, without the graph: scope, every gather step, rank.
"""

from __future__ import annotations

from dataclasses import dataclass

from mcp_server.analysis import engine
from mcp_server.analysis.mitigation import recommend_mitigations
from mcp_server.analysis.models import Evidence, Hypothesis, Mitigation
from mcp_server.analysis.signals import Scope, StepResult
from mcp_server.backends.base import TelemetryBackend
from mcp_server.scenario import ScenarioSpec, Trigger


@dataclass
class EngineRun:
    scope: Scope
    steps: list[StepResult]
    hypotheses: list[Hypothesis]

    @property
    def evidence(self) -> list[Evidence]:
        return [ev for step in self.steps for ev in step.all_evidence()]

    @property
    def notes(self) -> list[str]:
        return [*self.scope.notes, *(note for step in self.steps for note in step.notes)]

    @property
    def mitigations(self) -> list[Mitigation]:
        return recommend_mitigations(self.hypotheses[0]) if self.hypotheses else []


def run_engine(
    backend: TelemetryBackend, spec: ScenarioSpec | None = None, trigger: Trigger | None = None
) -> EngineRun:
    sc = engine.scope(backend, spec, trigger=trigger)
    steps = [gather(backend, sc) for gather in engine.GATHER_STEPS.values()]
    return EngineRun(sc, steps, engine.rank(sc, steps))
