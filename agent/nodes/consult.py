"""Consult: matching SOPs and similar past incidents (COEs) from the knowledge store."""

from __future__ import annotations

import time
from typing import Any

from langgraph.runtime import Runtime

from agent.context import InvestigationDeps
from agent.events import finding, note, step_finished, step_started
from agent.nodes.common import deps_of, emit
from agent.state import InvestigationState
from mcp_server.analysis.models import Evidence, EvidenceKind, KnowledgeRef
from mcp_server.tool_calls import tool_call

STEP = "consult"
PER_TYPE = 3
_QUERY_KINDS = (EvidenceKind.ERROR_ORIGIN, EvidenceKind.LOG_PATTERN, EvidenceKind.CHANGE, EvidenceKind.SLO)


def knowledge_query(state: InvestigationState) -> tuple[str, str | None]:
    """A search query from the symptom and the strongest evidence, and the likeliest service."""
    evidence = [ev for ev in state.all_evidence() if ev.kind in _QUERY_KINDS]
    evidence.sort(key=lambda ev: -(ev.value or 0.0))
    parts = [state.scope.trigger.text if state.scope else state.question]
    parts += [ev.description[:160] for ev in evidence[:4]]
    origins = [ev.service for ev in evidence if ev.kind is EvidenceKind.ERROR_ORIGIN and ev.service]
    named = state.scope.named_services if state.scope else []
    service = origins[0] if origins else (named[0] if named else None)
    return " ".join(p for p in parts if p), service


def consult_node(state: InvestigationState, runtime: Runtime[InvestigationDeps]) -> dict[str, Any]:
    deps = deps_of(runtime)
    emit(step_started(STEP, "searching SOPs and past incidents"))
    began = time.perf_counter()
    if deps.knowledge is None:
        emit(note(STEP, "no knowledge store configured; skipping SOPs and past incidents"))
        return {"notes": ["knowledge store not configured: no SOPs or past incidents consulted"],
                "timings": {STEP: time.perf_counter() - began}}  # fmt: skip
    query, service = knowledge_query(state)
    refs: list[KnowledgeRef] = []
    try:
        for doc_type in ("sop", "coe"):
            for hit in deps.knowledge.search(query, type=doc_type, k=PER_TYPE):
                refs.append(
                    KnowledgeRef(
                        doc_id=hit.doc_id,
                        doc_type=str(hit.type),
                        title=hit.title,
                        section=hit.section,
                        snippet=hit.snippet[:400],
                        score=hit.score,
                    )
                )
    except Exception as exc:  # the store is optional: an outage degrades, never fails, the run
        message = f"knowledge search failed: {type(exc).__name__}: {exc}"[:300]
        emit(note(STEP, message))
        return {"notes": [message], "timings": {STEP: time.perf_counter() - began}, "tool_calls": 1}
    evidence = [
        Evidence(
            id=f"knowledge-{i}",
            kind=EvidenceKind.KNOWLEDGE,
            service=service,
            description=f"{ref.doc_type.upper()} {ref.doc_id}: {ref.title} ({ref.section})",
            source_query=tool_call(
                "search_runbooks" if ref.doc_type == "sop" else "search_past_incidents", query=query
            ),
            attributes={"doc_id": ref.doc_id, "score": ref.score},
        )
        for i, ref in enumerate(refs, start=1)
    ]
    for ref in refs[:4]:
        emit(finding(STEP, f"{ref.doc_type.upper()} {ref.title}", doc_id=ref.doc_id))
    seconds = time.perf_counter() - began
    emit(step_finished(STEP, f"{len(refs)} documents", seconds=round(seconds, 3)))
    return {"knowledge": refs, "extra_evidence": evidence, "timings": {STEP: seconds}, "tool_calls": 2}
