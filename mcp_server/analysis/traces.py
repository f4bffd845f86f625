"""Trace analyses: where errors start, where time is spent, and which hosts or zones are skewed.

- Error attribution compares the backend's error origins (failing spans with no failing child)
  in the incident against the baseline. When the origin is a client call whose callee answered
  without failing (a timeout, a wrong status), the callee is named as the suspect too.
- Latency attribution compares self time (span time minus child time) per service, operation and
  peer, so a slow dependency is charged to its caller's client span, not to every ancestor.
- Host/zone skew finds errors or latency concentrated on one host or availability zone.
"""

from __future__ import annotations

import math
import re
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime

from mcp_server.analysis.models import Evidence, EvidenceKind
from mcp_server.analysis.signals import Scope, Signal, SignalKind
from mcp_server.backends.base import ErrorOrigin, SpanStatsQuery, TelemetryBackend
from mcp_server.errors import QueryError
from mcp_server.telemetry import ServiceEdge, Span, SpanKind, TimeWindow
from mcp_server.tool_calls import tool_call

ORIGIN_LIMIT = 500
FULL_ORIGIN_RATE = 1.0  # new failing spans per minute that count as a full-strength origin
TIMEOUT_WORDS = re.compile(r"time[d ]?out|deadline|timed out", re.IGNORECASE)


def _minutes(window: TimeWindow) -> float:
    return max(window.duration.total_seconds() / 60.0, 1e-6)


# ------------------------------------------------------------------------------ error origins


@dataclass
class OriginDelta:
    service: str
    operation: str
    peer: str | None
    incident: int
    baseline: int
    rate: float  # per minute in the incident
    baseline_rate: float
    first_seen: datetime
    origin: ErrorOrigin
    callee: str | None = None  # an instrumented callee that answered without failing
    callee_status: int | None = None
    timed_out: bool = False


def significant_increase(observed: float, expected: float) -> bool:
    """More events than a Poisson count around ``expected`` plausibly gives (about 3 sigma)."""
    return observed - expected >= 3.0 * math.sqrt(expected + 1.0) + 2.0


def _excess(d: OriginDelta) -> float:
    return max(0.0, d.rate - d.baseline_rate)


def error_origin_deltas(backend: TelemetryBackend, scope: Scope) -> list[OriginDelta]:
    """Error origins whose rate rose in the incident, largest excess first."""
    inc = backend.error_origins(scope.incident, limit=ORIGIN_LIMIT)
    base = backend.error_origins(scope.baseline, limit=ORIGIN_LIMIT)
    base_by_key = {(o.service, o.operation, o.peer): o for o in base}
    inc_min, base_min = _minutes(scope.incident), _minutes(scope.baseline)
    deltas = []
    for o in inc:
        b = base_by_key.get((o.service, o.operation, o.peer))
        b_count = b.count if b else 0
        d = OriginDelta(
            service=o.service,
            operation=o.operation,
            peer=o.peer,
            incident=o.count,
            baseline=b_count,
            rate=o.count / inc_min,
            baseline_rate=b_count / base_min,
            first_seen=o.first_seen,
            origin=o,
        )
        # a new origin, or one clearly above its baseline rate: background errors stay put
        if significant_increase(d.incident, d.baseline_rate * inc_min) and d.rate >= 2.0 * d.baseline_rate:
            deltas.append(d)
    deltas.sort(key=lambda d: -_excess(d))
    return deltas


def peer_service(peer: str | None, services: set[str]) -> str | None:
    """The instrumented service a client span's peer names, if any ("customers",
    "customers.prod.svc.cluster.local", "customers:8080")."""
    if not peer:
        return None
    if peer in services:
        return peer
    head = re.split(r"[.:/]", peer, maxsplit=1)[0]
    return head if head in services else None


def resolve_callees(
    backend: TelemetryBackend, deltas: list[OriginDelta], services: set[str], top: int = 8
) -> None:
    """For client-side origins, look at a sample trace: did an instrumented callee answer fine?

    A failing client span whose callee's server span did not fail (it answered a wrong status,
    or was still working when the caller gave up), or whose callee never answered at all (a TLS
    handshake or connection failure), is the callee's doing more than the caller's.
    """
    for d in deltas[:top]:
        named = peer_service(d.peer, services)
        text = f"{d.origin.sample_message} {d.origin.sample_exception}"
        try:
            spans = backend.get_trace(d.origin.sample_trace_id)
        except QueryError:
            spans = []
        origin = _find_origin_span(spans, d)
        children = (
            [s for s in spans if s.parent_span_id == origin.span_id and s.service != origin.service]
            if origin is not None
            else []
        )
        is_client = origin is not None and origin.kind in (SpanKind.CLIENT, SpanKind.PRODUCER)
        if children and not is_client and d.peer is None:
            # a server span that failed after its calls succeeded: its own code, unless its error
            # names the service it called
            children = [c for c in children if c.service.lower() in text.lower()]
            if not children:
                continue
        if children:
            child = _follow_status(spans, children[0])
            d.callee = child.service
            d.callee_status = child.http_status
            d.timed_out = (
                origin is not None and child.end_time_unix_nano > origin.end_time_unix_nano
            ) or bool(TIMEOUT_WORDS.search(text))
        elif named is not None and named != d.service:
            d.callee = named  # the callee never answered (handshake, connection refused, timeout)
            d.timed_out = bool(TIMEOUT_WORDS.search(text))


def _follow_status(spans: list[Span], server: Span) -> Span:
    """A callee that passed on a status it got from its own callee (a proxy, a gateway) is not
    where the answer came from: follow spans carrying the same status down to the deepest."""
    status = server.http_status
    if status is None:
        return server
    by_parent: dict[str, list[Span]] = defaultdict(list)
    for s in spans:
        if s.parent_span_id:
            by_parent[s.parent_span_id].append(s)
    current = server
    for _ in range(32):
        nxt = None
        frontier = list(by_parent.get(current.span_id, []))
        while frontier and nxt is None:
            span = frontier.pop(0)
            if span.http_status != status:
                continue
            if span.service != server.service and span.service != current.service:
                nxt = span
            else:  # the same service's client span: look at what it called
                frontier.extend(by_parent.get(span.span_id, []))
        if nxt is None:
            return current
        current = nxt
    return current


def _find_origin_span(spans: list[Span], d: OriginDelta) -> Span | None:
    by_parent: dict[str, list[Span]] = defaultdict(list)
    for s in spans:
        if s.parent_span_id:
            by_parent[s.parent_span_id].append(s)
    for s in spans:
        if (
            s.service == d.service
            and s.operation == d.operation
            and s.is_error
            and not any(c.is_error for c in by_parent.get(s.span_id, []))
        ):
            return s
    return None


def error_origin_signals(deltas: list[OriginDelta], scope: Scope) -> list[Signal]:
    total = sum(_excess(d) for d in deltas) or 1.0
    signals = []
    for d in deltas:
        # a share of all new failures, scaled down when the failures themselves are few
        share = _excess(d) / total * min(1.0, _excess(d) / FULL_ORIGIN_RATE)
        o = d.origin
        text = " ".join(x for x in (o.sample_message, o.sample_exception) if x)
        where = f" calling {d.peer}" if d.peer else ""
        desc = (
            f"{d.incident} failing spans start at {d.service} {d.operation}{where} "
            f"({d.rate:.1f}/min vs {d.baseline_rate:.2f}/min before onset)"
        )
        if text:
            desc += f": {text[:160]}"
        hints = {
            "peer": d.peer,
            "operation": d.operation,
            "text": text,
            "hosts": o.hosts,
            "zones": o.availability_zones,
            "callee": d.callee,
            "callee_status": d.callee_status,
            "timed_out": d.timed_out,
            "new": d.baseline == 0,
        }
        evidence = Evidence(
            kind=EvidenceKind.ERROR_ORIGIN,
            service=d.service,
            description=desc,
            time=d.first_seen,
            value=round(d.rate, 3),
            baseline=round(d.baseline_rate, 3),
            source_query=tool_call("trace_hotspots", scope.window, service=d.service, onset=scope.onset),
            attributes={k: v for k, v in hints.items() if v not in (None, {}, "")}
            | {"sample_trace_id": o.sample_trace_id},
        )
        signals.append(
            Signal(
                service=d.service,
                kind=SignalKind.ERROR_ORIGIN,
                strength=min(1.0, share),
                onset=d.first_seen,
                evidence=evidence,
                hints=hints,
            )
        )
    return signals


# ----------------------------------------------------------------------------------- latency


@dataclass
class GroupTotals:
    count: int = 0
    errors: int = 0
    duration: float = 0.0
    self_time: float = 0.0


def group_totals(
    backend: TelemetryBackend, window: TimeWindow, group_by: list, service: str | None = None
) -> dict[tuple, GroupTotals]:
    """Span totals per group over a whole window (one or two wide buckets, summed)."""
    width = int(window.duration.total_seconds()) + 1
    rows = backend.span_stats(
        SpanStatsQuery(window=window, bucket_seconds=width, group_by=group_by, service=service)
    )
    out: dict[tuple, GroupTotals] = defaultdict(GroupTotals)
    for r in rows:
        key = tuple(r.group.get(g) for g in group_by)
        t = out[key]
        t.count += r.count
        t.errors += r.errors
        t.duration += r.duration_ms_sum
        t.self_time += r.self_ms_sum
    return out


@dataclass
class LatencyDelta:
    service: str
    operation: str
    peer: str | None
    kind: int | None
    base_self_ms: float
    inc_self_ms: float
    excess_ms_per_min: float
    count: int
    share: float = 0.0


OPERATION_GROUP = ["service", "operation", "peer"]


def operation_totals(
    backend: TelemetryBackend, scope: Scope
) -> tuple[dict[tuple, GroupTotals], dict[tuple, GroupTotals]]:
    """(baseline, incident) span totals per service, operation and peer."""
    return (
        group_totals(backend, scope.baseline, OPERATION_GROUP),
        group_totals(backend, scope.incident, OPERATION_GROUP),
    )


def self_time_deltas(
    backend: TelemetryBackend,
    scope: Scope,
    totals: tuple[dict[tuple, GroupTotals], dict[tuple, GroupTotals]] | None = None,
) -> list[LatencyDelta]:
    """Operations whose mean self time grew, weighted by how much extra time they add per minute."""
    base, inc = totals or operation_totals(backend, scope)
    inc_min = _minutes(scope.incident)
    deltas = []
    for key, t in inc.items():
        b = base.get(key)
        if not b or b.count < 5 or t.count < 5:
            continue
        base_mean = b.self_time / b.count
        inc_mean = t.self_time / t.count
        if inc_mean <= base_mean * 1.3 or inc_mean - base_mean < 1.0:
            continue
        excess = (inc_mean - base_mean) * t.count / inc_min
        deltas.append(LatencyDelta(key[0], key[1], key[2], None, base_mean, inc_mean, excess, t.count))
    total = sum(d.excess_ms_per_min for d in deltas) or 1.0
    for d in deltas:
        d.share = d.excess_ms_per_min / total
    deltas.sort(key=lambda d: -d.excess_ms_per_min)
    return deltas


def self_latency_signals(deltas: list[LatencyDelta], scope: Scope) -> list[Signal]:
    """Self-time growth; on a client span to an instrumented service the added time is spent
    between the two (network, TLS, queueing), so the callee is named in the hints."""
    services = set(scope.services)
    signals = []
    for d in deltas:
        if d.share < 0.03:
            continue
        callee = peer_service(d.peer, services)
        where = f" calling {d.peer}" if d.peer else ""
        evidence = Evidence(
            kind=EvidenceKind.LATENCY,
            service=d.service,
            description=(
                f"self time of {d.service} {d.operation}{where} rose from {d.base_self_ms:.1f} ms to "
                f"{d.inc_self_ms:.1f} ms per span ({d.share:.0%} of all added time)"
            ),
            time=scope.onset,
            value=round(d.inc_self_ms, 3),
            baseline=round(d.base_self_ms, 3),
            source_query=tool_call("trace_hotspots", scope.window, service=d.service, onset=scope.onset),
            attributes={"operation": d.operation, "peer": d.peer, "share": round(d.share, 3)},
        )
        signals.append(
            Signal(
                service=d.service,
                kind=SignalKind.SELF_LATENCY,
                strength=min(1.0, d.share),
                onset=scope.onset,
                evidence=evidence,
                hints={
                    "peer": d.peer,
                    "operation": d.operation,
                    "ratio": d.inc_self_ms / max(d.base_self_ms, 1e-6),
                    "callee": callee if callee != d.service else None,
                },
            )
        )
    return signals


def client_edges(totals: dict[tuple, GroupTotals], services: set[str]) -> list[ServiceEdge]:
    """Call edges seen from the caller's client spans (service → peer), with the mean call time
    in ``p50_ms``: the cheap per-window view of the edges, from totals already at hand."""
    acc: dict[tuple[str, str], GroupTotals] = defaultdict(GroupTotals)
    for (service, _operation, peer), t in totals.items():
        if not peer or not service:
            continue
        a = acc[(str(service), str(peer))]
        a.count += t.count
        a.errors += t.errors
        a.duration += t.duration
    edges = []
    for (caller, peer), t in sorted(acc.items()):
        callee = peer_service(peer, services)
        edges.append(
            ServiceEdge(
                caller=caller,
                callee=callee or peer,
                requests=t.count,
                errors=t.errors,
                p50_ms=t.duration / t.count if t.count else None,
                callee_is_external=callee is None,
            )
        )
    return edges


# --------------------------------------------------------------------------- service health


@dataclass
class ServiceHealth:
    service: str
    base_error_rate: float
    inc_error_rate: float
    base_latency: float
    inc_latency: float
    base_count: int
    inc_count: int


def service_health(backend: TelemetryBackend, scope: Scope) -> dict[str, ServiceHealth]:
    """Error rate and mean latency of each service's entry (server/consumer) spans, before and during."""
    kinds = [int(SpanKind.SERVER), int(SpanKind.CONSUMER)]
    out: dict[str, ServiceHealth] = {}
    base = _totals_by_service(backend, scope.baseline, kinds)
    inc = _totals_by_service(backend, scope.incident, kinds)
    for service, t in inc.items():
        b = base.get(service, GroupTotals())
        out[service] = ServiceHealth(
            service,
            b.errors / b.count if b.count else 0.0,
            t.errors / t.count if t.count else 0.0,
            b.duration / b.count if b.count else 0.0,
            t.duration / t.count if t.count else 0.0,
            b.count,
            t.count,
        )
    return out


def _totals_by_service(
    backend: TelemetryBackend, window: TimeWindow, kinds: list[int]
) -> dict[str, GroupTotals]:
    width = int(window.duration.total_seconds()) + 1
    rows = backend.span_stats(
        SpanStatsQuery(window=window, bucket_seconds=width, group_by=["service"], kinds=kinds)
    )
    if not rows:  # instrumentation without span kinds
        rows = backend.span_stats(SpanStatsQuery(window=window, bucket_seconds=width, group_by=["service"]))
    out: dict[str, GroupTotals] = defaultdict(GroupTotals)
    for r in rows:
        t = out[str(r.group.get("service"))]
        t.count += r.count
        t.errors += r.errors
        t.duration += r.duration_ms_sum
        t.self_time += r.self_ms_sum
    return out


def health_signals(health: dict[str, ServiceHealth], scope: Scope) -> list[Signal]:
    signals = []
    for h in health.values():
        if h.inc_count < 5:
            continue
        err_delta = h.inc_error_rate - h.base_error_rate
        if err_delta >= 0.01 and h.inc_error_rate >= 2 * h.base_error_rate:
            signals.append(
                Signal(
                    service=h.service,
                    kind=SignalKind.ERROR_RATE,
                    strength=min(1.0, err_delta / 0.2),
                    onset=scope.onset,
                    evidence=Evidence(
                        kind=EvidenceKind.ERROR_RATE,
                        service=h.service,
                        description=(
                            f"{h.service} error rate {h.inc_error_rate:.1%} vs {h.base_error_rate:.2%} before onset"
                        ),
                        time=scope.onset,
                        value=round(h.inc_error_rate, 4),
                        baseline=round(h.base_error_rate, 4),
                        source_query=tool_call("audit_services", scope.incident),
                    ),
                )
            )
        if (
            h.base_latency > 0
            and h.inc_latency >= 1.3 * h.base_latency
            and h.inc_latency - h.base_latency >= 2.0
        ):
            ratio = h.inc_latency / h.base_latency
            signals.append(
                Signal(
                    service=h.service,
                    kind=SignalKind.LATENCY,
                    strength=min(1.0, (ratio - 1.0) / 2.0),
                    onset=scope.onset,
                    evidence=Evidence(
                        kind=EvidenceKind.LATENCY,
                        service=h.service,
                        description=(
                            f"{h.service} mean latency {h.inc_latency:.1f} ms vs {h.base_latency:.1f} ms before onset"
                        ),
                        time=scope.onset,
                        value=round(h.inc_latency, 3),
                        baseline=round(h.base_latency, 3),
                        source_query=tool_call("audit_services", scope.incident),
                    ),
                    hints={"ratio": ratio},
                )
            )
    return signals


# ------------------------------------------------------------------------------ host/zone skew


@dataclass
class Skew:
    service: str
    dimension: str  # "host" | "availability_zone"
    value: str
    metric: str  # "errors" | "latency"
    share: float  # the skewed member's share of the service's excess errors/latency
    member_value: float
    others_value: float
    members: int
    zone_of: dict[str, str] = field(default_factory=dict)
    traffic_ratio: float = 1.0  # the member's share of requests, incident over baseline
    zone_slowdown: float = 1.0  # other services' self time in the member's zone vs elsewhere


def host_skews(backend: TelemetryBackend, scope: Scope, services: list[str]) -> list[Skew]:
    """Services whose incident errors or latency sit on one host or one zone."""
    inc = group_totals(backend, scope.incident, ["service", "host", "availability_zone"])
    base = group_totals(backend, scope.baseline, ["service", "host", "availability_zone"])
    wanted = set(services)
    by_service: dict[str, list[tuple[str, str, GroupTotals, GroupTotals]]] = defaultdict(list)
    for (service, host, zone), t in inc.items():
        if service in wanted and host:
            b = base.get((service, host, zone), GroupTotals())
            by_service[str(service)].append((str(host), str(zone or ""), t, b))
    out: list[Skew] = []
    for service, rows in by_service.items():
        if len(rows) < 2:
            continue
        zone_of = {h: z for h, z, _, _ in rows}
        for dimension in ("host", "availability_zone"):
            members: dict[str, list[GroupTotals]] = defaultdict(lambda: [GroupTotals(), GroupTotals()])
            for h, z, t, b in rows:
                key = h if dimension == "host" else z
                if not key:
                    continue
                m = members[key]
                for acc, src in ((m[0], t), (m[1], b)):
                    acc.count += src.count
                    acc.errors += src.errors
                    acc.duration += src.duration
                    acc.self_time += src.self_time
            if len(members) < 2:
                continue
            skew = _skew_of(service, dimension, members)
            if skew is not None:
                skew.zone_of = zone_of
                zone = skew.value if dimension == "availability_zone" else zone_of.get(skew.value, "")
                skew.zone_slowdown = zone_slowdown(inc, base, service, zone) if zone else 1.0
                out.append(skew)
    return out


def zone_slowdown(
    inc: dict[tuple, GroupTotals], base: dict[tuple, GroupTotals], exclude: str, zone: str
) -> float:
    """Median over the other services of (self-time growth in ``zone``) / (growth elsewhere):
    a zone-wide impairment slows every neighbour a little; one bad host does not."""
    acc: dict[tuple[str, bool], list[float]] = defaultdict(lambda: [0.0, 0.0, 0.0, 0.0])
    for (service, _host, z), t in inc.items():
        if service == exclude or not z:
            continue
        b = base.get((service, _host, z))
        if b is None or b.count < 5 or t.count < 5:
            continue
        a = acc[(str(service), z == zone)]
        a[0] += t.self_time
        a[1] += t.count
        a[2] += b.self_time
        a[3] += b.count
    ratios = []
    for (service, inside), a in acc.items():
        if not inside:
            continue
        out = acc.get((service, False))
        if out is None or a[2] <= 0 or out[2] <= 0:
            continue
        grow_in = (a[0] / a[1]) / (a[2] / a[3])
        grow_out = (out[0] / out[1]) / (out[2] / out[3])
        if grow_out > 0:
            ratios.append(grow_in / grow_out)
    if len(ratios) < 2:
        return 1.0
    ratios.sort()
    return ratios[len(ratios) // 2]


def _skew_of(service: str, dimension: str, members: dict[str, list[GroupTotals]]) -> Skew | None:
    # errors: excess errors over each member's own baseline rate
    excess = {}
    for key, (t, b) in members.items():
        base_rate = b.errors / b.count if b.count else 0.0
        excess[key] = max(0.0, t.errors - base_rate * t.count)
    total = sum(excess.values())
    n = len(members)
    if total >= 10:
        worst = max(excess, key=lambda k: excess[k])
        share = excess[worst] / total
        t = members[worst][0]
        rest = [m[0] for k, m in members.items() if k != worst]
        o_err = sum(x.errors for x in rest) / max(1, sum(x.count for x in rest))
        member_err = t.errors / max(1, t.count)
        # most of the new errors, on a member failing far more often than its peers
        if (
            share >= min(0.9, 2.0 / n + 0.1)
            and share > 1.0 / n + 0.25
            and member_err >= 0.05
            and member_err >= 3.0 * o_err
        ):
            skew = Skew(service, dimension, worst, "errors", share, member_err, o_err, n)
            skew.traffic_ratio = _traffic_ratio(members, worst)
            return skew
    # latency: mean duration far above the other members'
    means = {k: t.duration / t.count for k, (t, _b) in members.items() if t.count >= 5}
    if len(means) >= 2:
        worst = max(means, key=lambda k: means[k])
        others = [v for k, v in means.items() if k != worst]
        other_mean = sum(others) / len(others)
        base_worst = members[worst][1]
        base_mean = base_worst.duration / base_worst.count if base_worst.count else other_mean
        if other_mean > 0 and means[worst] >= 2.0 * other_mean and means[worst] >= 1.5 * base_mean:
            share = (means[worst] - other_mean) / means[worst]
            skew = Skew(service, dimension, worst, "latency", share, means[worst], other_mean, n)
            skew.traffic_ratio = _traffic_ratio(members, worst)
            return skew
    return None


def _traffic_ratio(members: dict[str, list[GroupTotals]], key: str) -> float:
    inc_total = sum(m[0].count for m in members.values())
    base_total = sum(m[1].count for m in members.values())
    if not inc_total or not base_total or not members[key][1].count:
        return 1.0
    return (members[key][0].count / inc_total) / (members[key][1].count / base_total)


def skew_signals(skews: list[Skew], scope: Scope) -> list[Signal]:
    signals = []
    for s in skews:
        unit = "error rate" if s.metric == "errors" else "mean latency"
        fmt = (lambda v: f"{v:.1%}") if s.metric == "errors" else (lambda v: f"{v:.0f} ms")
        label = "host" if s.dimension == "host" else "availability zone"
        evidence = Evidence(
            kind=EvidenceKind.HOST_SKEW,
            service=s.service,
            description=(
                f"{s.service} {unit} concentrated on {label} {s.value}: {fmt(s.member_value)} vs "
                f"{fmt(s.others_value)} on the other {s.members - 1}"
            ),
            time=scope.onset,
            value=round(s.member_value, 4),
            baseline=round(s.others_value, 4),
            source_query=tool_call("trace_hotspots", scope.window, service=s.service, onset=scope.onset),
            attributes={
                "dimension": s.dimension,
                "member": s.value,
                "metric": s.metric,
                "share": round(s.share, 3),
                "traffic_ratio": round(s.traffic_ratio, 3),
                "zone_slowdown": round(s.zone_slowdown, 3),
            },
        )
        signals.append(
            Signal(
                service=s.service,
                kind=SignalKind.HOST_SKEW,
                strength=min(1.0, s.share),
                onset=scope.onset,
                evidence=evidence,
                hints={
                    "dimension": s.dimension,
                    "member": s.value,
                    "metric": s.metric,
                    "members": s.members,
                    "zone_of": s.zone_of,
                    "traffic_ratio": round(s.traffic_ratio, 3),
                    "zone_slowdown": round(s.zone_slowdown, 3),
                },
            )
        )
    return signals
