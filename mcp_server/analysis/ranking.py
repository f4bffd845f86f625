"""Combining signals into ranked root-cause hypotheses.

Each service gets a score from the signals that point at it. Origin signals (the deepest failing
spans, the service's own added time, a host or zone skew) weigh most; symptoms that propagate
(error rate, latency, metric and log surges) weigh less, and much less when a service it calls
shows a stronger origin. Failing client calls whose instrumented callee answered without failing
(timeouts, wrong answers) are charged to the callee. A change raises a service only when the
service also shows a symptom, and more the closer it came before the onset.
"""

from __future__ import annotations

import re
from collections import defaultdict
from datetime import datetime, timedelta

from mcp_server.analysis.classify import (
    Suspect,
    classify,
    client_errors_rose,
    fault_witnesses,
    server_errors_rose,
)
from mcp_server.analysis.models import Evidence, Hypothesis
from mcp_server.analysis.signals import Scope, Signal, SignalKind
from mcp_server.analysis.topology import CallGraph, depth_from_entry, downstream
from mcp_server.taxonomy import FaultType

STRUCTURE_WEIGHT = 2.0  # a code path that changed: origin-like, below an error origin or own latency
WEIGHTS: dict[SignalKind, float] = {
    SignalKind.ERROR_ORIGIN: 3.0,
    SignalKind.SELF_LATENCY: 2.5,
    SignalKind.STRUCTURE: STRUCTURE_WEIGHT,
    SignalKind.HOST_SKEW: 1.2,
    SignalKind.METRIC: 0.8,
    SignalKind.LOG: 0.8,
    SignalKind.ERROR_RATE: 0.4,
    SignalKind.LATENCY: 0.3,
    SignalKind.EDGE: 0.3,
    SignalKind.SLO: 0.2,
    SignalKind.ALARM: 0.2,
}
ORIGIN_KINDS = (SignalKind.ERROR_ORIGIN, SignalKind.SELF_LATENCY)
SYMPTOM_KINDS = (
    SignalKind.METRIC,
    SignalKind.LOG,
    SignalKind.ERROR_RATE,
    SignalKind.LATENCY,
    SignalKind.EDGE,
    SignalKind.SLO,
    SignalKind.ALARM,
)
CHANGE_WEIGHT = 1.5
EARLY_WEIGHT = 0.6
TRANSFER = 0.8  # share of a caller's origin moved to a callee that answered without failing
TRANSFER_UNKNOWN_KIND = 0.5  # the same when spans carry no kind (caller or callee cannot be told)
SYMPTOM_DISCOUNT = 0.35
MAX_PER_KIND = {
    SignalKind.METRIC: 6,
    SignalKind.LOG: 3,
    SignalKind.HOST_SKEW: 1,
    SignalKind.EDGE: 2,
    SignalKind.STRUCTURE: 1,
}


def _component(signals: list[Signal], kind: SignalKind) -> float:
    values = sorted((s.strength for s in signals if s.kind == kind), reverse=True)
    cap = MAX_PER_KIND.get(kind)
    if cap is not None:
        values = values[:cap]
    if kind == SignalKind.METRIC:  # noisy-OR: more and stronger anomalous series, higher score
        missing = 1.0
        for v in values:
            missing *= 1.0 - 0.8 * v
        return 1.0 - missing
    return min(1.0, sum(values))


def rank_hypotheses(
    signals: list[Signal], graph: CallGraph, scope: Scope, services: list[str] | None = None
) -> list[Hypothesis]:
    """Ranked hypotheses, one per service that shows any anomaly."""
    by_service: dict[str, Suspect] = {}

    def suspect(name: str) -> Suspect:
        if name not in by_service:
            by_service[name] = Suspect(name, onset=scope.onset)
        return by_service[name]

    known = set(services or []) | set(graph) | {c for cs in graph.values() for c in cs}
    for sig in signals:
        suspect(sig.service).signals.append(sig)

    # origins whose instrumented callee answered without failing are the callee's doing
    transfers: dict[str, float] = defaultdict(float)
    kept_origin: dict[str, float] = defaultdict(float)
    transfers_lat: dict[str, float] = defaultdict(float)
    kept_lat: dict[str, float] = defaultdict(float)
    for sig in signals:
        if sig.kind not in ORIGIN_KINDS:
            continue
        moved, kept = (
            (transfers, kept_origin) if sig.kind == SignalKind.ERROR_ORIGIN else (transfers_lat, kept_lat)
        )
        callee = sig.hints.get("callee")
        if callee and callee != sig.service and callee in known:
            # spans without a kind cannot tell a failing call from failing own code; the
            # service's own client-side error metrics rising can: its calls are what fail
            unknown = sig.hints.get("kind_unknown") and not client_errors_rose(suspect(sig.service))
            share = TRANSFER_UNKNOWN_KIND if unknown else TRANSFER
            moved[callee] += share * sig.strength
            kept[sig.service] += (1 - share) * sig.strength
            suspect(callee).inherited.append(sig)
        else:
            kept[sig.service] += sig.strength

    components: dict[str, dict[str, float]] = {}
    for name, s in by_service.items():
        comp = {kind.value: _component(s.signals, kind) for kind in WEIGHTS}
        comp[SignalKind.ERROR_ORIGIN.value] = min(1.0, kept_origin.get(name, 0.0) + transfers.get(name, 0.0))
        comp[SignalKind.SELF_LATENCY.value] = min(1.0, kept_lat.get(name, 0.0) + transfers_lat.get(name, 0.0))
        components[name] = comp

    def origin_strength(name: str) -> float:
        c = components.get(name, {})
        return c.get(SignalKind.ERROR_ORIGIN.value, 0.0) + c.get(SignalKind.SELF_LATENCY.value, 0.0)

    # zones that several services are skewed towards point at a zone, not a host
    zone_votes: dict[str, set[str]] = defaultdict(set)
    for name, s in by_service.items():
        for sk in s.of(SignalKind.HOST_SKEW):
            member = str(sk.hints.get("member"))
            zone = (
                member
                if sk.hints.get("dimension") == "availability_zone"
                else sk.hints.get("zone_of", {}).get(member)
            )
            if zone:
                zone_votes[str(zone)].add(name)
    for name, s in by_service.items():
        zones = {
            (
                str(sk.hints.get("member"))
                if sk.hints.get("dimension") == "availability_zone"
                else sk.hints.get("zone_of", {}).get(str(sk.hints.get("member")))
            )
            for sk in s.of(SignalKind.HOST_SKEW)
        }
        s.zone_peers = max((len(zone_votes.get(str(z), set()) - {name}) for z in zones if z), default=0)

    # without traces, error logs that name another suspect ("call to inventory failed") are the
    # call graph: the naming service is downstream-explained
    names_in_errors: dict[str, set[str]] = defaultdict(set)
    for name, s in by_service.items():
        for sig in s.of(SignalKind.LOG):
            text = str(sig.hints.get("text") or "")
            for other in by_service:
                if other != name and re.search(rf"(?<![\w-]){re.escape(other)}(?![\w-])", text):
                    names_in_errors[name].add(other)

    # without a call graph, metrics still tell callers from callees: a service whose *client*
    # errors rose fails because of what it calls, when another service's own (server) errors
    # rose while its calls did not fail
    failing_calls = {name for name, s in by_service.items() if client_errors_rose(s)}
    failing_alone = {
        name for name, s in by_service.items() if name not in failing_calls and server_errors_rose(s)
    }

    # client-side metrics split by peer are a call graph too: a service whose calls to another
    # suspect degraded shows that suspect's trouble; so do traced calls that fail more, when failures
    # too few to be significant origins leave the origins silent
    calls_degraded: dict[str, set[str]] = defaultdict(set)
    for s in by_service.values():
        for sig in s.of(SignalKind.EDGE):
            if (
                (sig.hints.get("sparse") or sig.hints.get("errors"))
                and not sig.hints.get("external")
                and sig.service != sig.hints.get("caller")
            ):
                calls_degraded[str(sig.hints.get("caller"))].add(sig.service)

    scored: list[tuple[float, str, dict[str, float]]] = []
    for name, s in by_service.items():
        comp = components[name]
        mine = origin_strength(name)
        below = [origin_strength(d) for d in downstream(graph, name) if d in components]
        named = names_in_errors.get(name, set()) & set(components)
        explained = (
            (bool(below) and max(below) > max(mine, 0.05) * 1.5)
            or (bool(named) and mine < 0.05)
            or (not graph and name in failing_calls and bool(failing_alone) and mine < 0.05)
            or (bool(calls_degraded.get(name, set()) - {name}) and mine < 0.05)
        )
        discount = SYMPTOM_DISCOUNT if explained else 1.0
        score = 0.0
        for kind, weight in WEIGHTS.items():
            value = comp[kind.value]
            if kind in SYMPTOM_KINDS:
                value *= discount
            score += weight * value
        if score <= 0.0:
            continue  # a change alone is not an anomaly
        change = max((c.strength for c in s.of(SignalKind.CHANGE)), default=0.0)
        comp["change"] = change
        comp["explained_by_downstream"] = 1.0 if explained else 0.0
        # a change explains a service's own trouble, not trouble it passes on from a dependency:
        # of several releases shipped together, the one where failures start is the suspect
        score += CHANGE_WEIGHT * change * min(1.0, score) * discount
        scored.append((score, name, comp))

    # the service whose own symptoms began clearly before everyone else's (a leak, a slow build-up)
    # is more likely the cause than the services that followed
    starts = {name: _strong_onset(by_service[name]) for _, name, _ in scored}
    known_starts = sorted(t for t in starts.values() if t is not None)
    if len(known_starts) >= 3:
        lead = timedelta(seconds=2 * scope.bucket_seconds)
        first, second = known_starts[0], known_starts[1]
        for i, (score, name, comp) in enumerate(scored):
            if starts[name] == first and second - first >= lead:
                comp["earliest_onset"] = 1.0
                scored[i] = (score + EARLY_WEIGHT * min(1.0, score), name, comp)
    scored = [(score, name, {**comp, "score": round(score, 4)}) for score, name, comp in scored]

    # ties go to the deeper service (the origin side of the call graph), then the earlier onset;
    # never to the name, so renaming services cannot reorder the ranking
    depth = depth_from_entry(graph)
    scored.sort(key=lambda x: (-round(x[0], 6), -depth.get(x[1], 0), _onset(by_service[x[1]], scope), x[1]))
    total = sum(x[0] for x in scored) or 1.0
    hypotheses = []
    for rank, (score, name, comp) in enumerate(scored, start=1):
        s = by_service[name]
        fault, reason = classify(s)
        confidence = calibrate(score, total, scope.clarity)
        evidence = _cited(s, fault_witnesses(s, fault))
        onset = _onset(s, scope)
        hypotheses.append(
            Hypothesis(
                rank=rank,
                service=name,
                fault_type=fault,
                confidence=confidence,
                summary=_summary(name, fault.value, reason, evidence),
                onset=onset,
                component=_component_of(s, fault),
                evidence=evidence,
                scores={k: round(v, 4) for k, v in comp.items()},
            )
        )
    return hypotheses


def calibrate(score: float, total: float, clarity: float = 1.0) -> float:
    """Share of the total evidence, tempered by its absolute strength and by how clearly the data
    shows an incident at all.

    A lone weak suspect must not read as certain: a score of 4 (e.g. all new failures start in
    one service, with its logs agreeing) is strong, below 1.5 is weak.
    """
    share = score / total
    strength = min(1.0, score / 4.0)
    value = share**0.75 * (0.2 + 0.8 * strength) * clarity
    return round(max(0.01, min(0.99, value)), 3)


def _cited(s: Suspect, witnesses: list[Signal]) -> list[Evidence]:
    """The suspect's strongest evidence, with the strongest witness of its fault type second (right
    after the lead): a CPU saturation whose latency series outnumber its one CPU series must still
    show the CPU it was named for."""
    ordered = sorted([*s.signals, *s.inherited], key=lambda x: -WEIGHTS.get(x.kind, 0.5) * x.strength)
    if witnesses and ordered and witnesses[0] is not ordered[0]:
        ordered.remove(witnesses[0])
        ordered.insert(1, witnesses[0])
    out: list[Evidence] = []
    seen: set[str] = set()
    for sig in ordered:
        key = sig.evidence.id or sig.evidence.description
        if key in seen:
            continue
        seen.add(key)
        out.append(sig.evidence)
        if len(out) >= 8:
            break
    return out


def _strong_onset(s: Suspect) -> datetime | None:
    times = [
        sig.onset
        for sig in s.signals
        if sig.onset is not None
        and sig.strength >= 0.3
        and sig.kind in (SignalKind.METRIC, SignalKind.LOG, SignalKind.ERROR_ORIGIN, SignalKind.HOST_SKEW)
    ]
    return min(times) if times else None


def _onset(s: Suspect, scope: Scope) -> datetime:
    times = [
        sig.onset
        for sig in s.signals
        if sig.onset is not None and sig.kind not in (SignalKind.CHANGE,) and sig.strength >= 0.1
    ]
    return min(times) if times else scope.onset


def _component_of(s: Suspect, fault: FaultType) -> str | None:
    skews = sorted(s.of(SignalKind.HOST_SKEW), key=lambda x: -x.strength)
    if fault is FaultType.AZ_IMPAIRMENT:  # the zone is what to shift away from, not one host in it
        skews = sorted(skews, key=lambda x: x.hints.get("dimension") != "availability_zone")
    if skews:
        return str(skews[0].hints.get("member"))
    peers = sorted(
        (o for o in s.of(SignalKind.ERROR_ORIGIN, SignalKind.SELF_LATENCY) if o.hints.get("peer")),
        key=lambda x: -x.strength,
    )
    return str(peers[0].hints["peer"]) if peers else None


def _summary(service: str, fault: str, reason: str, evidence: list[Evidence]) -> str:
    lead = evidence[0].description if evidence else ""
    text = f"{service}: {fault.replace('_', ' ')} ({reason})"
    return f"{text}. {lead}" if lead else text
