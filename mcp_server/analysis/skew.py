"""Host and zone skew: errors or latency concentrated on one host or one availability zone."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

from mcp_server.analysis.models import Evidence, EvidenceKind
from mcp_server.analysis.signals import Scope, Signal, SignalKind
from mcp_server.analysis.span_totals import GroupTotals, group_totals
from mcp_server.backends.base import ErrorOrigin, TelemetryBackend
from mcp_server.tool_calls import tool_call


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
    member_errors: int = 0  # the member's failing spans in the incident
    failure_peer: str | None = None  # the dependency the member's commonest failing span called
    failure_text: str = ""  # that failure's exception and message


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


def own_failures(skews: list[Skew], origins: list[ErrorOrigin]) -> list[Skew]:
    """The skews that are the members' own doing, each with what its failures say.

    A skew of errors whose member's failing spans mostly failed because a call below them failed
    (they are not error origins) is where a failing callee's answers landed, not a bad host: it is
    dropped. Each kept skew carries the member's commonest error origin in the incident: what it
    called and what it said (a host that fails its own requests, or one whose calls to a dependency
    cannot connect), whether or not that origin alone rose significantly over the baseline."""
    kept = []
    for s in skews:
        counts = [
            (o.hosts.get(s.value, 0) if s.dimension == "host" else o.availability_zones.get(s.value, 0), o)
            for o in origins
            if o.service == s.service
        ]
        if s.metric == "errors" and 2 * sum(c for c, _ in counts) < s.member_errors:
            continue
        count, top = max(counts, key=lambda c: c[0], default=(0, None))
        if top is not None and count > 0:
            s.failure_peer = top.peer
            s.failure_text = " ".join(x for x in (top.sample_exception, top.sample_message) if x)
        kept.append(s)
    return kept


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
            skew = Skew(
                service, dimension, worst, "errors", share, member_err, o_err, n, member_errors=t.errors
            )
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
        failing = ""
        if s.failure_text:
            calling = f" calling {s.failure_peer}" if s.failure_peer else ""
            failing = f"; its failing spans there{calling}: {s.failure_text[:120]}"
        evidence = Evidence(
            kind=EvidenceKind.HOST_SKEW,
            service=s.service,
            description=(
                f"{s.service} {unit} concentrated on {label} {s.value}: {fmt(s.member_value)} vs "
                f"{fmt(s.others_value)} on the other {s.members - 1}{failing}"
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
                    "failure_peer": s.failure_peer,
                    "failure_text": s.failure_text,
                },
            )
        )
    return signals
