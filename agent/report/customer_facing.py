"""Who the customers are: the customer-facing SLO and entry service of an incident.

The front door that leads to the failure (a service nobody calls, upstream of the likeliest cause or
of the SLO that paged) is where customers felt it, whatever inner alarm told someone first.
"""

from __future__ import annotations

from datetime import datetime

from mcp_server.analysis.models import InvestigationResult
from mcp_server.backends.base import SliBucket, TelemetryBackend
from mcp_server.errors import QueryError
from mcp_server.telemetry import ServiceEdge, SliKind, SloDefinition, SloStatus, TimeWindow

MIN_SLI_DROP = 0.01  # an SLI this much worse after onset counts as hurt


def slo_statuses(result: InvestigationResult) -> list[SloStatus]:
    return sorted(
        result.slos,
        key=lambda s: (not s.breaching, s.definition.sli != SliKind.AVAILABILITY, -(s.burn_rate or 0.0)),
    )


def _sli_change(
    backend: TelemetryBackend, slo: SloDefinition, window: TimeWindow, onset: datetime | None, bucket: int
) -> tuple[float, int]:
    """How much worse the SLI got after onset than before it, and how many events it counted."""
    try:
        buckets = backend.sli_buckets(slo, window, bucket)
    except QueryError:
        return 0.0, 0
    after = [b for b in buckets if onset is None or b.bucket_start >= onset]
    before = [b for b in buckets if onset is not None and b.bucket_start < onset]

    def bad(items: list[SliBucket]) -> float:
        total = sum(b.total for b in items)
        return (total - sum(b.good for b in items)) / total if total else 0.0

    return bad(after) - bad(before), sum(b.total for b in buckets)


def customer_facing_slo(
    result: InvestigationResult,
    backend: TelemetryBackend,
    edges: list[ServiceEdge],
    onset: datetime | None,
    bucket: int,
) -> SloDefinition | None:
    """The customer-facing SLO: an SLO of the entry service (one nobody calls) in front of the likeliest
    cause, else in front of the SLO that paged (:func:`_paging_slo`), else the paging one. An alarm on
    an inner service (a gateway, a backend, a queue consumer burning faster) is how someone was told;
    customers feel the front door that leads to the failure."""
    window = result.window
    pairs = [(e.caller, e.callee) for e in edges]
    callees = {callee for _, callee in pairs}
    definitions = backend.list_slo_definitions()
    paging = _paging_slo(result, backend, onset, bucket, definitions, callees)
    cause = result.hypotheses[0].service if result.hypotheses else None
    for anchor in dict.fromkeys(s for s in (cause, paging.service if paging else None) if s):
        doors = _doors(anchor, pairs)
        entries = [d for d in definitions if d.service in doors]
        if entries:
            return _most_hurt(entries, paging, backend, window, onset, bucket)
    return paging


def _most_hurt(
    entries: list[SloDefinition],
    paging: SloDefinition | None,
    backend: TelemetryBackend,
    window: TimeWindow,
    onset: datetime | None,
    bucket: int,
) -> SloDefinition:
    """Among the entry services' SLOs in front of the failure, the paging one if it is among them,
    else the one whose SLI got most worse (availability first on a tie). Customers reach the failing
    service through these doors whether or not their SLI moved much."""
    if paging is not None and paging in entries:
        return paging
    drops = {d.name: _sli_change(backend, d, window, onset, bucket)[0] for d in entries}
    return max(
        entries, key=lambda d: (drops[d.name] >= MIN_SLI_DROP, d.sli == SliKind.AVAILABILITY, drops[d.name])
    )


def _doors(service: str, edges: list[tuple[str, str]]) -> set[str]:
    """The front doors (services nobody calls) that lead to ``service``: itself when it is one."""
    callers, callees = {caller for caller, _ in edges}, {callee for _, callee in edges}
    return {service} if service in callers - callees else _callers_of(service, edges) - callees


def _callers_of(service: str, edges: list[tuple[str, str]]) -> set[str]:
    """Every service that reaches ``service`` through calls, directly or not."""
    found: set[str] = set()
    frontier = {service}
    while frontier:
        frontier = {caller for caller, callee in edges if callee in frontier and caller not in found} - {
            service
        }
        found |= frontier
    return found


def _paging_slo(
    result: InvestigationResult,
    backend: TelemetryBackend,
    onset: datetime | None,
    bucket: int,
    definitions: list[SloDefinition],
    callees: set[str],
) -> SloDefinition | None:
    """The SLO customers feel: the one the trigger names, else a breaching one on the trigger's service,
    else a breaching one on an entry service (one nobody else calls), else the worst breaching one; with
    no statuses, the busiest customer-facing SLO whose SLI got worse after onset, else the worst.

    An internal consumer (a queue worker) can burn its SLO faster than the front door, but customers
    feel the entry service that paged, so the trigger and the call graph decide before the burn rate.
    """
    statuses = slo_statuses(result)
    named = next(
        (d for d in [*definitions, *(s.definition for s in statuses)] if d.name == result.trigger.slo), None
    )
    if named is not None:
        return named
    breaching = [s.definition for s in statuses if s.breaching]
    if breaching:
        on_trigger = [d for d in breaching if d.service == result.trigger.service]
        if on_trigger:
            return on_trigger[0]
        entry = [d for d in breaching if d.service not in callees]
        return (entry or breaching)[0]
    if statuses:
        return statuses[0].definition
    affected = set(result.affected_services) | {h.service for h in result.hypotheses}
    trigger_service = result.trigger.service
    candidates = [d for d in definitions if d.service in affected or d.service == trigger_service]
    if len(candidates) <= 1:
        return candidates[0] if candidates else None
    window = result.window
    scored = [
        (
            d,
            *_sli_change(backend, d, window, onset, bucket),
            d.service == trigger_service,
            d.service not in callees,
        )
        for d in candidates
    ]
    hurt = [item for item in scored if item[1] >= MIN_SLI_DROP]
    if any(item[3] for item in hurt):  # the trigger's service, when its SLI moved
        hurt = [item for item in hurt if item[3]]
    elif any(item[4] for item in hurt):
        hurt = [item for item in hurt if item[4]]
    if hurt:
        return max(hurt, key=lambda item: (item[2], item[1]))[0]
    return max(scored, key=lambda item: item[1])[0]


def entry_service(
    result: InvestigationResult, edges: list[ServiceEdge], slo: SloDefinition | None
) -> str | None:
    """The service customers talk to: the SLO's, the trigger's, else the front door that leads to the
    likeliest cause in the call graph (the cause itself when nobody calls it; the busiest door, an
    affected one first, when several lead there), else the topmost affected caller."""
    if slo is not None:
        return slo.service
    trigger_service = result.trigger.service
    if trigger_service:
        return trigger_service
    affected = list(result.affected_services) or [h.service for h in result.hypotheses]
    cause = result.hypotheses[0].service if result.hypotheses else None
    if cause is not None:
        doors = _doors(cause, [(e.caller, e.callee) for e in edges])
        if doors:
            calls = {door: sum(e.requests for e in edges if e.caller == door) for door in doors}
            return max(sorted(doors), key=lambda door: (door in affected, calls[door]))
    if not affected:
        return None
    callees = {e.callee for e in edges}
    roots = [s for s in affected if s not in callees]
    return roots[0] if roots else affected[0]
