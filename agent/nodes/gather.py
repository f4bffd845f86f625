"""Gather: one branch per source, run in parallel by LangGraph's ``Send`` fan-out.

Each branch adds the analysis step's :class:`StepResult` to the state as it is. A source that
fails (a backend error, a timeout, a bug in one analysis) reports ``ok=False``; the
investigation continues on the other sources with lower confidence.
"""

from __future__ import annotations

import time
from typing import Any

from langgraph.runtime import Runtime

from agent.context import InvestigationDeps
from agent.events import finding, note
from agent.nodes.common import deps_of, emit
from agent.state import GatherTask
from mcp_server.analysis.signals import StepResult
from mcp_server.backends.notes import NoteWatch

STEP = "gather"


def gather_node(task: GatherTask, runtime: Runtime[InvestigationDeps]) -> dict[str, Any]:
    deps = deps_of(runtime)
    began = time.perf_counter()
    watch = NoteWatch(deps.backend)  # what the backend cut or skipped for this source
    try:
        found = deps.analysis.gather(task.source, deps.backend, task.scope)
    except Exception as exc:  # one source failing must not fail the investigation
        seconds = time.perf_counter() - began
        message = f"{task.source.value} unavailable: {type(exc).__name__}: {exc}"[:300]
        emit(note(STEP, message))
        failed = StepResult(step=task.source.value, ok=False, error=message, seconds=seconds)
        return {"findings": [failed], "notes": [message, *watch.messages()],
                "timings": {f"gather.{task.source.value}": seconds}, "tool_calls": 1}  # fmt: skip
    seconds = time.perf_counter() - began
    found = found.model_copy(update={"seconds": seconds})
    count = len(found.all_evidence())
    emit(finding(STEP, f"{task.source.value}: {count} finding{'' if count == 1 else 's'}", source=task.source.value,
                 count=count, seconds=round(seconds, 3)))  # fmt: skip
    return {
        "findings": [found],
        "notes": [*found.notes, *watch.messages()],
        "timings": {f"gather.{task.source.value}": seconds},
        "tool_calls": 1,
    }
