"""RED statistics, error origins, edges and SLI buckets computed from fetched spans.

CloudWatch has no SQL over spans, so the AWS backend fetches a bounded sample of traces and
derives the same answers the local store computes in SQL, with the same rules: ``self_ms``
excludes child time, an error *origin* is an error span with no failing child, an *entry* span
is a root or a span whose parent belongs to another service.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from mcp_server.backends.base import ErrorOrigin, SliBucket, SpanBucket, SpanStatsQuery
from mcp_server.span_conventions import span_states_outcome
from mcp_server.telemetry import (
    ServiceEdge,
    SliKind,
    SloDefinition,
    Span,
    TimeWindow,
    from_nanos,
    span_peer,
)


@dataclass(frozen=True)
class DerivedSpan:
    span: Span
    is_error: bool
    self_ms: float
    is_origin: bool
    is_entry: bool
    peer: str | None
    parent_service: str | None
    parent_operation: str | None = None
    callee: str | None = None  # the service of the span's cross-service children (the longest)
    last_callee: str | None = None  # the service the span's last-ending child called


def derive(trace: Iterable[Span]) -> list[DerivedSpan]:
    spans = list(trace)
    by_id = {s.span_id: s for s in spans}
    child_ms: dict[str, float] = defaultdict(float)
    failing_parents: set[str] = set()
    callee: dict[str, Span] = {}
    last_child: dict[str, Span] = {}
    errors = {s.span_id: s.is_error for s in spans}
    for s in spans:
        if s.parent_span_id:
            child_ms[s.parent_span_id] += s.duration_ms
            if errors[s.span_id]:
                failing_parents.add(s.parent_span_id)
            parent = by_id.get(s.parent_span_id)
            latest = last_child.get(s.parent_span_id)
            if latest is None or s.end_time_unix_nano > latest.end_time_unix_nano:
                last_child[s.parent_span_id] = s
            if parent is not None and parent.service != s.service:
                known = callee.get(parent.span_id)
                if known is None or s.duration_ms > known.duration_ms:
                    callee[parent.span_id] = s
    # a failure one level down through the parent's own client span is below it too
    for s in spans:
        parent = by_id.get(s.parent_span_id or "")
        if s.span_id in failing_parents and parent is not None and parent.service == s.service:
            failing_parents.add(parent.span_id)
    derived = []
    for s in spans:
        parent = by_id.get(s.parent_span_id or "")
        derived.append(
            DerivedSpan(
                span=s,
                is_error=errors[s.span_id],
                self_ms=max(0.0, s.duration_ms - child_ms.get(s.span_id, 0.0)),
                is_origin=errors[s.span_id] and s.span_id not in failing_parents,
                is_entry=s.parent_span_id is None or parent is None or parent.service != s.service,
                peer=span_peer(int(s.kind), s.attributes),
                parent_service=parent.service if parent is not None else None,
                parent_operation=parent.operation if parent is not None else None,
                callee=callee[s.span_id].service if s.span_id in callee else None,
                last_callee=_target(last_child.get(s.span_id), s, callee),
            )
        )
    return derived


def _target(child: Span | None, parent: Span, callee: dict[str, Span]) -> str | None:
    """The service ``child`` called: its own when it runs elsewhere, else its own callee's."""
    if child is None:
        return None
    if child.service != parent.service:
        return child.service
    return callee[child.span_id].service if child.span_id in callee else None


def derive_all(traces: Iterable[Iterable[Span]]) -> list[DerivedSpan]:
    return [d for trace in traces for d in derive(trace)]


def in_window(spans: Iterable[DerivedSpan], window: TimeWindow | None) -> list[DerivedSpan]:
    if window is None:
        return list(spans)
    lo, hi = window.start_ns, window.end_ns
    return [d for d in spans if lo <= d.span.start_time_unix_nano < hi]


def quantile(values: list[float], q: float) -> float | None:
    """Linear interpolation between closest ranks (DuckDB's quantile_cont)."""
    if not values:
        return None
    ordered = sorted(values)
    position = q * (len(ordered) - 1)
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def _group_value(d: DerivedSpan, key: str) -> str | None:
    if key == "service":
        return d.span.service
    if key == "operation":
        return d.span.operation
    if key == "host":
        return d.span.host
    if key == "availability_zone":
        return d.span.availability_zone
    if key == "callee":
        return d.callee
    if key == "parent_service":
        return d.parent_service
    if key == "parent_operation":
        return d.parent_operation
    if key == "last_callee":
        return d.last_callee
    return d.peer


def _mad(values: list[float]) -> float | None:
    center = quantile(values, 0.5)
    if center is None:
        return None
    return quantile([abs(v - center) for v in values], 0.5)


def span_stats(spans: Iterable[DerivedSpan], query: SpanStatsQuery, scale: float = 1.0) -> list[SpanBucket]:
    width = query.bucket_seconds * 1_000_000_000
    groups: dict[tuple[Any, ...], list[DerivedSpan]] = defaultdict(list)
    for d in in_window(spans, query.window):
        if query.service is not None and d.span.service != query.service:
            continue
        if query.kinds is not None and int(d.span.kind) not in {int(k) for k in query.kinds}:
            continue
        if query.roots_only and d.span.parent_span_id:
            continue
        bucket = (d.span.start_time_unix_nano // width) * width
        groups[(bucket, *(_group_value(d, g) for g in query.group_by))].append(d)
    result = []
    for key in sorted(groups, key=lambda k: tuple("" if v is None else v for v in k)):
        members = groups[key]
        durations = [d.span.duration_ms for d in members]
        self_times = [d.self_ms for d in members]
        result.append(
            SpanBucket(
                bucket_start=from_nanos(int(key[0])),
                group=dict(zip(query.group_by, key[1:], strict=True)),
                count=round(len(members) * scale),
                errors=round(sum(d.is_error for d in members) * scale),
                duration_ms_sum=sum(durations) * scale,
                self_ms_sum=sum(d.self_ms for d in members) * scale,
                p50_ms=quantile(durations, 0.5),
                p95_ms=quantile(durations, 0.95),
                p99_ms=quantile(durations, 0.99),
                self_p50_ms=quantile(self_times, 0.5),
                self_mad_ms=_mad(self_times),
                traces=len({d.span.trace_id for d in members}) if query.count_traces else None,
                error_traces=len({d.span.trace_id for d in members if d.is_error})
                if query.count_traces
                else None,
                with_outcome=round(
                    sum(
                        span_states_outcome(d.span.status_code, d.span.attributes, d.is_error)
                        for d in members
                    )
                    * scale
                ),
            )
        )
    return result


def error_origins(
    spans: Iterable[DerivedSpan], window: TimeWindow, service: str | None, limit: int, scale: float = 1.0
) -> list[ErrorOrigin]:
    groups: dict[tuple[str, str, str | None], list[DerivedSpan]] = defaultdict(list)
    for d in in_window(spans, window):
        if d.is_origin and (service is None or d.span.service == service):
            groups[(d.span.service, d.span.operation, d.peer)].append(d)
    origins = []
    for (svc, operation, peer), members in groups.items():
        members.sort(key=lambda d: d.span.start_time_unix_nano)
        exception_type = max(
            (
                str(e.attributes.get("exception.type", ""))
                for d in members
                for e in d.span.events
                if e.name == "exception"
            ),
            default="",
        )
        exception_message = max(
            (
                str(e.attributes.get("exception.message", ""))
                for d in members
                for e in d.span.events
                if e.name == "exception"
            ),
            default="",
        )
        sample_exception = exception_type + (f": {exception_message}" if exception_message else "")
        origins.append(
            ErrorOrigin(
                service=svc,
                operation=operation,
                peer=peer,
                count=round(len(members) * scale),
                first_seen=members[0].span.start,
                last_seen=members[-1].span.start,
                sample_trace_id=members[0].span.trace_id,
                sample_span_id=members[0].span.span_id,
                sample_message=max((d.span.status_message for d in members), default=""),
                sample_exception=sample_exception,
                hosts=dict(Counter(h for d in members if (h := d.span.host))),
                availability_zones=dict(Counter(z for d in members if (z := d.span.availability_zone))),
            )
        )
    origins.sort(key=lambda o: (-o.count, o.service, o.operation))
    return origins[:limit]


def edge_calls(
    spans: Iterable[DerivedSpan], window: TimeWindow
) -> dict[tuple[str, str, bool], list[DerivedSpan]]:
    """Calls per (caller, callee, callee is external): child spans in another service, and
    client spans to a named dependency that no instrumented service answered."""
    calls: dict[tuple[str, str, bool], list[DerivedSpan]] = defaultdict(list)
    every = list(spans)
    has_remote_child = {
        (d.span.trace_id, d.span.parent_span_id)
        for d in every
        if d.parent_service is not None and d.parent_service != d.span.service
    }
    for d in in_window(every, window):
        if d.parent_service is not None and d.parent_service != d.span.service:
            calls[(d.parent_service, d.span.service, False)].append(d)
        if d.peer is not None and (d.span.trace_id, d.span.span_id) not in has_remote_child:
            calls[(d.span.service, d.peer, True)].append(d)
    return calls


def service_edges(spans: Iterable[DerivedSpan], window: TimeWindow) -> list[ServiceEdge]:
    edges = []
    for (caller, callee, external), members in edge_calls(spans, window).items():
        durations = [d.span.duration_ms for d in members]
        edges.append(
            ServiceEdge(
                caller=caller,
                callee=callee,
                requests=len(members),
                errors=sum(d.is_error for d in members),
                p50_ms=quantile(durations, 0.5),
                p95_ms=quantile(durations, 0.95),
                callee_is_external=external,
            )
        )
    return sorted(edges, key=lambda e: (e.caller, e.callee))


def sli_buckets(
    spans: Iterable[DerivedSpan],
    slo: SloDefinition,
    window: TimeWindow,
    bucket_seconds: int,
    scale: float = 1.0,
) -> list[SliBucket]:
    width = bucket_seconds * 1_000_000_000
    totals: dict[int, list[int]] = defaultdict(lambda: [0, 0])
    for d in in_window(spans, window):
        if d.span.service != slo.service or not d.is_entry:
            continue
        if slo.operation and d.span.operation != slo.operation:
            continue
        good = (
            (not d.is_error)
            if slo.sli == SliKind.AVAILABILITY
            else d.span.duration_ms <= float(slo.threshold_ms or 0)
        )
        bucket = totals[(d.span.start_time_unix_nano // width) * width]
        bucket[0] += 1
        bucket[1] += int(good)
    return [
        SliBucket(bucket_start=from_nanos(start), total=round(total * scale), good=round(good * scale))
        for start, (total, good) in sorted(totals.items())
    ]
