"""Overview tools: ``list_services`` (what is there) and ``audit_slos`` (each breaching SLO with
its likely cause: where failures start downstream, alarms, changes before the breach)."""

from collections import deque
from typing import Annotated

from mcp.server import MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from mcp.types import CallToolResult
from pydantic import Field

from mcp_server.analysis.slos import first_breach_time
from mcp_server.backends.base import ErrorOrigin, SpanStatsQuery
from mcp_server.deps import ServerDeps
from mcp_server.telemetry import Alarm, ServiceEdge, Severity, SliKind, SloStatus, SpanKind, TimeWindow
from mcp_server.tool_calls import tool_call
from mcp_server.tools.alarm_state import fired_in
from mcp_server.tools.common import READ_ONLY, End, Start, ToolKit, iso, limit_field, pct, single_bucket
from mcp_server.tools.models import ServiceInfo, ServiceList, SloAuditItem, SloAuditList
from mcp_server.tools.slos import bucket_seconds_for, slo_statuses, summary
from mcp_server.tools.traces import service_edges

MAX_CAUSE_CHARS = 300
MAX_CHANGES = 5
SEVERE = (Severity.ERROR, Severity.FATAL)


def downstream_of(service: str, edges: list[ServiceEdge]) -> list[str]:
    """``service`` and everything it calls, directly or not, nearest first."""
    calls: dict[str, list[str]] = {}
    for edge in edges:
        calls.setdefault(edge.caller, []).append(edge.callee)
    seen = [service]
    queue = deque([service])
    while queue:
        for callee in sorted(calls.get(queue.popleft(), [])):
            if callee not in seen:
                seen.append(callee)
                queue.append(callee)
    return seen


def register(server: MCPServer[ServerDeps], deps: ServerDeps) -> None:
    kit = ToolKit(deps)
    backend = deps.backend

    def origins(window: TimeWindow) -> list[ErrorOrigin]:
        return kit.cached(("error_origins", window), lambda: backend.error_origins(window, limit=1000))

    @server.tool(annotations=READ_ONLY, structured_output=True)
    async def list_services(start: Start = None, end: End = None) -> Annotated[CallToolResult, ServiceList]:
        """Every service the telemetry names, with how much of each signal it has in the window:
        spans and failed spans, log records and ERROR-or-worse records, metrics, SLOs.

        The exact names every other tool's service argument takes. Default window: the whole
        recorded incident (local store) or the last hour (live)."""
        window = kit.window(start, end)

        def work() -> ServiceList:
            spans = kit.cached(
                ("service_spans", window),
                lambda: backend.span_stats(
                    SpanStatsQuery(window=window, bucket_seconds=single_bucket(window), group_by=["service"])
                ),
            )
            logs = kit.cached(
                ("service_logs", window), lambda: backend.log_counts(window, single_bucket(window))
            )
            metrics = kit.cached(("list_metrics", None), lambda: backend.list_metrics(None))
            slos = backend.list_slo_definitions()
            rows = []
            for service in kit.services():
                mine = [b for b in spans if b.group.get("service") == service]
                records = [b for b in logs if b.service == service]
                rows.append(
                    ServiceInfo(
                        service=service,
                        spans=sum(b.count for b in mine),
                        failed_spans=sum(b.errors for b in mine),
                        log_records=sum(b.count for b in records),
                        error_log_records=sum(b.count for b in records if b.severity in SEVERE),
                        metrics=sum(m.service == service for m in metrics),
                        slos=sorted(s.name for s in slos if s.service == service),
                    )
                )
            return ServiceList(
                window=kit.window_out(window),
                services=rows,
                message=kit.data_note(window) or ("" if rows else "no service is named in the telemetry"),
            )

        out = await kit.run(work)

        def render(o: ServiceList) -> str:
            lines = [
                f"{len(o.services)} services: service | spans (failed) | log records (ERROR+) | metrics | SLOs"
            ]
            lines += [
                f"{s.service} | {s.spans} ({s.failed_spans}) | {s.log_records} ({s.error_log_records}) | "
                f"{s.metrics} | {', '.join(s.slos) or '-'}"
                for s in o.services
            ]
            return "\n".join([*lines, o.message]).strip()

        return kit.respond(out, render, "services")

    @server.tool(annotations=READ_ONLY, structured_output=True)
    async def audit_slos(
        start: Start = None,
        end: End = None,
        names: Annotated[
            list[str] | None, Field(description="Only these SLOs (as list_slos names them).")
        ] = None,
        breaching_only: Annotated[
            bool, Field(description="Only SLOs breaching in the window (ignored when names are given).")
        ] = True,
        limit: Annotated[int, limit_field("SLOs")] = 10,
    ) -> Annotated[CallToolResult, SloAuditList]:
        """Each breaching SLO (or the named ones) with its likely cause in one answer: when it
        breached, its worst operation, where failures start in it or anything it calls (with
        the dependency and a sample error), alarms that fired, and changes shortly before.

        Each item names the call to dig further (next_call). Default window: the whole recorded
        incident (local store) or the last hour (live)."""
        window = kit.window(start, end)

        def work() -> SloAuditList:
            statuses = slo_statuses(kit, window)
            if names:
                known = {s.definition.name for s in statuses}
                unknown = [n for n in names if n not in known]
                if unknown:
                    raise ToolError(
                        f"unknown SLO(s) {', '.join(unknown)}; known SLOs: {', '.join(sorted(known)) or '(none)'}"
                    )
                chosen = [s for s in statuses if s.definition.name in names]
            else:
                chosen = [s for s in statuses if s.breaching or not breaching_only]
            edges = service_edges(kit, window)
            failing = origins(window)
            alarms = [a for a in backend.list_alarms() if fired_in(a, window)]
            items = [audit_one(s, window, edges, failing, alarms) for s in chosen[:limit]]
            message = kit.data_note(window)
            if not items and not message:
                message = "no SLO is breaching in this window" if statuses else "no SLOs are defined"
            if len(chosen) > limit:
                message = f"{message} showing {limit} of {len(chosen)} SLOs; raise limit".strip()
            return SloAuditList(
                window=kit.window_out(window),
                slos=items,
                breaching_count=sum(s.breaching for s in statuses),
                has_more=len(chosen) > limit,
                message=message,
            )

        def audit_one(
            status: SloStatus,
            window: TimeWindow,
            edges: list[ServiceEdge],
            failing: list[ErrorOrigin],
            alarms: list[Alarm],
        ) -> SloAuditItem:
            slo = status.definition
            reach = downstream_of(slo.service, edges)
            buckets = backend.sli_buckets(slo, window, bucket_seconds_for(window))
            breached = first_breach_time(slo, buckets)
            worst = slo.operation or worst_operation(slo.service, window, slo.sli == SliKind.LATENCY)
            causes = sorted(
                (o for o in failing if o.service in reach), key=lambda o: (-o.count, reach.index(o.service))
            )
            top = causes[0] if causes else None
            cause = ""
            if top is not None:
                detail = top.sample_exception or top.sample_message
                cause = (
                    f"{top.count} failures start in {top.service} {top.operation}"
                    + (f" -> {top.peer}" if top.peer else "")
                    + (f": {detail}" if detail else "")
                )[:MAX_CAUSE_CHARS]
            until = breached or window.end
            changes = sorted(
                (c for c in backend.list_changes(window) if c.service in reach and c.time <= until),
                key=lambda c: c.time,
                reverse=True,
            )[:MAX_CHANGES]
            focus = top.service if top is not None else slo.service
            return SloAuditItem(
                slo=summary(status),
                breached_at=breached,
                worst_operation=worst,
                cause_service=top.service if top is not None else None,
                likely_cause=cause,
                alarms_fired=[a.name for a in alarms if a.service in reach],
                changes_before=[
                    f"{iso(c.time)} {c.kind.value} {c.service}" + (f" {c.version}" if c.version else "")
                    for c in changes
                ],
                next_call=tool_call("trace_hotspots", window, service=focus),
            )

        def worst_operation(service: str, window: TimeWindow, latency: bool) -> str | None:
            stats = backend.span_stats(
                SpanStatsQuery(
                    window=window,
                    bucket_seconds=single_bucket(window),
                    service=service,
                    kinds=[SpanKind.SERVER, SpanKind.CONSUMER],
                    group_by=["operation"],
                )
            )
            if not stats:
                return None
            key = (
                (lambda b: b.p95_ms or 0.0) if latency else (lambda b: b.errors / b.count if b.count else 0.0)
            )
            return max(stats, key=key).group.get("operation")

        out = await kit.run(
            lambda: kit.cached(("audit_slos", window, tuple(names or ()), breaching_only, limit), work)
        )

        def render(o: SloAuditList) -> str:
            lines = [
                f"{len(o.slos)} SLOs audited ({o.breaching_count} breaching), {iso(window.start)} .. {iso(window.end)}"
            ]
            for item in o.slos:
                s = item.slo
                lines.append(
                    f"{s.name} [{'BREACHING' if s.breaching else 'ok'}] {s.service}: attained {pct(s.attainment, 3)} "
                    f"of {pct(s.goal, 2)}; breached at {iso(item.breached_at) or 'never'}; worst operation "
                    f"{item.worst_operation or '-'}"
                )
                lines.append(f"  likely cause: {item.likely_cause or 'no failures start in it or below it'}")
                if item.alarms_fired:
                    lines.append(f"  alarms fired: {', '.join(item.alarms_fired)}")
                if item.changes_before:
                    lines.append(f"  changes before: {'; '.join(item.changes_before)}")
                lines.append(f"  next: {item.next_call}")
            return "\n".join([*lines, o.message]).strip()

        return kit.respond(out, render, "slos", untrusted=["slos[].likely_cause", "slos[].changes_before"])
