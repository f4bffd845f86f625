"""Hypothesize: the reasoner ranks causes from the findings; every hypothesis cites evidence.

A person's earlier verdicts are applied to whatever the reasoner returns (:mod:`agent.reranking`).
"""

from __future__ import annotations

import time
from typing import Any

from langgraph.config import get_stream_writer
from langgraph.runtime import Runtime

from agent.context import InvestigationDeps
from agent.events import EventKind, ProgressEvent, finding, note, step_finished, step_started
from agent.nodes.common import budget_use, deps_of, emit
from agent.reasoners.base import ReasoningContext, ReasoningRequest
from agent.reranking import apply_feedback
from agent.state import InvestigationState

STEP = "hypothesize"


def hypothesize_node(state: InvestigationState, runtime: Runtime[InvestigationDeps]) -> dict[str, Any]:
    deps = deps_of(runtime)
    if state.scope is None:
        raise RuntimeError("hypothesize needs a scope")
    emit(step_started(STEP, f"ranking causes with the {deps.reasoner.name} reasoner"))
    began = time.perf_counter()
    used = budget_use(state, deps)
    request = ReasoningRequest(
        question=state.question,
        scope=state.scope,
        findings=state.findings,
        extra_evidence=state.extra_evidence,
        knowledge=state.knowledge,
        feedback=state.feedback,
        previous=state.hypotheses,
        tool_calls_left=max(0, deps.budgets.max_tool_calls - used.tool_calls),
        tokens_left=max(0, deps.budgets.max_tokens - used.tokens),
        seconds_left=max(0.0, deps.budgets.wall_seconds - used.seconds),
    )
    writer = get_stream_writer()  # captured here: the reasoner may report from a worker thread
    context = ReasoningContext(
        backend=deps.backend, knowledge=deps.knowledge, progress=lambda message: writer(note(STEP, message))
    )
    reply = deps.reasoner.hypothesize(request, context)
    hypotheses = apply_feedback(reply.hypotheses, state.feedback)
    if reply.fell_back:
        emit(ProgressEvent(kind=EventKind.FALLBACK, step=STEP, message="; ".join(reply.notes[-1:])))
    for h in hypotheses[:3]:
        emit(finding(STEP, f"#{h.rank} {h.service}: {h.fault_type.value} ({h.confidence:.2f})",
                     service=h.service, fault_type=h.fault_type.value, confidence=h.confidence))  # fmt: skip
    seconds = time.perf_counter() - began
    emit(step_finished(STEP, f"{len(hypotheses)} hypotheses", seconds=round(seconds, 3)))
    return {
        "hypotheses": hypotheses,
        "extra_evidence": reply.new_evidence,
        "notes": reply.notes,
        "reasoner": reply.reasoner,
        "tool_calls": reply.tool_calls,
        "tokens": reply.tokens,
        "timings": {STEP: state.timings.get(STEP, 0.0) + seconds},
        "verify_rounds": 0,
    }
