"""Helpers every node shares: its dependencies, progress events and budget accounting."""

from __future__ import annotations

from langgraph.config import get_stream_writer
from langgraph.runtime import Runtime

from agent.context import BudgetUse, InvestigationDeps
from agent.events import ProgressEvent
from agent.state import InvestigationState


def emit(event: ProgressEvent) -> None:
    """Send a progress event to whoever streams the graph (a no-op when nobody does)."""
    get_stream_writer()(event)


def deps_of(runtime: Runtime[InvestigationDeps]) -> InvestigationDeps:
    context = runtime.context
    if context is None:  # a programming error: run_investigation always passes one
        raise RuntimeError("the investigation graph needs InvestigationDeps as its runtime context")
    return context


def budget_use(state: InvestigationState, deps: InvestigationDeps) -> BudgetUse:
    return BudgetUse(
        tool_calls=state.tool_calls,
        tokens=sum(state.tokens.values()),
        seconds=max(0.0, deps.clock() - state.started_at) if state.started_at else 0.0,
    )
