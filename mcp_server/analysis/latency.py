"""Latency attribution: where time is spent, not every ancestor that waits for it.

Self time (span time minus child time) per service, operation and peer is compared before and
during the incident, so a slow dependency is charged to its caller's client span, not to every
ancestor. On a client span whose children run in another instrumented service, self time is the
time *between* the two (network, queueing): the callee is named, whatever the instrumentation
says about span kinds or peers.
"""

from __future__ import annotations

import math
import statistics
from collections import defaultdict
from dataclasses import dataclass

from mcp_server.analysis.models import Evidence, EvidenceKind
from mcp_server.analysis.signals import Scope, Signal, SignalKind
from mcp_server.analysis.span_totals import GroupTotals, group_totals, minutes
from mcp_server.analysis.stats import median_shift_z
from mcp_server.backends.base import TelemetryBackend
from mcp_server.span_conventions import peer_service
from mcp_server.telemetry import ServiceEdge
from mcp_server.tool_calls import tool_call


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
    callee: str | None = None  # the instrumented service the spans' children run in
    z: float = 0.0  # the shift of the median self time, in standard errors
    peer_baseline: bool = False  # compared with the other edges, not with its own past
    edge: bool = False  # self time between this span and its callee's: network and queueing


OPERATION_GROUP = ["service", "operation", "peer", "callee"]
MIN_Z = 4.0  # a self-time shift below this many standard errors is noise
MIN_RATIO = 1.2
MIN_ADDED_MS = 0.5
RESOLUTION_MS = 1.0  # the coarsest timestamp precision seen in practice
PEER_Z = 4.0  # robust z (log scale) of an edge's gap among all edges' gaps
PEER_RATIO = 10.0  # and at least this many times the typical edge's gap
PEER_WEIGHT = 0.6  # a peer comparison is weaker evidence than a change over time


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
    """Operations whose median self time grew significantly, weighted by how much extra time
    they add per minute. Medians, not means: a handful of stalled spans must not make an
    operation "slower", and CPU contention slows the typical span a little, not a few a lot."""
    base, inc = totals or operation_totals(backend, scope)
    inc_min = minutes(scope.incident)
    deltas = []
    for key, t in inc.items():
        b = base.get(key)
        if not b or b.count < 5 or t.count < 5:
            continue
        if b.self_median is not None and t.self_median is not None:
            before, after = b.self_median, t.self_median
            floor = max(0.05 * before, 0.05)
            z = median_shift_z(
                before, b.self_sigma or 0.0, b.count, after, t.self_sigma or 0.0, t.count, floor
            )
        else:  # a backend without medians: means, and a crude spread
            before, after = b.self_time / b.count, t.self_time / t.count
            z = MIN_Z if after > before * 1.5 else 0.0
        # timestamps at millisecond precision make sub-millisecond self times 0 or 1: a shift
        # counts only when it is also large against a millisecond
        if z < MIN_Z or after <= max(before, RESOLUTION_MS) * MIN_RATIO or after - before < MIN_ADDED_MS:
            continue
        excess = (after - before) * t.count / inc_min
        callee = key[3] if len(key) > 3 and key[3] != key[0] else None
        deltas.append(
            LatencyDelta(
                key[0],
                key[1],
                key[2],
                None,
                before,
                after,
                excess,
                t.count,
                callee=callee,
                z=z,
                edge=bool(callee),
            )
        )
    total = sum(d.excess_ms_per_min for d in deltas) or 1.0
    for d in deltas:
        d.share = d.excess_ms_per_min / total
    deltas.sort(key=lambda d: -d.excess_ms_per_min)
    return deltas


def peer_gap_outliers(
    totals: tuple[dict[tuple, GroupTotals], dict[tuple, GroupTotals]],
    scope: Scope,
    *,
    past_seconds: float | None = None,
    found: list[LatencyDelta] | None = None,
) -> list[LatencyDelta]:
    """Caller→callee gaps far above every other edge's, for edges with no baseline of their own.

    When traces cover only the incident, an edge's own past is unknown; its peers are the
    baseline: in one system the time between a client span and its server span is a few
    milliseconds on every edge, and a delayed pod's edges stand out by orders of magnitude.
    Weaker evidence than a change over time, so it is used only where that is impossible: where
    the edge has no spans before onset, or where traces cover less of the time before onset
    (``past_seconds``) than the onset's own resolution, so that "before" may already be the
    incident. A gap is the edge's median or, when larger, its mean: one delayed pod among three
    leaves the median at the healthy pods' gap and puts a third of its delay on the mean.
    """
    base, inc = totals
    no_past = past_seconds is not None and past_seconds < scope.bucket_seconds
    # an edge whose own short past already shows the change needs no peers to say so
    known = {(d.service, d.operation, d.peer, d.callee) for d in found or []}
    gaps: dict[tuple, float] = {}
    for key, t in inc.items():
        callee = key[3] if len(key) > 3 else None
        if callee and callee != key[0] and t.count >= 10 and t.self_median is not None and t.self_median > 0:
            gaps[key] = max(t.self_median, t.self_time / t.count) if no_past else t.self_median
    if len(gaps) < 4:
        return []
    logs = {k: math.log(v) for k, v in gaps.items()}
    center = statistics.median(logs.values())
    spread = max(statistics.median(abs(v - center) for v in logs.values()) * 1.4826, math.log(1.5))
    inc_min = minutes(scope.incident)
    out = []
    for key, value in logs.items():
        b = base.get(key)
        if (b is not None and b.count >= 5 and not no_past) or key in known:
            continue  # it has a past of its own: the change over time decides
        z = (value - center) / spread
        if z < PEER_Z or gaps[key] < PEER_RATIO * math.exp(center):
            continue
        t = inc[key]
        typical = math.exp(center)
        out.append(
            LatencyDelta(
                key[0],
                key[1],
                key[2],
                None,
                typical,
                gaps[key],
                (gaps[key] - typical) * t.count / inc_min,
                t.count,
                callee=key[3],
                z=z,
                peer_baseline=True,
                edge=True,
            )
        )
    return out


def attribute_gaps(deltas: list[LatencyDelta], inc: dict[tuple, GroupTotals]) -> None:
    """Decide, for every caller→callee gap that grew, which end of the edge it belongs to.

    A delay on one service's network path, or a CPU-starved service, stretches the gap on every
    edge that touches it, in and out. So each grown edge goes to the endpoint whose edges grew
    most consistently (grown edges / edges with traffic): a caller whose calls to every
    dependency slowed is the slow one; a callee that every caller waits longer for is. Ties go
    to the callee. A delta left with its caller loses its ``callee``.
    """
    touching: dict[str, set[tuple[str, str]]] = defaultdict(set)
    for key, t in inc.items():
        callee = key[3] if len(key) > 3 else None
        if callee and callee != key[0] and t.count >= 5:
            touching[key[0]].add((key[0], callee))
            touching[callee].add((key[0], callee))
    grown = {(d.service, d.callee) for d in deltas if d.callee}
    consistency = {service: len(edges & grown) / len(edges) for service, edges in touching.items() if edges}
    for d in deltas:
        if d.callee and consistency.get(d.service, 0.0) > consistency.get(d.callee, 0.0):
            d.callee = None


def self_latency_signals(deltas: list[LatencyDelta], scope: Scope) -> list[Signal]:
    """Self-time growth; on a client span to an instrumented service the added time is spent
    between the two (network, TLS, queueing), so the callee is named in the hints."""
    services = set(scope.services)
    total = sum(d.excess_ms_per_min for d in deltas) or 1.0
    for d in deltas:
        d.share = d.excess_ms_per_min / total
    signals = []
    for d in deltas:
        if d.share < 0.03:
            continue
        callee = d.callee or peer_service(d.peer, services)
        where = f" calling {d.peer or callee}" if d.peer or callee else ""
        evidence = Evidence(
            kind=EvidenceKind.LATENCY,
            service=d.service,
            description=(
                f"time between {d.service} {d.operation} and {callee}: {d.inc_self_ms:.1f} ms per call "
                f"vs {d.base_self_ms:.1f} ms on a typical edge (too few traces before onset to compare with)"
                if d.peer_baseline
                else f"self time of {d.service} {d.operation}{where} rose from {d.base_self_ms:.1f} ms to "
                f"{d.inc_self_ms:.1f} ms per span ({d.share:.0%} of all added time)"
            ),
            time=scope.onset,
            value=round(d.inc_self_ms, 3),
            baseline=round(d.base_self_ms, 3),
            source_query=tool_call("trace_hotspots", scope.window, service=d.service, onset=scope.onset),
            attributes={
                "operation": d.operation,
                "peer": d.peer,
                "callee": callee,
                "share": round(d.share, 3),
                "z": round(d.z, 1),
            },
        )
        signals.append(
            Signal(
                service=d.service,
                kind=SignalKind.SELF_LATENCY,
                strength=min(1.0, d.share) * (PEER_WEIGHT if d.peer_baseline else 1.0),
                onset=scope.onset,
                evidence=evidence,
                hints={
                    "peer": d.peer,
                    "operation": d.operation,
                    "ratio": d.inc_self_ms / max(d.base_self_ms, 1e-6),
                    "callee": callee if callee != d.service else None,
                    "edge": d.edge,
                },
            )
        )
    return signals


def client_edges(totals: dict[tuple, GroupTotals], services: set[str]) -> list[ServiceEdge]:
    """Call edges seen from the caller's client spans (service → peer), with the mean call time
    in ``p50_ms``: the cheap per-window view of the edges, from totals already at hand."""
    acc: dict[tuple[str, str], GroupTotals] = defaultdict(GroupTotals)
    for key, t in totals.items():
        service, peer = key[0], key[2] or (key[3] if len(key) > 3 else None)
        if not peer or not service or peer == service:
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
