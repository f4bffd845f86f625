"""Verify: test the top hypotheses against the data with targeted queries, revise, loop.

The checks themselves are the analysis layer's (:mod:`mcp_server.analysis.verification`): "did the
errors start in this service?", "was there a deployment of it before onset?", "are the failures
on one host?". A refuted hypothesis drops below the others; an untestable one stays where it
was. The loop continues while the leading hypothesis is refuted and the budget allows; with a
verification budget of zero rounds the graph goes straight on to review.
"""

from __future__ import annotations

import time
from typing import Any, Literal

from langgraph.runtime import Runtime

from agent.context import InvestigationDeps
from agent.events import finding, note, step_finished, step_started
from agent.nodes.common import budget_use, deps_of, emit
from agent.reranking import REVIEWER_REJECTED, refuted_last
from agent.state import InvestigationState, hypothesis_key
from mcp_server.analysis.models import Evidence, EvidenceKind, Hypothesis

STEP = "verify"
PER_ROUND = 3
REFUTED_FACTOR = 0.6


def verify_node(state: InvestigationState, runtime: Runtime[InvestigationDeps]) -> dict[str, Any]:
    deps = deps_of(runtime)
    if state.scope is None:
        raise RuntimeError("verify needs a scope")
    round_no = state.verify_rounds + 1
    emit(step_started(STEP, f"verification round {round_no}"))
    began = time.perf_counter()
    checked = set(state.checked)
    # A person's rejection stands: the data is not asked to overrule it.
    todo = [
        h for h in state.hypotheses if hypothesis_key(h) not in checked and REVIEWER_REJECTED not in h.flags
    ][:PER_ROUND]
    revised: dict[str, Hypothesis] = {}
    new_evidence: list[Evidence] = []
    notes: list[str] = []
    calls = 0
    for h in todo:
        key = hypothesis_key(h)
        checked.add(key)
        calls += 1
        try:
            check = deps.analysis.check(deps.backend, state.scope, h)
        except Exception as exc:  # a failed check leaves the hypothesis untested, not the run failed
            notes.append(f"verification of {key} failed: {type(exc).__name__}: {exc}"[:300])
            continue
        verdict = check.verdict
        ev = Evidence(
            id=f"verify-{round_no}-{len(new_evidence) + 1}",
            kind=EvidenceKind.VERIFICATION,
            service=h.service,
            description=check.finding,
            source_query=check.query,
            attributes={"hypothesis": key, "verdict": verdict},
        )
        new_evidence.append(ev)
        update: dict[str, Any] = {"verified": verdict, "evidence": [*h.evidence, ev]}
        if verdict is False:
            update["confidence"] = round(h.confidence * REFUTED_FACTOR, 3)
            update["flags"] = [*h.flags, "refuted by verification"]
        revised[key] = h.model_copy(update=update)
        label = {True: "confirmed", False: "refuted", None: "untested"}[verdict]
        emit(finding(STEP, f"{key}: {label} — {check.finding}", hypothesis=key, verdict=verdict))
    hypotheses = refuted_last([revised.get(hypothesis_key(h), h) for h in state.hypotheses])
    exhausted = budget_use(state, deps).exhausted(deps.budgets)
    if exhausted:
        notes.append(f"verification stopped: {exhausted}")
    for message in notes:
        emit(note(STEP, message))
    seconds = time.perf_counter() - began
    emit(step_finished(STEP, f"round {round_no}: {len(todo)} checked", seconds=round(seconds, 3)))
    return {
        "hypotheses": hypotheses,
        "extra_evidence": new_evidence,
        "checked": sorted(checked),
        "verify_rounds": round_no,
        "notes": notes,
        "tool_calls": calls,
        "timings": {STEP: state.timings.get(STEP, 0.0) + seconds},
    }


def before_verify(
    state: InvestigationState, runtime: Runtime[InvestigationDeps]
) -> Literal["verify", "review"]:
    """Verify unless the budget allows no verification round (the engine-only investigation)."""
    return "verify" if deps_of(runtime).budgets.max_verify_rounds > 0 else "review"


def after_verify(
    state: InvestigationState, runtime: Runtime[InvestigationDeps]
) -> Literal["verify", "review"]:
    """Loop while the leading hypothesis is still untested (the previous leaders were refuted)."""
    deps = deps_of(runtime)
    leader = state.hypotheses[0] if state.hypotheses else None
    if leader is None or hypothesis_key(leader) in set(state.checked):
        return "review"
    if state.verify_rounds >= deps.budgets.max_verify_rounds:
        return "review"
    return "review" if budget_use(state, deps).exhausted(deps.budgets) else "verify"
