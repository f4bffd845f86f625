"""How traffic and errors were spread over one service's hosts or availability zones.

The blast-radius branch of the five whys asks why one bad host (or zone) hurt as many requests as it
did. Two measurable answers: the component kept receiving traffic while it failed (health checks did
not take it out), and its share of traffic rose (a fast-failing node finishes requests sooner, so a
least-outstanding-requests balancer sends it more).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from agent.report.evidence_book import EvidenceBook
from mcp_server.analysis.models import EvidenceKind, Hypothesis
from mcp_server.backends.base import SpanGroup, SpanStatsQuery, TelemetryBackend
from mcp_server.errors import QueryError
from mcp_server.telemetry import SpanKind, TimeWindow

CONCENTRATION = 0.7  # share of a service's errors on one host/zone that singles it out
MIN_ERRORS = 10


@dataclass(frozen=True)
class ComponentSkew:
    level: str  # "host" or "availability_zone"
    component: str
    components: int  # how many hosts/zones served the service
    baseline_share: float | None
    incident_share: float
    error_rate: float  # of the component's requests during the incident
    other_error_rate: float
    failing_minutes: float  # minutes in which it answered requests and failed over half of them
    requests_while_failing: int
    share_evidence: str
    health_evidence: str


def _shares(
    backend: TelemetryBackend, service: str, window: TimeWindow, level: SpanGroup
) -> tuple[dict[str, int], dict[str, int], dict[datetime, dict[str, tuple[int, int]]]]:
    stats = backend.span_stats(
        SpanStatsQuery(
            window=window, bucket_seconds=60, service=service, kinds=[SpanKind.SERVER], group_by=[level]
        )
    )
    counts: dict[str, int] = {}
    errors: dict[str, int] = {}
    per_minute: dict[datetime, dict[str, tuple[int, int]]] = {}
    for b in stats:
        key = b.group.get(level)
        if not key:
            continue
        counts[key] = counts.get(key, 0) + b.count
        errors[key] = errors.get(key, 0) + b.errors
        per_minute.setdefault(b.bucket_start, {})[key] = (b.count, b.errors)
    return counts, errors, per_minute


def _concentrated(counts: dict[str, int], errors: dict[str, int]) -> str | None:
    """The one component holding most errors at a far higher error rate than the rest, if any."""
    total_errors = sum(errors.values())
    if total_errors < MIN_ERRORS:
        return None
    top = max(errors, key=lambda k: errors[k])
    rest_count = sum(counts.values()) - counts[top]
    rest_rate = (total_errors - errors[top]) / rest_count if rest_count else 0.0
    top_rate = errors[top] / counts[top] if counts[top] else 0.0
    if errors[top] >= CONCENTRATION * total_errors and top_rate >= 3 * max(rest_rate, 0.01):
        return top
    return None


def measure_component_skew(
    backend: TelemetryBackend,
    hypothesis: Hypothesis,
    *,
    baseline: TimeWindow | None,
    incident: TimeWindow,
    book: EvidenceBook,
) -> ComponentSkew | None:
    """Traffic share and failure of the hypothesis's host or zone. When the hypothesis names none,
    a host (else a zone) holding most of the service's errors is found in the data; None otherwise."""
    levels: tuple[SpanGroup, ...] = ("host", "availability_zone")
    found = None
    for level in levels:
        try:
            counts, errors, per_minute = _shares(backend, hypothesis.service, incident, level)
        except QueryError:
            return None
        if len(counts) < 2:
            continue
        if hypothesis.component:
            if hypothesis.component in counts:
                found = (level, hypothesis.component)
                break
        elif (concentrated := _concentrated(counts, errors)) is not None:
            found = (level, concentrated)
            break
    if found is None:
        return None
    level, component = found
    total = sum(counts.values())
    share = counts[component] / total
    error_rate = errors[component] / counts[component] if counts[component] else 0.0
    others = total - counts[component]
    other_error_rate = (sum(errors.values()) - errors[component]) / others if others else 0.0
    baseline_share = None
    if baseline is not None:
        try:
            base_counts, _, _ = _shares(backend, hypothesis.service, baseline, level)
        except QueryError:
            base_counts = {}
        if base_counts.get(component):
            baseline_share = base_counts[component] / sum(base_counts.values())
    failing = [
        m
        for m in per_minute.values()
        if component in m and m[component][0] and m[component][1] * 2 > m[component][0]
    ]
    requests_while_failing = sum(m[component][0] for m in failing)
    query = f"span_stats(service={hypothesis.service!r}, kinds=[SERVER], group_by=[{level!r}])"
    base_text = (
        f" (baseline {baseline_share:.0%}, an even split is {1 / len(counts):.0%})"
        if baseline_share is not None
        else ""
    )
    share_ev = book.add(
        EvidenceKind.HOST_SKEW,
        f"{component} served {share:.0%} of {hypothesis.service}'s requests during the incident{base_text}, "
        f"failing {error_rate:.0%} of them (other {level.replace('_', ' ')}s: {other_error_rate:.1%})",
        source_query=f"{query} over {incident.start.isoformat()}..{incident.end.isoformat()}",
        service=hypothesis.service,
        value=share,
        baseline=baseline_share,
        attributes={level: component},
    )
    health_ev = book.add(
        EvidenceKind.HOST_SKEW,
        f"{component} kept receiving requests in {len(failing)} one-minute buckets while failing more than "
        f"half of them ({requests_while_failing:,} requests)",
        source_query=query,
        service=hypothesis.service,
        value=float(len(failing)),
        attributes={level: component},
    )
    return ComponentSkew(
        level=level,
        component=component,
        components=len(counts),
        baseline_share=baseline_share,
        incident_share=share,
        error_rate=error_rate,
        other_error_rate=other_error_rate,
        failing_minutes=float(len(failing)),
        requests_while_failing=requests_while_failing,
        share_evidence=share_ev,
        health_evidence=health_ev,
    )
