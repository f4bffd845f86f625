"""The one entry point every front end calls: run (or stream) an investigation.

    deps = wiring.investigation_deps(backend, ...)                 # agent/wiring.py, for every entry point
    result = run_investigation(trigger, deps)                      # CLI, eval harness
    for event in stream_investigation(trigger, deps): ...           # Rich display, Slack, MCP progress
    result = resume_investigation(investigation_id, deps, answer)   # after a crash or a review pause

Runs are checkpointed (SQLite under the data directory unless ``deps.checkpointer`` says
otherwise); the investigation id is the checkpoint thread id.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

from langchain_core.runnables import RunnableConfig
from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.types import Command, Interrupt
from pydantic import ValidationError

from agent.checkpoints import close_checkpointer, open_checkpointer
from agent.context import InvestigationDeps
from agent.errors import AwaitingReview, IncompatibleCheckpointError, UnknownInvestigationError
from agent.events import EventKind, ProgressEvent
from agent.graph import build_graph
from agent.state import InvestigationState
from mcp_server.analysis.models import InvestigationResult
from mcp_server.errors import SleuthError
from mcp_server.scenario import Trigger
from mcp_server.telemetry import TimeWindow


def new_investigation_id() -> str:
    return f"inv-{datetime.now(UTC):%Y%m%d-%H%M%S}-{secrets.token_hex(3)}"


def _config(investigation_id: str) -> RunnableConfig:
    return {"configurable": {"thread_id": investigation_id}, "recursion_limit": 100}


def _events(
    graph: Any, graph_input: Any, investigation_id: str, deps: InvestigationDeps
) -> Iterator[ProgressEvent]:
    config = _config(investigation_id)
    paused: ProgressEvent | None = None
    # Drain the stream to its end even after an interrupt: LangGraph finishes writing the
    # checkpoint in the background, and the connection must outlive those writes.
    modes = ["custom", "updates", "tasks"]
    for mode, chunk in graph.stream(graph_input, config, context=deps, stream_mode=modes):
        if mode == "custom" and isinstance(chunk, ProgressEvent):
            yield chunk
        elif mode == "tasks" and _completed_task(chunk):
            yield ProgressEvent(kind=EventKind.NODE_COMPLETED, step=chunk["name"], data={"task": chunk["id"]})
        elif mode == "updates" and isinstance(chunk, dict) and "__interrupt__" in chunk:
            pending: tuple[Interrupt, ...] = chunk["__interrupt__"]
            paused = ProgressEvent(
                kind=EventKind.INTERRUPT,
                step="review",
                message=f"waiting for review: resume with --resume {investigation_id}",
                data={"id": investigation_id, "payload": pending[0].value if pending else None},
            )
    if paused is not None:
        yield paused
        return
    snapshot = graph.get_state(config)
    result = snapshot.values.get("result") if snapshot.values else None
    if isinstance(result, InvestigationResult):
        yield ProgressEvent(
            kind=EventKind.RESULT,
            step="report",
            message="investigation finished",
            data={
                "id": investigation_id,
                "report": dict(snapshot.values.get("report") or {}),  # format -> path of a drafted COE
            },
            result=result,
        )


def _completed_task(chunk: Any) -> bool:
    """A "tasks" chunk reporting a node that ended without error or interrupt (not a task start)."""
    return (
        isinstance(chunk, dict)
        and "result" in chunk
        and chunk.get("error") is None
        and not chunk.get("interrupts")
    )


def _with_checkpointer(deps: InvestigationDeps) -> tuple[BaseCheckpointSaver[Any], bool]:
    if deps.checkpointer is not None:
        return deps.checkpointer, False
    return open_checkpointer(), True


def stream_investigation(
    trigger: Trigger,
    deps: InvestigationDeps,
    *,
    investigation_id: str | None = None,
    question: str = "",
    scenario: str | None = None,
    data_dir: str | None = None,
    window: TimeWindow | None = None,
) -> Iterator[ProgressEvent]:
    """Run a new investigation, yielding progress events; the last is RESULT or INTERRUPT."""
    investigation_id = investigation_id or new_investigation_id()
    # An alarm's reason or a Slack message can carry a secret like any log line: redact it before
    # it reaches the state, the checkpoints, the prompt or the result.
    trigger = deps.redactor.model(trigger)
    state = InvestigationState(
        id=investigation_id,
        scenario=scenario or (deps.spec.name if deps.spec else None),
        data_dir=data_dir,
        question=deps.redactor.text(question or trigger.text),
        trigger=trigger,
        window=window,
        reasoner=deps.reasoner.name,
    )
    checkpointer, owned = _with_checkpointer(deps)
    try:
        yield from _events(build_graph(checkpointer), state, investigation_id, deps)
    finally:
        if owned:
            close_checkpointer(checkpointer)


def stream_resume(
    investigation_id: str, deps: InvestigationDeps, answer: Any = None
) -> Iterator[ProgressEvent]:
    """Continue a checkpointed investigation: after a crash (no answer) or a review pause (the answer)."""
    checkpointer, owned = _with_checkpointer(deps)
    try:
        graph = build_graph(checkpointer)
        snapshot = _snapshot(graph, investigation_id)
        if not snapshot.values:
            raise UnknownInvestigationError(investigation_id)
        _readable(investigation_id, snapshot.values)
        waiting = any(task.interrupts for task in snapshot.tasks)
        answer = deps.redactor.data(answer) if answer is not None else {}  # a reviewer's words, redacted too
        graph_input: Any = Command(resume=answer) if waiting else None
        yield from _events(graph, graph_input, investigation_id, deps)
    finally:
        if owned:
            close_checkpointer(checkpointer)


def saved_state(
    investigation_id: str, checkpointer: BaseCheckpointSaver[Any] | None = None
) -> InvestigationState | None:
    """The last checkpointed state of an investigation (to find its data directory on resume)."""
    saver = checkpointer or open_checkpointer()
    try:
        snapshot = _snapshot(build_graph(saver), investigation_id)
        return _readable(investigation_id, snapshot.values) if snapshot.values else None
    finally:
        if checkpointer is None:
            close_checkpointer(saver)


def _snapshot(graph: Any, investigation_id: str) -> Any:
    """The graph's last checkpoint of an investigation; LangGraph reads it into this version's state model."""
    try:
        return graph.get_state(_config(investigation_id))
    except ValidationError as exc:
        raise _incompatible(investigation_id, exc) from None


def _readable(investigation_id: str, values: Any) -> InvestigationState:
    """The checkpointed state as this version's model, or a clear error when another version wrote it."""
    try:
        return InvestigationState.model_validate(values)
    except ValidationError as exc:
        raise _incompatible(investigation_id, exc) from None


def _incompatible(investigation_id: str, exc: ValidationError) -> IncompatibleCheckpointError:
    first = exc.errors()[0]
    where = ".".join(str(part) for part in first["loc"])
    return IncompatibleCheckpointError(investigation_id, f"{where}: {first['msg']}")


def collect(events: Iterator[ProgressEvent], on_event: Any = None) -> InvestigationResult:
    """Drain a stream; return its result or raise :class:`AwaitingReview`."""
    try:
        for event in events:
            if on_event is not None:
                on_event(event)
            if event.kind is EventKind.RESULT and event.result is not None:
                return event.result
            if event.kind is EventKind.INTERRUPT:
                raise AwaitingReview(event.data["id"], event.data.get("payload"))
    finally:
        close = getattr(events, "close", None)
        if close is not None:
            close()  # release the stream's checkpointer now, not when the generator is collected
    raise SleuthError("the investigation ended without a result")


def run_investigation(trigger: Trigger, deps: InvestigationDeps, **options: Any) -> InvestigationResult:
    """Run an investigation to the end (or to a review pause, raising :class:`AwaitingReview`)."""
    on_event = options.pop("on_event", None)
    return collect(stream_investigation(trigger, deps, **options), on_event)


def resume_investigation(
    investigation_id: str, deps: InvestigationDeps, answer: Any = None, on_event: Any = None
) -> InvestigationResult:
    return collect(stream_resume(investigation_id, deps, answer), on_event)
