"""Log tools: ``query_logs`` (and ``log_patterns`` once the log pattern analysis is available)."""

import re
from datetime import timedelta
from typing import Annotated, Any, Literal

from mcp.server import MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from mcp.types import CallToolResult
from pydantic import Field

from mcp_server.analysis.log_patterns import TemplateChange, log_pattern_changes
from mcp_server.analysis.signals import Scope
from mcp_server.backends.base import LogQuery
from mcp_server.deps import ServerDeps
from mcp_server.telemetry import LogRecord, Severity
from mcp_server.tools.common import (
    READ_ONLY,
    End,
    OnsetArg,
    ServiceArg,
    Start,
    ToolKit,
    iso,
    limit_field,
    single_bucket,
)
from mcp_server.tools.metrics import scope_out
from mcp_server.tools.models import (
    CountPoint,
    LogCountList,
    LogCountRow,
    LogOut,
    LogPatternList,
    LogPatternOut,
    LogResult,
)

MAX_BODY_CHARS = 600
MAX_ATTRIBUTES = 12
MAX_REGEX_CHARS = 500
# RE2 (the log store's regex engine) has no look-around or back-references
_UNSUPPORTED_REGEX = re.compile(r"\(\?<?[=!]|\\[1-9]")
SeverityName = Literal["TRACE", "DEBUG", "INFO", "WARN", "ERROR", "FATAL"]
SEVERITY_ORDER = ["UNSPECIFIED", "TRACE", "DEBUG", "INFO", "WARN", "ERROR", "FATAL"]
MAX_COUNT_POINTS = 120


def _short(value: Any, limit: int = 200) -> Any:
    if isinstance(value, str) and len(value) > limit:
        return value[:limit] + "…"
    return value


def log_out(record: LogRecord) -> LogOut:
    body = record.body if len(record.body) <= MAX_BODY_CHARS else record.body[:MAX_BODY_CHARS] + "… [cut]"
    attributes = {k: _short(v) for k, v in list(record.attributes.items())[:MAX_ATTRIBUTES]}
    return LogOut(
        time=record.time,
        service=record.service,
        severity=record.severity.value,
        body=body,
        trace_id=record.trace_id,
        span_id=record.span_id,
        attributes=attributes,
    )


def pattern_out(change: TemplateChange) -> LogPatternOut:
    t = change.template
    return LogPatternOut(
        service=t.service,
        severity=t.severity.value,
        status=change.status,
        template=t.template[:MAX_BODY_CHARS],
        incident_count=t.incident,
        baseline_count=t.baseline,
        rate_per_min=round(change.rate, 3),
        baseline_rate_per_min=round(change.baseline_rate, 3),
        first_seen=t.first_seen,
        sample=t.sample[:MAX_BODY_CHARS],
    )


def template_changes(kit: ToolKit, scope: Scope) -> list[TemplateChange]:
    """Log templates new or surging after the scope's onset (mined once per window and onset)."""
    return kit.cached(
        ("log_patterns", scope.window, scope.onset), lambda: log_pattern_changes(kit.deps.backend, scope)
    )


def register(server: MCPServer[ServerDeps], deps: ServerDeps) -> None:
    kit = ToolKit(deps)
    backend = deps.backend

    @server.tool(annotations=READ_ONLY, structured_output=True)
    async def query_logs(
        service: ServiceArg = None,
        min_severity: Annotated[SeverityName | None, Field(description="Lowest severity to include.")] = None,
        text: Annotated[str | None, Field(description="Case-insensitive substring of the message.")] = None,
        regex: Annotated[
            str | None, Field(description="Regular expression the message must match (RE2 syntax).")
        ] = None,
        trace_id: Annotated[
            str | None, Field(description="Only records of this trace (32 hex characters).")
        ] = None,
        start: Start = None,
        end: End = None,
        order: Annotated[
            Literal["asc", "desc"], Field(description="asc = oldest first, desc = newest first.")
        ] = "desc",
        limit: Annotated[int, limit_field("records")] = 50,
    ) -> Annotated[CallToolResult, LogResult]:
        """Log records matching filters, newest first by default. Secrets and email addresses in
        messages are redacted. When more records match than fit, ``next_page`` gives the
        arguments for the next page. To see which kinds of message are new or surging rather than
        reading records one by one, use log_patterns."""
        window = kit.window(start, end)
        kit.check_service(service)
        if regex is not None and len(regex) > MAX_REGEX_CHARS:
            raise ToolError(f"regex is {len(regex)} characters; keep it under {MAX_REGEX_CHARS}")
        if regex and _UNSUPPORTED_REGEX.search(regex):
            raise ToolError(
                f"regex {regex!r} uses look-around or a back-reference, which the log search (RE2 syntax) "
                "does not support; use plain alternation and character classes, or the text filter"
            )
        query = LogQuery(
            window=window,
            service=service,
            min_severity=Severity(min_severity) if min_severity else None,
            text=text or None,
            regex=regex or None,
            trace_id=trace_id.strip().lower() if trace_id else None,
            order=order,
            limit=limit + 1,
        )
        records = await kit.run(lambda: backend.query_logs(query))
        matched_more = len(records) > limit
        records = records[:limit]
        data_note = kit.data_note(window)

        def build(count: int) -> LogResult:
            kept = records[:count]
            has_more = matched_more or count < len(records)
            next_page = None
            if has_more and kept:
                last = kept[-1].time
                next_page = (
                    {"start": iso(last + timedelta(microseconds=1)) or ""}
                    if order == "asc"
                    else {"end": iso(last) or ""}
                )
            messages = [data_note]
            if next_page:
                messages.append(f"more records match; call again with {next_page} for the next page")
            elif not kept and not data_note:
                messages.append("no records match; loosen the filters or widen the window")
            return LogResult(
                window=kit.window_out(window),
                records=[log_out(r) for r in kept],
                has_more=has_more,
                next_page=next_page,
                message="; ".join(m for m in messages if m),
            )

        out = build(len(records))

        def render(o: LogResult) -> str:
            lines = [f"{len(o.records)} log records, {iso(window.start)} .. {iso(window.end)}"]
            lines += [
                f"{iso(r.time)} {r.severity} {r.service}"
                + (f" trace={r.trace_id}" if r.trace_id else "")
                + f": {r.body}"
                for r in o.records
            ]
            if o.message:
                lines.append(o.message)
            return "\n".join(lines)

        return kit.respond(
            out,
            render,
            "records",
            page_hint="next_page continues from there",
            rebuild=build,
            untrusted=["records[].body", "records[].attributes"],
        )

    @server.tool(annotations=READ_ONLY, structured_output=True)
    async def log_patterns(
        service: ServiceArg = None,
        start: Start = None,
        end: End = None,
        onset: OnsetArg = None,
        limit: Annotated[int, limit_field("patterns")] = 20,
    ) -> Annotated[CallToolResult, LogPatternList]:
        """Kinds of log message that are new or surging since the onset, strongest first.

        Messages are clustered into templates (Drain3; variable parts become <*>), and each
        template's rate after the onset is compared with its rate before. A new ERROR template
        naming a dependency is often the root cause in words. Read examples with
        query_logs(service=..., text=<a fixed part of the template>)."""
        window = kit.window(start, end)
        kit.check_service(service)

        def work() -> LogPatternList:
            scope = kit.scope(window, onset, service)
            changes = template_changes(kit, scope)
            found = [c for c in changes if service is None or c.template.service == service]
            return LogPatternList(
                window=kit.window_out(window),
                scope=scope_out(scope),
                patterns=[pattern_out(c) for c in found[:limit]],
                has_more=len(found) > limit,
                message=kit.ranked_message(
                    window, limit, len(found), "no log template is new or surging after the onset"
                ),
            )

        out = await kit.run(work)

        def render(o: LogPatternList) -> str:
            lines = [
                f"onset {iso(o.scope.onset)} ({o.scope.onset_source}); {len(o.patterns)} patterns: "
                "status severity service | per min now (before) | count | template"
            ]
            lines += [
                f"{p.status} {p.severity} {p.service} | {p.rate_per_min:.1f} ({p.baseline_rate_per_min:.2f}) | "
                f"{p.incident_count} | {p.template}"
                for p in o.patterns
            ]
            return "\n".join([*lines, o.message]).strip()

        return kit.respond(out, render, "patterns", untrusted=["patterns[].template", "patterns[].sample"])

    @server.tool(annotations=READ_ONLY, structured_output=True)
    async def count_logs(
        service: ServiceArg = None,
        min_severity: Annotated[SeverityName | None, Field(description="Lowest severity to count.")] = None,
        group_by: Annotated[
            list[Literal["service", "severity"]],
            Field(description="What to count by; an empty list gives one total."),
        ] = ["service", "severity"],  # noqa: B006 - pydantic copies defaults
        period_seconds: Annotated[
            int | None,
            Field(ge=60, le=86_400, description="Also a count per period (a series). Default: totals only."),
        ] = None,
        start: Start = None,
        end: End = None,
        limit: Annotated[int, limit_field("groups")] = 50,
    ) -> Annotated[CallToolResult, LogCountList]:
        """How many log records, by service and/or severity, most first, with the rate per minute
        and optionally a count per period: how much of the logs an error is, and since when,
        without reading records. Then query_logs reads examples."""
        window = kit.window(start, end)
        kit.check_service(service)
        bucket = period_seconds or single_bucket(window)
        if period_seconds and window.duration.total_seconds() / period_seconds > MAX_COUNT_POINTS:
            raise ToolError(
                f"period_seconds={period_seconds} gives more than {MAX_COUNT_POINTS} points over "
                f"{iso(window.start)} .. {iso(window.end)}; use a longer period or a narrower window"
            )
        lowest = SEVERITY_ORDER.index(min_severity) if min_severity else 0
        counts = await kit.run(lambda: backend.log_counts(window, bucket, service))
        groups: dict[tuple[str | None, str | None], dict[Any, int]] = {}
        for b in counts:
            if SEVERITY_ORDER.index(b.severity.value) < lowest:
                continue
            key = (
                b.service if "service" in group_by else None,
                b.severity.value if "severity" in group_by else None,
            )
            per_bucket = groups.setdefault(key, {})
            per_bucket[b.bucket_start] = per_bucket.get(b.bucket_start, 0) + b.count
        minutes = max(window.duration.total_seconds() / 60, 1e-9)
        rows = sorted(
            (
                LogCountRow(
                    service=svc,
                    severity=sev,
                    count=sum(per.values()),
                    rate_per_min=round(sum(per.values()) / minutes, 3),
                    series=[CountPoint(time=t, count=c) for t, c in sorted(per.items())]
                    if period_seconds
                    else [],
                )
                for (svc, sev), per in groups.items()
            ),
            key=lambda r: (-r.count, r.service or "", r.severity or ""),
        )
        out = LogCountList(
            window=kit.window_out(window),
            period_seconds=period_seconds,
            total=sum(r.count for r in rows),
            groups=rows[:limit],
            has_more=len(rows) > limit,
            message=kit.ranked_message(window, limit, len(rows), "no log records match"),
        )

        def render(o: LogCountList) -> str:
            lines = [f"{o.total} log records in {len(o.groups)} groups: count | per min | service | severity"]
            for r in o.groups:
                lines.append(f"{r.count} | {r.rate_per_min:.1f} | {r.service or '*'} | {r.severity or '*'}")
                if r.series:
                    lines.append("  " + " ".join(f"{p.time:%H:%M}={p.count}" for p in r.series))
            return "\n".join([*lines, o.message]).strip()

        return kit.respond(out, render, "groups", page_hint="filter by service or min_severity")
