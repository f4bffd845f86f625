"""Scope: fix the services, symptom, window and baseline from the trigger and the data."""

from __future__ import annotations

import time
from typing import Any

from langgraph.runtime import Runtime
from langgraph.types import Send

from agent.context import InvestigationDeps
from agent.events import finding, step_finished, step_started
from agent.nodes.common import deps_of, emit
from agent.state import GatherTask, InvestigationState
from mcp_server.backends.notes import NoteWatch

STEP = "scope"


def scope_node(state: InvestigationState, runtime: Runtime[InvestigationDeps]) -> dict[str, Any]:
    deps = deps_of(runtime)
    emit(step_started(STEP, "fixing services, window and baseline"))
    began = time.perf_counter()
    watch = NoteWatch(deps.backend)
    scope = deps.analysis.scope(deps.backend, deps.spec, state.trigger, state.window)
    seconds = time.perf_counter() - began
    window = f"{scope.window.start:%Y-%m-%d %H:%M}–{scope.window.end:%H:%M} UTC"
    services = ", ".join(scope.named_services) or "not named; searching all services"
    emit(finding(STEP, f"window {window}; services: {services}", onset=str(scope.onset or "")))
    emit(step_finished(STEP, seconds=round(seconds, 3)))
    notes = [*scope.notes, *watch.messages()]
    update: dict[str, Any] = {"scope": scope, "timings": {STEP: seconds}, "notes": notes}
    if not state.started_at:
        update["started_at"] = deps.clock()
    return update


def fan_out(state: InvestigationState, runtime: Runtime[InvestigationDeps]) -> list[Send]:
    """One parallel gather branch per source."""
    deps = deps_of(runtime)
    if state.scope is None:  # scope_node always sets it
        raise RuntimeError("gather needs a scope")
    return [Send("gather", GatherTask(source=source, scope=state.scope)) for source in deps.analysis.sources]
