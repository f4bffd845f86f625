"""Investigation tools: ``investigate`` (the engine, ranked hypotheses with evidence) and
``draft_incident_report`` (a COE draft), plus the ``sleuth://report/{investigation_id}`` resource."""

import threading
import uuid
from collections import OrderedDict
from datetime import datetime
from typing import Annotated

from mcp.server import MCPServer
from mcp.server.mcpserver.exceptions import ResourceNotFoundError, ToolError
from mcp.types import CallToolResult
from pydantic import Field

from mcp_server.analysis.models import HypothesisView, InvestigationResult
from mcp_server.deps import ServerDeps
from mcp_server.scenario import Trigger, TriggerKind
from mcp_server.tools.common import READ_ONLY, End, ServiceArg, Start, ToolKit, iso, parse_time
from mcp_server.tools.models import InvestigationOut, MitigationOut, ReportOut

KEPT_INVESTIGATIONS = 16
HYPOTHESES_SHOWN = 5
EVIDENCE_PER_HYPOTHESIS = 4


class InvestigationLog:
    """The last few investigations and drafted reports of this server process, by id."""

    def __init__(self) -> None:
        self.results: OrderedDict[str, InvestigationResult] = OrderedDict()
        self.reports: dict[str, tuple[str, str]] = {}  # id -> (title, markdown)
        self._lock = threading.Lock()

    def add(self, result: InvestigationResult) -> str:
        key = result.id or uuid.uuid4().hex[:12]
        with self._lock:
            self.results[key] = result
            while len(self.results) > KEPT_INVESTIGATIONS:
                old, _ = self.results.popitem(last=False)
                self.reports.pop(old, None)
        return key

    def get(self, key: str | None) -> tuple[str, InvestigationResult]:
        with self._lock:
            if not self.results:
                raise ToolError("no investigation has run in this session yet; call investigate first")
            if key is None:
                key = next(reversed(self.results))
            if key not in self.results:
                raise ToolError(f"unknown investigation {key!r}; known: {', '.join(self.results)}")
            return key, self.results[key]


def investigation_out(key: str, result: InvestigationResult) -> InvestigationOut:
    by_id = {e.id: e for e in result.evidence}
    hypotheses = [
        HypothesisView.of(h, evidence=EVIDENCE_PER_HYPOTHESIS, known=by_id)
        for h in result.hypotheses[:HYPOTHESES_SHOWN]
    ]
    more = len(result.hypotheses) - HYPOTHESES_SHOWN
    return InvestigationOut(
        investigation_id=key,
        onset=result.onset,
        affected_services=result.affected_services,
        hypotheses=hypotheses,
        mitigations=[
            MitigationOut(
                order=m.order,
                kind=str(m.kind),
                action=m.action,
                target=m.target,
                applicable=m.applicable,
                sop=m.sop,
            )
            for m in result.mitigations
        ],
        detection=result.detection.model_dump(mode="json") if result.detection else None,
        runbooks=[k.doc_id for k in result.knowledge],
        notes=result.notes[:10],
        has_more=more > 0,
        message=f"{more} lower-ranked hypotheses not shown" if more > 0 else "",
    )


def register(server: MCPServer[ServerDeps], deps: ServerDeps) -> None:
    investigator = deps.investigator
    if investigator is None:  # nothing to run investigations with
        return
    kit = ToolKit(deps)
    log = InvestigationLog()

    @server.tool(annotations=READ_ONLY, structured_output=True)
    async def investigate(
        question: Annotated[
            str | None,
            Field(description="What is wrong, in words, e.g. 'checkout is failing for some users'."),
        ] = None,
        service: ServiceArg = None,
        time: Annotated[
            str | None, Field(description="When it was noticed (ISO 8601 or relative like '-10m').")
        ] = None,
        start: Start = None,
        end: End = None,
    ) -> Annotated[CallToolResult, InvestigationOut]:
        """Run a whole investigation and return ranked root-cause hypotheses, each with its
        evidence (and the tool call that shows it), plus mitigations in the order to try them.

        Takes seconds, not milliseconds: it gathers traces, metrics, logs, changes, SLOs and
        alarms, finds the onset, and ranks suspects. With no arguments on a recorded incident it
        investigates that incident's own trigger and window. Follow with draft_incident_report
        for a COE draft."""
        kit.check_service(service)
        window = kit.window(start, end) if start or end else None
        trigger: Trigger | None = None
        if question or service or time:
            at: datetime | None = parse_time(time, deps.now(), "time") if time else None
            trigger = Trigger(kind=TriggerKind.QUESTION, text=question or "", service=service, time=at)
        result = await kit.run(
            lambda: investigator(trigger, window), timeout=deps.limits.investigate_timeout_seconds
        )
        key = log.add(result)
        out = investigation_out(key, result)

        def render(o: InvestigationOut) -> str:
            lines = [
                f"investigation {o.investigation_id}: onset {iso(o.onset) or '?'}; affected {', '.join(o.affected_services) or '-'}"
            ]
            for h in o.hypotheses:
                where = f" ({h.component})" if h.component else ""
                lines.append(
                    f"{h.rank}. {h.service}{where} {h.fault_type} confidence {h.confidence:.2f}: {h.summary}"
                )
                lines += [f"   [{e.id}] {e.description} <- {e.source_query or '-'}" for e in h.evidence]
            if o.mitigations:
                lines.append("mitigations, in order:")
                lines += [
                    f"  {m.order}. {m.kind}: {m.action}" + ("" if m.applicable else " (not applicable)")
                    for m in o.mitigations
                ]
            if o.runbooks:
                lines.append(f"related runbooks/COEs: {', '.join(o.runbooks)}")
            lines += o.notes
            return "\n".join([*lines, o.message]).strip()

        return kit.respond(out, render, "hypotheses")

    drafter = deps.report_drafter
    if drafter is None:
        return

    @server.tool(annotations=READ_ONLY, structured_output=True)
    async def draft_incident_report(
        investigation_id: Annotated[
            str | None, Field(description="From investigate; default: the latest investigation.")
        ] = None,
    ) -> Annotated[CallToolResult, ReportOut]:
        """Draft a COE (incident review) from an investigation: summary, customer impact,
        timeline, five whys, action items; each claim cites evidence or is marked for a person to
        fill in. Returns the Markdown (cut to the output size) and a resource URI with all of it."""
        key, result = log.get(investigation_id)
        title, markdown = await kit.run(
            lambda: drafter(result), timeout=deps.limits.investigate_timeout_seconds
        )
        log.reports[key] = (title, markdown)
        budget = deps.limits.max_output_chars - 1500
        cut = len(markdown) > budget
        out = ReportOut(
            investigation_id=key,
            title=title,
            markdown=markdown[:budget],
            resource=f"sleuth://report/{key}",
            truncated=cut,
            has_more=cut,
            message=f"report cut at {budget:,} of {len(markdown):,} characters; read sleuth://report/{key} for all of it"
            if cut
            else "",
        )
        return kit.respond(out, lambda o: "\n".join([o.markdown, o.message]).strip())

    @server.resource(
        "sleuth://report/{investigation_id}",
        mime_type="text/markdown",
        description="A drafted incident report (COE).",
    )
    def report_document(investigation_id: str) -> str:
        if investigation_id not in log.reports:
            raise ResourceNotFoundError(f"no drafted report for investigation {investigation_id!r}")
        return deps.redactor.text(log.reports[investigation_id][1])
