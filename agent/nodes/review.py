"""Review: a person may accept or reject hypotheses and ask the agent to look somewhere else.

The node pauses the graph with ``interrupt``; the caller resumes it with
``Command(resume={"accept": [1], "reject": [2], "add_evidence": [{"service": ..., "text": ...}]})``.
Rejections and new evidence send the investigation back to hypothesize; otherwise it moves on.
"""

from __future__ import annotations

from typing import Any, Literal

from langgraph.runtime import Runtime
from langgraph.types import interrupt
from pydantic import ValidationError

from agent.context import InvestigationDeps
from agent.events import finding, note
from agent.nodes.common import deps_of, emit
from agent.reranking import apply_feedback
from agent.state import HumanFeedback, InvestigationState, hypothesis_key
from mcp_server.analysis.models import Evidence, HypothesisView
from mcp_server.errors import SleuthError

STEP = "review"


def review_payload(state: InvestigationState) -> dict[str, Any]:
    """What the person sees: the ranking and how to answer. It is checkpointed with the pause, so
    it is plain JSON (the process edge); :class:`HypothesisView` reads each hypothesis back."""
    return {
        "investigation": state.id,
        "hypotheses": [HypothesisView.of(h).model_dump(mode="json") for h in state.hypotheses[:5]],
        "answer_with": {
            "accept": "[ranks]",
            "reject": "[ranks]",
            "add_evidence": "[{service, text, note}]",
            "note": "text",
        },
    }


def review_node(state: InvestigationState, runtime: Runtime[InvestigationDeps]) -> dict[str, Any]:
    deps = deps_of(runtime)
    if not deps.human_review or state.review_rounds >= deps.budgets.max_review_rounds:
        return {"rework": False}
    answer = interrupt(review_payload(state))
    try:
        feedback = HumanFeedback.model_validate(answer or {})
    except ValidationError as exc:
        message = f"review answer ignored: {exc.errors()[0]['msg']}"
        emit(note(STEP, message))
        return {"notes": [message], "review_rounds": state.review_rounds + 1, "rework": False}
    by_rank = {h.rank: hypothesis_key(h) for h in state.hypotheses}
    feedback = feedback.model_copy(
        update={
            "accepted_keys": [by_rank[r] for r in feedback.accept if r in by_rank],
            "rejected_keys": [by_rank[r] for r in feedback.reject if r in by_rank],
        }
    )
    added: list[Evidence] = []
    notes: list[str] = []
    if state.scope is not None:
        for i, request in enumerate(feedback.add_evidence, start=1):
            try:
                found = deps.analysis.look(deps.backend, state.scope, request.service, request.text)
            except SleuthError as exc:
                notes.append(
                    f"could not look at {request.service or 'all services'} for {request.text!r}: {exc}"
                )
                continue
            for j, ev in enumerate(found, start=1):
                ev_id = f"human-{state.review_rounds + 1}-{i}-{j}"
                description = ev.description + (f" (reviewer: {request.note})" if request.note else "")
                added.append(ev.model_copy(update={"id": ev_id, "description": description}))
    for ev in added:
        emit(finding(STEP, ev.description, evidence_id=ev.id))
    if feedback.note:
        notes.append(f"reviewer: {feedback.note}")
    return {
        "hypotheses": apply_feedback(state.hypotheses, [feedback]),
        "feedback": [*state.feedback, feedback],
        "extra_evidence": added,
        "notes": notes,
        "review_rounds": state.review_rounds + 1,
        "checked": [] if feedback.wants_more else state.checked,
        "rework": feedback.wants_more,
        # The wall-time budget restarts: time spent waiting for a person is not the agent's time.
        "started_at": deps.clock(),
    }


def after_review(state: InvestigationState) -> Literal["hypothesize", "mitigate"]:
    return "hypothesize" if state.rework else "mitigate"
