"""Progress events: what an investigation reports while it runs.

The CLI renders them with Rich, the Slack bot posts them, the MCP tool forwards them as progress
notifications. Every event is one small model so each consumer can pick what it shows.
"""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from mcp_server.analysis.models import InvestigationResult


class EventKind(StrEnum):
    STEP_STARTED = "step_started"
    STEP_FINISHED = "step_finished"
    FINDING = "finding"  # one piece of evidence or a hypothesis worth showing as it appears
    NOTE = "note"  # a degraded source, a budget reached, a fallback
    FALLBACK = "fallback"  # the LLM reasoner failed and the offline reasoner took over
    INTERRUPT = "interrupt"  # waiting for a person: resume with Command(resume=...)
    RESULT = "result"  # the investigation finished; ``result`` holds it, ``data`` its id and report files
    # A graph node finished and its writes went to the checkpointer: ``step`` is the node,
    # ``data["task"]`` LangGraph's task id (one per execution: a resumed run never repeats it).
    NODE_COMPLETED = "node_completed"


class ProgressEvent(BaseModel):
    model_config = ConfigDict(extra="forbid")

    kind: EventKind
    step: str = ""
    message: str = ""
    data: dict[str, Any] = Field(default_factory=dict)
    result: InvestigationResult | None = None  # on the RESULT event
    time: datetime = Field(default_factory=lambda: datetime.now(UTC))


def step_started(step: str, message: str = "") -> ProgressEvent:
    return ProgressEvent(kind=EventKind.STEP_STARTED, step=step, message=message or f"{step} started")


def step_finished(step: str, message: str = "", **data: Any) -> ProgressEvent:
    return ProgressEvent(
        kind=EventKind.STEP_FINISHED, step=step, message=message or f"{step} done", data=data
    )


def finding(step: str, message: str, **data: Any) -> ProgressEvent:
    return ProgressEvent(kind=EventKind.FINDING, step=step, message=message, data=data)


def note(step: str, message: str) -> ProgressEvent:
    return ProgressEvent(kind=EventKind.NOTE, step=step, message=message)
