"""Investigation tools: ``investigate`` (the engine, ranked hypotheses with evidence) and
``draft_incident_report`` (a COE draft), plus the ``sleuth://report/{investigation_id}`` resource."""

import hashlib
import threading
import uuid
import weakref
from collections import OrderedDict
from datetime import datetime
from typing import Annotated, Any

from mcp.server import MCPServer
from mcp.server.mcpserver import Context
from mcp.server.mcpserver.exceptions import ResourceNotFoundError, ToolError
from mcp.types import CallToolResult
from mcp_types.version import MODERN_PROTOCOL_VERSIONS
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
    """The last few investigations and drafted reports of this server process, by id, each
    visible only to the session that ran it: over HTTP one server serves many clients, and one
    client must neither read nor learn the ids of another's investigations."""

    def __init__(self) -> None:
        self.results: OrderedDict[str, tuple[str, InvestigationResult]] = OrderedDict()
        self.reports: dict[str, tuple[str, str, str]] = {}  # id -> (owner, title, markdown)
        self._owners: weakref.WeakKeyDictionary[Any, str] = weakref.WeakKeyDictionary()
        self._lock = threading.Lock()

    def owner(self, session: Any) -> str:
        """A private key for an MCP session (one per connected client)."""
        if session is None:  # no lasting identity: the local user
            return "local"
        if isinstance(session, str):  # a token or a transport session id
            return session
        with self._lock:
            key = self._owners.get(session)
            if key is None:
                key = uuid.uuid4().hex
                self._owners[session] = key
            return key

    def add(self, owner: str, result: InvestigationResult) -> str:
        with self._lock:
            # not guessable: knowing an id is what lets a stateless client come back to it
            key = uuid.uuid4().hex[:16]
            self.results[key] = (owner, result)
            self.results.move_to_end(key)
            while len(self.results) > KEPT_INVESTIGATIONS:
                old, _ = self.results.popitem(last=False)
                self.reports.pop(old, None)
        return key

    def get(self, owner: str, key: str | None) -> tuple[str, InvestigationResult]:
        with self._lock:
            mine = [k for k, (who, _) in self.results.items() if who == owner]
            if not mine:
                raise ToolError("no investigation has run in this session yet; call investigate first")
            if key is None:
                key = mine[-1]
            if key not in mine:
                raise ToolError(f"unknown investigation {key!r}; this session's: {', '.join(reversed(mine))}")
            return key, self.results[key][1]

    def add_report(self, owner: str, key: str, title: str, markdown: str) -> None:
        with self._lock:
            self.reports[key] = (owner, title, markdown)

    def report(self, owner: str, key: str) -> str | None:
        with self._lock:
            found = self.reports.get(key)
        return found[2] if found is not None and found[0] == owner else None


def client_of(ctx: Context[ServerDeps, Any] | None) -> Any:
    """What identifies the client behind a request, for scoping its investigations.

    A bearer token (HTTP with SLEUTH_MCP_TOKEN: one principal per token), else the transport's
    session id (stateful HTTP), else the connection of a handshake client (stdio). A stateless
    request (protocol 2026-07-28, no token) has no lasting identity: None, the local user.
    """
    if ctx is None:
        return None
    authorization = (ctx.headers or {}).get("authorization", "")
    if authorization.lower().startswith("bearer "):
        return "token:" + hashlib.sha256(authorization[7:].strip().encode()).hexdigest()[:24]
    session = ctx.request_context.session  # a per-request proxy; the SDK keeps the connection on it
    connection = getattr(session, "_connection", None)
    if connection is None:
        return None
    if connection.session_id:
        return f"session:{connection.session_id}"
    return None if connection.protocol_version in MODERN_PROTOCOL_VERSIONS else connection


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

    def _owner(ctx: Context[ServerDeps, Any] | None) -> str:
        return log.owner(client_of(ctx))

    @server.tool(annotations=READ_ONLY, structured_output=True)
    async def investigate(
        question: Annotated[
            str | None,
            Field(description="What is wrong, in words, e.g. 'checkout is failing for some users'."),
        ] = None,
        service: ServiceArg = None,
        time: Annotated[
            str | float | None, Field(description="When it was noticed (a time, like start).")
        ] = None,
        start: Start = None,
        end: End = None,
        ctx: Context[ServerDeps, Any] | None = None,
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
            at: datetime | None = parse_time(time, deps.now(), "time") if time is not None else None
            trigger = Trigger(kind=TriggerKind.QUESTION, text=question or "", service=service, time=at)
        result = await kit.run(
            lambda: investigator(trigger, window), timeout=deps.limits.investigate_timeout_seconds
        )
        key = log.add(_owner(ctx), result)
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

        return kit.respond(
            out,
            render,
            "hypotheses",
            untrusted=["hypotheses[].summary", "hypotheses[].evidence[].description", "notes"],
        )

    drafter = deps.report_drafter
    if drafter is None:
        return

    @server.tool(annotations=READ_ONLY, structured_output=True)
    async def draft_incident_report(
        investigation_id: Annotated[
            str | None,
            Field(description="From investigate; default: this session's latest investigation."),
        ] = None,
        ctx: Context[ServerDeps, Any] | None = None,
    ) -> Annotated[CallToolResult, ReportOut]:
        """Draft a COE (incident review) from an investigation: summary, customer impact,
        timeline, five whys, action items; each claim cites evidence or is marked for a person to
        fill in. Returns the Markdown (cut to the output size) and a resource URI with all of it."""
        owner = _owner(ctx)
        key, result = log.get(owner, investigation_id)
        title, markdown = await kit.run(
            lambda: drafter(result), timeout=deps.limits.investigate_timeout_seconds
        )
        log.add_report(owner, key, title, markdown)
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
        return kit.respond(
            out,
            lambda o: "\n".join([o.markdown, o.message]).strip(),
            untrusted=["markdown"],
            source="incident report drafted from telemetry",
        )

    @server.resource(
        "sleuth://report/{investigation_id}",
        mime_type="text/markdown",
        description="A drafted incident report (COE).",
    )
    def report_document(investigation_id: str, ctx: Context[ServerDeps, Any]) -> str:
        markdown = log.report(_owner(ctx), investigation_id)
        if markdown is None:
            raise ResourceNotFoundError(
                f"no drafted report for investigation {investigation_id!r} in this session"
            )
        return deps.redactor.text(markdown)  # a document to read and keep; the tool answer is fenced
