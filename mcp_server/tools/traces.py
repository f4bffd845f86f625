"""Trace tools: ``search_traces``, ``get_trace``, ``service_map``, ``trace_hotspots``."""

import re
from typing import Annotated, Any, Literal

from mcp.server import MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from mcp.types import CallToolResult
from pydantic import Field

from mcp_server.analysis import latency as trace_analysis
from mcp_server.backends.base import ErrorOrigin, SpanQuery, SpanStatsQuery
from mcp_server.deps import ServerDeps
from mcp_server.span_conventions import span_peer
from mcp_server.telemetry import ServiceEdge, Span, TimeWindow
from mcp_server.tools.common import (
    READ_ONLY,
    End,
    OnsetArg,
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
    EdgeOut,
    ErrorOriginOut,
    Hotspots,
    LatencyChange,
    LatencyHotspot,
    ServiceMapOut,
    SpanNode,
    TraceDetail,
    TraceHit,
    TraceSearch,
)

TRACE_ID = re.compile(r"^[0-9a-f]{32}$")
MAX_SPAN_ATTRIBUTES = 10
MAX_MESSAGE_CHARS = 300


def _short(value: Any, limit: int = 200) -> Any:
    if isinstance(value, str) and len(value) > limit:
        return value[:limit] + "…"
    return value


def _exceptions(span: Span) -> list[str]:
    found = []
    for event in span.events:
        if event.name == "exception":
            kind = event.attributes.get("exception.type", "")
            message = event.attributes.get("exception.message", "")
            found.append(_short(f"{kind}: {message}".strip(": "), MAX_MESSAGE_CHARS))
    return found


def span_tree(spans: list[Span]) -> list[SpanNode]:
    """Spans in depth-first order (children by start time), each with its depth and offset."""
    if not spans:
        return []
    by_id = {s.span_id: s for s in spans}
    children: dict[str | None, list[Span]] = {}
    for span in spans:
        parent = span.parent_span_id if span.parent_span_id in by_id else None
        children.setdefault(parent, []).append(span)
    for group in children.values():
        group.sort(key=lambda s: (s.start_time_unix_nano, s.span_id))
    origin = min(s.start_time_unix_nano for s in spans)
    ordered: list[SpanNode] = []
    stack = [(s, 0) for s in reversed(children.get(None, []))]
    while stack:
        span, depth = stack.pop()
        ordered.append(
            SpanNode(
                span_id=span.span_id,
                parent_span_id=span.parent_span_id,
                depth=depth,
                service=span.service,
                operation=span.operation,
                kind=span.kind.name.lower(),
                offset_ms=round((span.start_time_unix_nano - origin) / 1e6, 3),
                duration_ms=round(span.duration_ms, 3),
                error=span.is_error,
                status_message=_short(span.status_message, MAX_MESSAGE_CHARS),
                peer=span_peer(int(span.kind), span.attributes),
                host=span.host,
                attributes={k: _short(v) for k, v in list(span.attributes.items())[:MAX_SPAN_ATTRIBUTES]},
                exceptions=_exceptions(span),
            )
        )
        stack.extend((child, depth + 1) for child in reversed(children.get(span.span_id, [])))
    return ordered


def _hit(span: Span) -> TraceHit:
    return TraceHit(
        trace_id=span.trace_id,
        span_id=span.span_id,
        service=span.service,
        operation=span.operation,
        start=span.start,
        duration_ms=round(span.duration_ms, 3),
        error=span.is_error,
        http_status=span.http_status,
        status_message=_short(span.status_message, MAX_MESSAGE_CHARS),
    )


def cursor_of(span: Span, order: str) -> str:
    """Where the next page starts: after this span's (start or duration, trace id)."""
    key = str(span.start_time_unix_nano) if order == "oldest" else repr(span.duration_ms)
    return f"{order[0]}:{key}:{span.trace_id}"


def parse_cursor(cursor: str | None, order: str) -> tuple[int | float, str] | None:
    if not cursor:
        return None
    parts = cursor.split(":")
    try:
        if len(parts) != 3 or parts[0] != order[0] or not TRACE_ID.match(parts[2]):
            raise ValueError
        key: int | float = int(parts[1]) if order == "oldest" else float(parts[1])
    except ValueError:
        raise ToolError(
            f"cursor {cursor!r} is not one search_traces gave for order={order!r}; "
            "copy next_page from the previous answer, with the same filters"
        ) from None
    return key, parts[2]


def _after(span: Span, order: str, after: tuple[int | float, str]) -> bool:
    if order == "oldest":
        return (span.start_time_unix_nano, span.trace_id) > (after[0], after[1])
    return (-span.duration_ms, span.trace_id) > (-after[0], after[1])


def _origin_rates(origins: list[ErrorOrigin], window: TimeWindow) -> dict[tuple[str, str, str | None], float]:
    minutes = max(window.duration.total_seconds() / 60, 1e-9)
    return {(o.service, o.operation, o.peer): round(o.count / minutes, 3) for o in origins}


def service_edges(kit: ToolKit, window: TimeWindow) -> list[ServiceEdge]:
    """The call graph over ``window`` (computed once per window)."""
    return kit.cached(("service_edges", window), lambda: kit.deps.backend.service_edges(window))


def register(server: MCPServer[ServerDeps], deps: ServerDeps) -> None:
    kit = ToolKit(deps)
    backend = deps.backend

    @server.tool(annotations=READ_ONLY, structured_output=True)
    async def search_traces(
        service: ServiceArg = None,
        operation: Annotated[
            str | None, Field(description="Exact span name, e.g. 'POST /api/checkout'.")
        ] = None,
        errors_only: Annotated[bool, Field(description="Only failed spans.")] = False,
        min_duration_ms: Annotated[
            float | None, Field(ge=0, description="Only spans at least this slow.")
        ] = None,
        attributes: Annotated[
            dict[str, str] | None,
            Field(description="Exact span attribute matches, e.g. {'http.route': '/cart'}."),
        ] = None,
        start: Start = None,
        end: End = None,
        order: Annotated[
            Literal["oldest", "slowest"], Field(description="Which matches come first.")
        ] = "oldest",
        limit: Annotated[int, limit_field("traces")] = 20,
        cursor: Annotated[
            str | None, Field(description="From next_page of the previous answer: continues after it.")
        ] = None,
    ) -> Annotated[CallToolResult, TraceSearch]:
        """Find traces whose spans match: failed, slow, in a service or operation, with attributes.

        One hit per trace (its first matching span, or its slowest with order=slowest); limit
        counts traces, and next_page pages on. Open one with get_trace(trace_id) to see where in
        the call tree it failed."""
        window = kit.window(start, end)
        kit.check_service(service)
        after = parse_cursor(cursor, order)
        query = SpanQuery(
            window=window,
            service=service,
            operation=operation,
            errors_only=errors_only,
            min_duration_ms=min_duration_ms,
            attributes=attributes or {},
            order="duration_desc" if order == "slowest" else "start",
            one_per_trace=True,
            after=after,
            limit=limit + 1,
        )
        spans = await kit.run(lambda: backend.query_spans(query))
        hits: dict[str, Span] = {}
        for span in spans:  # a backend that cannot pick one span per trace: keep the first
            if span.trace_id not in hits and (after is None or _after(span, order, after)):
                hits[span.trace_id] = span
        found = list(hits.values())
        data_note = kit.data_note(window)

        def build(count: int) -> TraceSearch:
            kept = found[:count]
            has_more = len(found) > count
            next_page = {"cursor": cursor_of(kept[-1], order)} if has_more and kept else None
            messages = [data_note]
            if next_page:
                messages.append(f"more traces match; call again with {next_page} for the next page")
            elif not kept and not data_note:
                messages.append("no spans match; loosen the filters (operation names are exact)")
            return TraceSearch(
                window=kit.window_out(window),
                hits=[_hit(s) for s in kept],
                has_more=has_more,
                next_page=next_page,
                message="; ".join(m for m in messages if m),
            )

        out = build(limit)

        def render(o: TraceSearch) -> str:
            lines = [f"{len(o.hits)} traces: start | trace_id | service | operation | ms | status"]
            lines += [
                f"{iso(h.start)} | {h.trace_id} | {h.service} | {h.operation} | {h.duration_ms:.1f} | "
                + (
                    "ERROR "
                    + (str(h.http_status or ""))
                    + (f" {h.status_message}" if h.status_message else "")
                    if h.error
                    else "ok"
                )
                for h in o.hits
            ]
            return "\n".join([*lines, o.message]).strip()

        return kit.respond(
            out,
            render,
            "hits",
            page_hint="next_page continues from there",
            rebuild=build,
            untrusted=["hits[].status_message"],
        )

    @server.tool(annotations=READ_ONLY, structured_output=True)
    async def get_trace(
        trace_id: Annotated[str, Field(description="32 hex characters, as search_traces shows it.")],
        max_spans: Annotated[int, Field(ge=1, le=500, description="Most spans to return.")] = 200,
    ) -> Annotated[CallToolResult, TraceDetail]:
        """One trace as a call tree: each span's service, operation, start offset, duration,
        error status, exception and the dependency it calls. The deepest failing span is usually
        where the failure starts."""
        trace = trace_id.strip().lower()
        if not TRACE_ID.match(trace):
            raise ToolError(f"trace_id {trace_id!r} is not 32 hex characters")
        spans = await kit.run(lambda: backend.get_trace(trace))
        if not spans:
            raise ToolError(f"no spans for trace {trace}; find trace ids with search_traces")
        nodes = span_tree(spans)
        roots = [n for n in nodes if n.depth == 0]
        start_ns = min(s.start_time_unix_nano for s in spans)
        end_ns = max(s.end_time_unix_nano for s in spans)
        out = TraceDetail(
            trace_id=trace,
            root_service=roots[0].service if roots else None,
            root_operation=roots[0].operation if roots else None,
            duration_ms=round((end_ns - start_ns) / 1e6, 3),
            span_count=len(nodes),
            error_count=sum(n.error for n in nodes),
            services=sorted({n.service for n in nodes}),
            spans=nodes[:max_spans],
            has_more=len(nodes) > max_spans,
            message=f"showing the first {max_spans} of {len(nodes)} spans; raise max_spans for more"
            if len(nodes) > max_spans
            else "",
        )

        def render(o: TraceDetail) -> str:
            lines = [
                f"trace {o.trace_id}: {o.root_service} {o.root_operation}, {o.duration_ms:.1f}ms, "
                f"{o.span_count} spans, {o.error_count} errors"
            ]
            for n in o.spans:
                detail = ""
                if n.error:
                    detail = " ERROR" + (
                        f" {n.exceptions[0]}"
                        if n.exceptions
                        else f" {n.status_message}"
                        if n.status_message
                        else ""
                    )
                peer = f" -> {n.peer}" if n.peer else ""
                lines.append(
                    f"{'  ' * n.depth}{n.service} {n.operation}{peer} +{n.offset_ms:.1f}ms {n.duration_ms:.1f}ms{detail}"
                )
            return "\n".join([*lines, o.message]).strip()

        return kit.respond(
            out,
            render,
            "spans",
            page_hint="lower max_spans",
            untrusted=["spans[].status_message", "spans[].attributes", "spans[].exceptions"],
        )

    @server.tool(annotations=READ_ONLY, structured_output=True)
    async def service_map(
        service: Annotated[
            str | None,
            Field(description="Only edges to or from this service (its callers and dependencies)."),
        ] = None,
        start: Start = None,
        end: End = None,
    ) -> Annotated[CallToolResult, ServiceMapOut]:
        """Who calls whom in a window, with requests, errors and latency per edge. Dependencies
        seen only through client spans (databases, queues, AWS APIs) are marked external."""
        window = kit.window(start, end)
        edges = await kit.run(lambda: service_edges(kit, window))
        if service is not None:
            nodes = {e.caller for e in edges} | {e.callee for e in edges}
            if service not in nodes:
                kit.check_service(service)
            edges = [e for e in edges if service in (e.caller, e.callee)]
        out = ServiceMapOut(
            window=kit.window_out(window),
            services=sorted({e.caller for e in edges} | {e.callee for e in edges}),
            edges=[
                EdgeOut(
                    caller=e.caller,
                    callee=e.callee,
                    requests=e.requests,
                    errors=e.errors,
                    error_rate=e.errors / e.requests if e.requests else None,
                    p50_ms=e.p50_ms,
                    p95_ms=e.p95_ms,
                    external=e.callee_is_external,
                )
                for e in sorted(edges, key=lambda e: (-e.errors, e.caller, e.callee))
            ],
            message=kit.data_note(window),
        )

        def render(o: ServiceMapOut) -> str:
            lines = [
                f"{len(o.edges)} edges (most errors first): caller -> callee | requests | errors | p50/p95 ms"
            ]
            lines += [
                f"{e.caller} -> {e.callee}{' (external)' if e.external else ''} | {e.requests} | "
                f"{e.errors} ({pct(e.error_rate, 1)}) | {num(e.p50_ms)}/{num(e.p95_ms)}"
                for e in o.edges
            ]
            return "\n".join([*lines, o.message]).strip()

        return kit.respond(out, render, "edges", page_hint="name a service")

    @server.tool(annotations=READ_ONLY, structured_output=True)
    async def trace_hotspots(
        service: ServiceArg = None,
        start: Start = None,
        end: End = None,
        onset: OnsetArg = None,
        limit: Annotated[int, limit_field("entries per list")] = 10,
    ) -> Annotated[CallToolResult, Hotspots]:
        """Where failures start and where time goes.

        Error origins: spans that fail while none of their children fail, grouped by service,
        operation and the dependency they call (e.g. a throttled DynamoDB table), with a sample
        message, the hosts/zones involved and its rate before and after the onset. Latency
        changes: operations whose own time (not spent waiting on children) grew after the
        onset, by the extra time they add. Latency: operations by self time over the window."""
        window = kit.window(start, end)
        kit.check_service(service)

        def work() -> Hotspots:
            from mcp_server.tools.metrics import scope_out

            scope = kit.scope(window, onset, service)
            origins = backend.error_origins(window, service=service, limit=limit)
            rates = {
                side: _origin_rates(backend.error_origins(part, service=service, limit=1000), part)
                for side, part in (("incident", scope.incident), ("baseline", scope.baseline))
            }
            changes = [
                d
                for d in trace_analysis.self_time_deltas(backend, scope)
                if service is None or d.service == service
            ]
            stats = backend.span_stats(
                SpanStatsQuery(
                    window=window,
                    bucket_seconds=single_bucket(window),
                    service=service,
                    group_by=["service", "operation"],
                )
            )
            total_self = sum(b.self_ms_sum for b in stats) or 1.0
            ranked = sorted(stats, key=lambda b: -b.self_ms_sum)[:limit]
            return Hotspots(
                window=kit.window_out(window),
                scope=scope_out(scope),
                error_origins=sorted(
                    [
                        ErrorOriginOut(
                            service=o.service,
                            operation=o.operation,
                            peer=o.peer,
                            count=o.count,
                            rate_per_min=rates["incident"].get((o.service, o.operation, o.peer), 0.0),
                            baseline_rate_per_min=rates["baseline"].get(
                                (o.service, o.operation, o.peer), 0.0
                            ),
                            first_seen=o.first_seen,
                            last_seen=o.last_seen,
                            sample_trace_id=o.sample_trace_id,
                            sample_message=_short(o.sample_message, MAX_MESSAGE_CHARS),
                            sample_exception=_short(o.sample_exception, MAX_MESSAGE_CHARS),
                            hosts=dict(sorted(o.hosts.items(), key=lambda kv: -kv[1])[:5]),
                            availability_zones=o.availability_zones,
                        )
                        for o in origins
                    ],
                    # new or growing failures first, steady background errors last
                    key=lambda e: (-((e.rate_per_min or 0.0) - (e.baseline_rate_per_min or 0.0)), -e.count),
                ),
                latency_changes=[
                    LatencyChange(
                        service=d.service,
                        operation=d.operation,
                        peer=d.peer,
                        baseline_self_ms=round(d.base_self_ms, 3),
                        incident_self_ms=round(d.inc_self_ms, 3),
                        excess_ms_per_min=round(d.excess_ms_per_min, 1),
                        share=round(d.share, 4),
                    )
                    for d in changes[:limit]
                ],
                latency=[
                    LatencyHotspot(
                        service=str(b.group.get("service")),
                        operation=str(b.group.get("operation")),
                        spans=b.count,
                        self_ms_total=round(b.self_ms_sum, 3),
                        self_share=b.self_ms_sum / total_self,
                        mean_self_ms=round(b.self_ms_sum / b.count, 3) if b.count else 0.0,
                        p95_ms=b.p95_ms,
                    )
                    for b in ranked
                ],
                message=kit.data_note(window) or ("" if origins else "no failing spans in this window"),
            )

        out = await kit.run(lambda: kit.cached(("trace_hotspots", window, service, onset, limit), work))

        def render(o: Hotspots) -> str:
            lines = [
                f"onset {iso(o.scope.onset)} ({o.scope.onset_source})",
                "error origins (where failures start): count (per min after/before onset) | service operation -> dependency | sample",
            ]
            lines += [
                f"{e.count} ({num(e.rate_per_min)}/{num(e.baseline_rate_per_min, 2)}) | "
                f"{e.service} {e.operation}{' -> ' + e.peer if e.peer else ''} | "
                f"{e.sample_exception or e.sample_message or '-'} | {iso(e.first_seen)} .. {iso(e.last_seen)} | "
                f"hosts {', '.join(e.hosts) or '-'} | trace {e.sample_trace_id}"
                for e in o.error_origins
            ]
            if o.latency_changes:
                lines.append(
                    "latency added after the onset: share | service operation -> dependency | self ms before -> after"
                )
                lines += [
                    f"{pct(c.share, 1)} | {c.service} {c.operation}{' -> ' + c.peer if c.peer else ''} | "
                    f"{c.baseline_self_ms:.1f} -> {c.incident_self_ms:.1f}"
                    for c in o.latency_changes
                ]
            lines.append(
                "self time over the window: share | service operation | spans | mean self ms | p95 ms"
            )
            lines += [
                f"{pct(h.self_share, 1)} | {h.service} {h.operation} | {h.spans} | {h.mean_self_ms:.1f} | {num(h.p95_ms)}"
                for h in o.latency
            ]
            return "\n".join([*lines, o.message]).strip()

        return kit.respond(
            out,
            render,
            "latency",
            untrusted=["error_origins[].sample_message", "error_origins[].sample_exception"],
        )
