"""SLO tools: ``list_slos``, ``get_slo``, ``audit_services``."""

import math
from typing import Annotated

from mcp.server import MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from mcp.types import CallToolResult
from pydantic import Field

from mcp_server.analysis.slos import (
    evaluate_slo,
    evaluate_slos,
    first_bad_bucket,
    first_breach_time,
    status_from_buckets,
)
from mcp_server.backends.base import SpanStatsQuery
from mcp_server.deps import ServerDeps
from mcp_server.telemetry import SloDefinition, SloStatus, SpanKind, TimeWindow
from mcp_server.tools.alarm_state import fired_in
from mcp_server.tools.common import (
    READ_ONLY,
    End,
    ServiceArg,
    Start,
    ToolKit,
    iso,
    limit_field,
    num,
    pct,
    single_bucket,
)
from mcp_server.tools.models import (
    OperationSlo,
    ServiceAudit,
    ServiceHealth,
    SliPoint,
    SloDetail,
    SloList,
    SloSummary,
)

MAX_SERIES_POINTS = 120
MAX_OPERATIONS = 25


def summary(status: SloStatus) -> SloSummary:
    slo = status.definition
    return SloSummary(
        name=slo.name,
        service=slo.service,
        operation=slo.operation,
        sli=slo.sli.value,
        goal=slo.goal,
        threshold_ms=slo.threshold_ms,
        attainment=status.attainment,
        error_budget_remaining=status.error_budget_remaining,
        burn_rate=status.burn_rate,
        breaching=status.breaching,
        total_events=status.total_events,
        bad_events=status.total_events - status.good_events,
    )


def _slo_line(s: SloSummary) -> str:
    target = f"{s.sli} {pct(s.goal, 2)}" + (f" within {s.threshold_ms:g}ms" if s.threshold_ms else "")
    scope = s.service + (f" {s.operation}" if s.operation else "")
    flag = "BREACHING" if s.breaching else "ok" if s.attainment is not None else "no events"
    return (
        f"{s.name} [{flag}] {scope}: {target}; attained {pct(s.attainment, 3)}, budget left "
        f"{pct(s.error_budget_remaining, 0)}, burn rate {num(s.burn_rate, 2)}x, {s.bad_events}/{s.total_events} bad"
    )


def bucket_seconds_for(window: TimeWindow, max_points: int = MAX_SERIES_POINTS) -> int:
    """The smallest whole-minute bucket that keeps a series within ``max_points``."""
    minutes = math.ceil(window.duration.total_seconds() / max_points / 60)
    return max(1, minutes) * 60


def slo_statuses(kit: ToolKit, window: TimeWindow) -> list[SloStatus]:
    """Every SLO over ``window``, worst first (evaluated once per window)."""
    return kit.cached(("slos", window), lambda: evaluate_slos(kit.deps.backend, window))


def register(server: MCPServer[ServerDeps], deps: ServerDeps) -> None:
    kit = ToolKit(deps)
    backend = deps.backend

    def find_slo(name: str) -> SloDefinition:
        slos = backend.list_slo_definitions()
        for slo in slos:
            if slo.name == name:
                return slo
        known = ", ".join(s.name for s in slos) or "(none defined)"
        raise ToolError(f"unknown SLO {name!r}; known SLOs: {known}")

    @server.tool(annotations=READ_ONLY, structured_output=True)
    async def list_slos(
        start: Start = None, end: End = None, service: ServiceArg = None
    ) -> Annotated[CallToolResult, SloList]:
        """List every SLO with its status over a window, breaching ones first.

        Each SLO shows attainment (good/total events), error budget remaining (1 = untouched,
        negative = overspent) and burn rate (above 1 spends the budget early). Default window:
        the whole recorded incident (local store) or the last hour (live). Next step for a
        breaching SLO: get_slo(name) for its SLI over time and the operations that fail it.
        """
        window = kit.window(start, end)
        kit.check_service(service)
        statuses = await kit.run(lambda: slo_statuses(kit, window))
        statuses = [s for s in statuses if service is None or s.definition.service == service]
        slos = [summary(s) for s in statuses]
        note = kit.data_note(window) or ("" if slos else "no SLOs are defined for this data")
        out = SloList(
            window=kit.window_out(window),
            slos=slos,
            breaching_count=sum(s.breaching for s in slos),
            message=note,
        )

        def render(o: SloList) -> str:
            head = (
                f"{len(o.slos)} SLOs, {o.breaching_count} breaching, {iso(window.start)} .. {iso(window.end)}"
            )
            return "\n".join([head, *(_slo_line(s) for s in o.slos), o.message]).strip()

        return kit.respond(out, render, "slos")

    @server.tool(annotations=READ_ONLY, structured_output=True)
    async def get_slo(
        name: Annotated[str, Field(description="SLO name, as list_slos shows it.")],
        start: Start = None,
        end: End = None,
    ) -> Annotated[CallToolResult, SloDetail]:
        """One SLO in depth: definition, status, SLI per time bucket, when it started failing,
        and (for a service-wide SLO) each operation's own SLI, worst first.

        The worst operation is usually where to look next: search_traces(service=...,
        operation=..., errors_only=true) or trace_hotspots(service=...).
        """
        window = kit.window(start, end)
        bucket = bucket_seconds_for(window)

        def work() -> SloDetail:
            slo = find_slo(name)
            buckets = backend.sli_buckets(slo, window, bucket)
            status = status_from_buckets(slo, window, buckets)
            operations: list[OperationSlo] = []
            if slo.operation is None:
                for operation in _entry_operations(slo, window)[:MAX_OPERATIONS]:
                    op_status = evaluate_slo(
                        backend, slo.model_copy(update={"operation": operation}), window, bucket
                    )
                    if op_status.total_events:
                        operations.append(
                            OperationSlo(
                                operation=operation,
                                total_events=op_status.total_events,
                                bad_events=op_status.total_events - op_status.good_events,
                                attainment=op_status.attainment,
                                burn_rate=op_status.burn_rate,
                                breaching=op_status.breaching,
                            )
                        )
                operations.sort(key=lambda o: (-o.bad_events, o.attainment or 1.0, o.operation))
            return SloDetail(
                window=kit.window_out(window),
                slo=summary(status),
                description=slo.description,
                interval_days=slo.interval_days,
                first_bad_bucket=first_bad_bucket(slo, buckets),
                breached_at=first_breach_time(slo, buckets),
                bucket_seconds=bucket,
                series=[
                    SliPoint(
                        time=b.bucket_start,
                        total=b.total,
                        good=b.good,
                        attainment=b.good / b.total if b.total else None,
                    )
                    for b in buckets
                ],
                operations=operations,
                message=kit.data_note(window),
            )

        def _entry_operations(slo: SloDefinition, window: TimeWindow) -> list[str]:
            stats = backend.span_stats(
                SpanStatsQuery(
                    window=window,
                    bucket_seconds=single_bucket(window),
                    service=slo.service,
                    kinds=[SpanKind.SERVER, SpanKind.CONSUMER],
                    group_by=["operation"],
                )
            )
            counts: dict[str, int] = {}
            for b in stats:
                op = b.group.get("operation")
                if op:
                    counts[op] = counts.get(op, 0) + b.count
            return sorted(counts, key=lambda op: -counts[op])

        out = await kit.run(lambda: kit.cached(("get_slo", name, window), work))

        def render(o: SloDetail) -> str:
            lines = [_slo_line(o.slo)]
            if o.description:
                lines.append(o.description)
            lines.append(
                f"first bad bucket {iso(o.first_bad_bucket) or '-'}; breached over the window at {iso(o.breached_at) or 'never'}"
            )
            if o.operations:
                lines.append("operations (worst first): operation | bad/total | attainment | burn")
                lines += [
                    f"{op.operation} | {op.bad_events}/{op.total_events} | {pct(op.attainment, 3)} | {num(op.burn_rate, 2)}x"
                    + (" BREACHING" if op.breaching else "")
                    for op in o.operations
                ]
            lines.append(
                f"SLI per {o.bucket_seconds}s bucket (time good/total attainment), bad buckets only:"
            )
            bad = [p for p in o.series if p.attainment is not None and p.attainment < o.slo.goal]
            lines += [f"{iso(p.time)} {p.good}/{p.total} {pct(p.attainment, 2)}" for p in bad[:40]]
            if len(bad) > 40:
                lines.append(f"... {len(bad) - 40} more bad buckets in the structured output")
            if o.message:
                lines.append(o.message)
            return "\n".join(lines)

        return kit.respond(out, render, "series", page_hint="narrow start/end")

    @server.tool(annotations=READ_ONLY, structured_output=True)
    async def audit_services(
        start: Start = None,
        end: End = None,
        limit: Annotated[int, limit_field("services")] = 50,
    ) -> Annotated[CallToolResult, ServiceAudit]:
        """Every service ranked by health, worst first: breaching SLOs, then firing alarms, then
        failures that start in the service (not merely pass through it), then error rate.

        A good first call for "what is wrong right now?". Default window: the whole recorded
        incident (local store) or the last hour (live).
        """
        window = kit.window(start, end)

        def work() -> ServiceAudit:
            stats = backend.span_stats(
                SpanStatsQuery(
                    window=window,
                    bucket_seconds=single_bucket(window),
                    group_by=["service"],
                )
            )
            entry_stats = backend.span_stats(
                SpanStatsQuery(
                    window=window,
                    bucket_seconds=single_bucket(window),
                    kinds=[SpanKind.SERVER, SpanKind.CONSUMER],
                    group_by=["service"],
                )
            )
            slos = slo_statuses(kit, window)
            alarms = [a for a in backend.list_alarms() if fired_in(a, window)]
            origins = backend.error_origins(window, limit=1000)
            services = sorted(set(backend.list_services()))
            rows = []
            for service in services:
                requests = sum(b.count for b in entry_stats if b.group.get("service") == service)
                errors = sum(b.errors for b in entry_stats if b.group.get("service") == service)
                if not requests:  # no server spans: judge by every span the service emitted
                    requests = sum(b.count for b in stats if b.group.get("service") == service)
                    errors = sum(b.errors for b in stats if b.group.get("service") == service)
                p95s = [
                    b.p95_ms
                    for b in entry_stats
                    if b.group.get("service") == service and b.p95_ms is not None
                ]
                breaching = [
                    s.definition.name for s in slos if s.breaching and s.definition.service == service
                ]
                firing = [a.name for a in alarms if a.service == service]
                mine = [o for o in origins if o.service == service]
                top = max(mine, key=lambda o: o.count, default=None)
                top_error = ""
                if top is not None:
                    detail = top.sample_exception or top.sample_message
                    top_error = (
                        f"{top.operation}"
                        + (f" -> {top.peer}" if top.peer else "")
                        + (f": {detail}" if detail else "")
                    )
                origin_errors = sum(o.count for o in mine)
                rate = errors / requests if requests else None
                status = (
                    "breaching"
                    if breaching
                    else "alarm"
                    if firing
                    else "failing"
                    if origin_errors
                    else "erroring"
                    if errors
                    else "ok"
                    if requests
                    else "idle"
                )
                rows.append(
                    (
                        (len(breaching) == 0, len(firing) == 0, -origin_errors, -(rate or 0.0), service),
                        ServiceHealth(
                            rank=0,
                            service=service,
                            status=status,
                            requests=requests,
                            errors=errors,
                            error_rate=rate,
                            p95_ms=max(p95s) if p95s else None,
                            slos_breaching=breaching,
                            alarms_firing=firing,
                            origin_errors=origin_errors,
                            top_error=top_error[:300],
                        ),
                    )
                )
            rows.sort(key=lambda r: r[0])
            ranked = [h.model_copy(update={"rank": i + 1}) for i, (_, h) in enumerate(rows)]
            message = kit.data_note(window)
            if len(ranked) > limit:
                message = f"{message} showing the {limit} least healthy of {len(ranked)} services; raise limit for more".strip()
            return ServiceAudit(
                window=kit.window_out(window),
                services=ranked[:limit],
                has_more=len(ranked) > limit,
                message=message,
            )

        out = await kit.run(lambda: kit.cached(("audit_services", window, limit), work))

        def render(o: ServiceAudit) -> str:
            lines = [
                "rank | service | status | requests | error rate | p95 ms | breaching SLOs | firing alarms | origin errors | top error"
            ]
            lines += [
                f"{h.rank} | {h.service} | {h.status} | {h.requests} | {pct(h.error_rate)} | {num(h.p95_ms)} | "
                f"{', '.join(h.slos_breaching) or '-'} | {', '.join(h.alarms_firing) or '-'} | {h.origin_errors} | {h.top_error or '-'}"
                for h in o.services
            ]
            if o.message:
                lines.append(o.message)
            return "\n".join(lines)

        return kit.respond(out, render, "services", untrusted=["services[].top_error"])
