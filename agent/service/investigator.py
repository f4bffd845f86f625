"""The production :class:`~agent.service.worker.Investigator`: the LangGraph investigation.

An alarm becomes a trigger (kind alarm, its service and time) and, when a person asked for one
(``/sleuth investigate visits 30m``), a window ending at the request; the graph runs with the
shared backend and knowledge store; progress events go to the notifiers; the result is stored as
JSON next to the queue (``<results>/<job id>/result.json``, the drafted report beside it) and
summarised for Slack and webhooks. Summaries name the report file, never a server path: people
reach it through ``sleuth serve`` (:class:`~agent.service.auth.ReportLinks`).
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

from agent.events import EventKind
from agent.service.jobs import ExecutionLog
from agent.service.payloads import AlarmEvent, parse_duration
from agent.service.worker import Progress
from mcp_server.analysis.models import HypothesisView, InvestigationResult
from mcp_server.backends.base import TelemetryBackend
from mcp_server.scenario import Trigger, TriggerKind
from mcp_server.telemetry import TimeWindow

_PROGRESS_KINDS = {EventKind.STEP_FINISHED, EventKind.NOTE, EventKind.FALLBACK}


def trigger_for(event: AlarmEvent) -> Trigger:
    return Trigger(
        kind=TriggerKind.ALARM,
        text=event.question,
        service=event.service,
        time=event.time,
        alarm=event.alarm_name,
    )


def window_for(event: AlarmEvent) -> TimeWindow | None:
    """The window a person asked for (``labels["window"]``, e.g. 30m), ending at the request."""
    asked = event.labels.get("window")
    if not asked:
        return None
    try:
        span = parse_duration(asked)
    except ValueError:
        return None
    return TimeWindow(start=event.time - span, end=event.time)


def summarise(result: InvestigationResult, report: str | None) -> dict[str, Any]:
    top = result.hypotheses[0] if result.hypotheses else None
    headline = (
        f"Most likely: {top.fault_type.value.replace('_', ' ')} on {top.service} ({top.confidence:.0%})"
        if top
        else "No anomaly found in the window"
    )
    return {
        "headline": headline,
        "investigation": result.id,
        "hypotheses": [HypothesisView.of(h).model_dump(mode="json") for h in result.hypotheses[:5]],
        "mitigations": [m.action for m in sorted(result.mitigations, key=lambda m: m.order) if m.applicable],
        "notes": result.notes,
        "reasoner": result.reasoner,
        "report": report,
        "tokens": dict(result.tokens),  # what an LLM reasoner used (metrics); empty offline
    }


class GraphInvestigator:
    """Runs the investigation graph for each alarm; safe to call from several worker threads."""

    def __init__(
        self,
        backend: TelemetryBackend,
        *,
        results_dir: Path,
        reasoner: str | None = None,
        knowledge: Any = None,
        draft_report: bool = True,
        checkpointer: Any = None,
        execution_log: ExecutionLog | None = None,
    ) -> None:
        self.backend = backend
        self.results_dir = Path(results_dir)
        self.reasoner = reasoner
        self.knowledge = knowledge
        self.draft_report = draft_report
        # Shared (e.g. Postgres) checkpoints keyed by the job id: a job taken over after its worker
        # died resumes from the last completed node instead of starting again.
        self.checkpointer = checkpointer
        self.execution_log = execution_log  # completed nodes, per job and worker (the job store)
        self._lock = threading.Lock()

    def __call__(self, job_id: str, event: AlarmEvent, progress: Progress) -> dict[str, Any]:
        from agent.run import collect, saved_state, stream_investigation, stream_resume
        from agent.wiring import investigation_deps

        report_dir = self.results_dir / job_id
        report_dir.mkdir(parents=True, exist_ok=True)
        deps = investigation_deps(
            self.backend,
            reasoner=self.reasoner,
            knowledge=self.knowledge,
            report_dir=str(report_dir) if self.draft_report else None,
            **({"checkpointer": self.checkpointer} if self.checkpointer is not None else {}),
        )

        def forward(progress_event: Any) -> None:
            if progress_event.kind is EventKind.NODE_COMPLETED and self.execution_log is not None:
                self.execution_log.record_node(job_id, progress_event.step, progress_event.data["task"])
            if progress_event.kind in _PROGRESS_KINDS and progress_event.message:
                progress(progress_event.message)

        if self.checkpointer is not None and saved_state(job_id, self.checkpointer) is not None:
            progress("resuming from the last checkpoint")
            events = stream_resume(job_id, deps)
        else:
            events = stream_investigation(
                trigger_for(event),
                deps,
                investigation_id=job_id if self.checkpointer is not None else None,
                question=event.question,
                window=window_for(event),
            )
        result = collect(events, forward)
        (report_dir / "result.json").write_text(result.model_dump_json(indent=2), encoding="utf-8")
        reports = sorted(report_dir.glob("*.html"))
        return summarise(result, reports[0].name if reports else None)
