"""Report: assemble the :class:`InvestigationResult` (the one place it is built) and hand it to the
report drafter, when the investigation was given one."""

from __future__ import annotations

import time
from typing import Any

from langgraph.runtime import Runtime

from agent.analysis import AnalysisSteps
from agent.context import InvestigationDeps
from agent.events import note, step_finished, step_started
from agent.nodes.common import deps_of, emit
from agent.state import InvestigationState
from mcp_server.analysis.models import InvestigationResult

STEP = "report"


def assemble_result(
    state: InvestigationState, analysis: AnalysisSteps, total_seconds: float | None = None
) -> InvestigationResult:
    if state.scope is None:
        raise RuntimeError("no scope: the investigation did not start")
    scope = state.scope
    answered = [f for f in state.findings if f.ok]
    affected = analysis.affected(state.findings) or list(
        dict.fromkeys([*scope.named_services, *(h.service for h in state.hypotheses)])
    )
    detection = analysis.detection(scope, state.hypotheses, state.findings) if state.hypotheses else None
    timings = dict(state.timings)
    if total_seconds is not None:
        timings["total"] = total_seconds
    return InvestigationResult(
        id=state.id,
        scenario=state.scenario,
        question=state.question or scope.trigger.text,
        trigger=state.trigger,
        window=scope.window,
        baseline_window=scope.baseline,
        onset=scope.onset,
        onset_source=scope.onset_source,
        affected_services=affected,
        hypotheses=state.hypotheses,
        evidence=state.all_evidence(),
        slos=[status for f in answered for status in f.slos],
        alarms=[alarm for f in answered for alarm in f.alarms],
        changes=[change for f in answered for change in f.changes],
        detection=detection,
        knowledge=state.knowledge,
        mitigations=state.mitigations,
        notes=list(dict.fromkeys(state.notes)),
        reasoner=state.reasoner,
        timings=timings,
        tool_calls=state.tool_calls,
        tokens=dict(state.tokens),
    )


def report_node(state: InvestigationState, runtime: Runtime[InvestigationDeps]) -> dict[str, Any]:
    deps = deps_of(runtime)
    emit(step_started(STEP, "assembling the result"))
    began = time.perf_counter()
    total = deps.clock() - state.started_at if state.started_at else None
    result = assemble_result(state, deps.analysis, total)
    update: dict[str, Any] = {"result": result}
    if deps.drafter is not None and deps.report_dir:
        try:
            written = deps.drafter(result, deps.backend, deps.report_dir)
            update["report"] = {str(k): str(v) for k, v in written.items()}
        except Exception as exc:  # drafting is a nicety: its failure keeps the result
            message = f"report drafting failed: {type(exc).__name__}: {exc}"[:300]
            emit(note(STEP, message))
            update["notes"] = [message]
    update["timings"] = {STEP: time.perf_counter() - began}
    emit(
        step_finished(STEP, f"{len(result.hypotheses)} hypotheses", seconds=round(update["timings"][STEP], 3))
    )
    return update
