"""Mitigate: recommendations in SOP order (roll back, shift away, scale up; restarts last)."""

from __future__ import annotations

import time
from typing import Any

from langgraph.runtime import Runtime

from agent.context import InvestigationDeps
from agent.events import finding, note, step_finished, step_started
from agent.nodes.common import deps_of, emit
from agent.state import InvestigationState
from mcp_server.analysis.models import KnowledgeRef, Mitigation, MitigationKind

STEP = "mitigate"
SOP_ORDER = list(MitigationKind)


def in_sop_order(mitigations: list[Mitigation]) -> list[Mitigation]:
    """Applicable steps first, each group in SOP order; ``order`` renumbered to match."""
    ordered = sorted(mitigations, key=lambda m: (not m.applicable, SOP_ORDER.index(m.kind), m.order))
    return [m.model_copy(update={"order": i}) for i, m in enumerate(ordered, start=1)]


def matching_sop(deps: InvestigationDeps, state: InvestigationState) -> list[KnowledgeRef]:
    """The runbook written for the leading hypothesis' fault type, so the steps cite the right SOP."""
    if deps.knowledge is None or not state.hypotheses:
        return []
    top = state.hypotheses[0]
    query = f"{top.service} {top.fault_type.value.replace('_', ' ')} mitigation"
    try:
        hits = deps.knowledge.search(query, type="sop", fault_types=[top.fault_type.value], k=1)
    except Exception:  # the store is optional; consult already noted an outage
        return []
    return [
        KnowledgeRef(doc_id=h.doc_id, doc_type=str(h.type), title=h.title, section=h.section, score=h.score)
        for h in hits
    ]


def mitigate_node(state: InvestigationState, runtime: Runtime[InvestigationDeps]) -> dict[str, Any]:
    deps = deps_of(runtime)
    if state.scope is None:
        raise RuntimeError("mitigate needs a scope")
    emit(step_started(STEP, "recommending mitigations"))
    began = time.perf_counter()
    knowledge = matching_sop(deps, state) + state.knowledge
    try:
        mitigations = deps.analysis.mitigate(state.scope, state.hypotheses, state.findings, knowledge)
    except Exception as exc:  # recommendations are advice: their failure must not lose the findings
        message = f"mitigation step failed: {type(exc).__name__}: {exc}"[:300]
        emit(note(STEP, message))
        return {"notes": [message], "timings": {STEP: time.perf_counter() - began}}
    mitigations = in_sop_order(mitigations)
    for m in mitigations[:3]:
        if m.applicable:
            emit(finding(STEP, f"{m.order}. {m.kind.value}: {m.action}", kind=m.kind.value))
    seconds = time.perf_counter() - began
    emit(step_finished(STEP, f"{len(mitigations)} recommendations", seconds=round(seconds, 3)))
    return {"mitigations": mitigations, "timings": {STEP: seconds}}
