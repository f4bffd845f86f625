"""Report: assemble the :class:`InvestigationResult` and hand it to the report drafter."""

from __future__ import annotations

import importlib
import time
from typing import Any

from langgraph.runtime import Runtime

from agent.analysis import AnalysisSteps
from agent.context import InvestigationDeps
from agent.events import note, step_finished, step_started
from agent.nodes.common import deps_of, emit
from agent.state import InvestigationState
from mcp_server.analysis.models import EvidenceKind, InvestigationResult

STEP = "report"


def _payload_list(state: InvestigationState, key: str) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for f in state.findings:
        value = f.payload.get(key)
        if isinstance(value, list):
            out.extend(item for item in value if isinstance(item, dict))
    return out


def assemble_result(
    state: InvestigationState, analysis: AnalysisSteps, total_seconds: float | None = None
) -> InvestigationResult:
    if state.scope is None:
        raise RuntimeError("no scope: the investigation did not start")
    scope = state.scope
    affected = analysis.affected(state.findings) or list(
        dict.fromkeys([*scope.services, *(h.service for h in state.hypotheses)])
    )
    detection = analysis.detection(scope, state.hypotheses, state.findings) if state.hypotheses else None
    timings = dict(state.timings)
    if total_seconds is not None:
        timings["total"] = total_seconds
    onset = scope.onset or min((h.onset for h in state.hypotheses[:1] if h.onset), default=None)
    changes = _payload_list(state, "changes") or [
        {"service": ev.service, "time": ev.time, "description": ev.description}
        for ev in state.all_evidence()
        if ev.kind is EvidenceKind.CHANGE
    ]
    return InvestigationResult(
        id=state.id,
        scenario=state.scenario,
        question=state.question or scope.question,
        trigger=state.trigger.model_dump(mode="json"),
        window={"start": scope.window.start, "end": scope.window.end},
        baseline_window={"start": scope.baseline.start, "end": scope.baseline.end}
        if scope.baseline
        else None,
        onset=onset,
        affected_services=affected,
        hypotheses=state.hypotheses,
        evidence=state.all_evidence(),
        slos=_payload_list(state, "slos"),
        alarms=_payload_list(state, "alarms"),
        changes=changes,
        detection=detection,
        knowledge=state.knowledge,
        mitigations=state.mitigations,
        notes=list(dict.fromkeys(state.notes)),
        reasoner=state.reasoner,
        timings=timings,
        tool_calls=state.tool_calls,
        tokens=dict(state.tokens),
    )


def _drafter() -> Any | None:
    """The report drafter's ``draft_and_write(result, backend, out_dir) -> {format: path}``, if installed."""
    try:
        module = importlib.import_module("agent.report.draft")
    except ImportError:
        return None
    return getattr(module, "draft_and_write", None)


def report_node(state: InvestigationState, runtime: Runtime[InvestigationDeps]) -> dict[str, Any]:
    deps = deps_of(runtime)
    emit(step_started(STEP, "assembling the result"))
    began = time.perf_counter()
    total = deps.clock() - state.started_at if state.started_at else None
    result = assemble_result(state, deps.analysis, total)
    update: dict[str, Any] = {"result": result}
    drafter = _drafter() if deps.draft_report and deps.report_dir else None
    if drafter is not None:
        try:
            written = drafter(result, deps.backend, deps.report_dir)
            update["report"] = {str(k): str(v) for k, v in dict(written or {}).items()}
        except Exception as exc:  # the drafter is a separate package: its failure keeps the result
            message = f"report drafting failed: {type(exc).__name__}: {exc}"[:300]
            emit(note(STEP, message))
            update["notes"] = [message]
    update["timings"] = {STEP: time.perf_counter() - began}
    emit(
        step_finished(STEP, f"{len(result.hypotheses)} hypotheses", seconds=round(update["timings"][STEP], 3))
    )
    return update
