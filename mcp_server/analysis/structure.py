"""Call-pattern changes: code that now takes another path, seen in traces without any status.

Real instrumentation often records no span status, no kind and no attributes, so an exception
or a wrong answer is invisible as an "error". It is still visible in the shape of the traces:

- **Truncated work.** An operation that used to make a call per request now makes it less often
  (its code throws before reaching it, or gives up): the calls per parent span drop, which a
  count test over the incident's parent spans can tell from noise.
- **Whom it returned after.** Requests that used to finish after calling one service now finish
  right after calling another: the answer from that service made them stop. When callers in
  several services all stop after the same callee, or at least half of one caller's requests that
  used to go on past it (to further calls after it) now stop there, its answers are the problem (a
  wrong return value, an error it reports as success); when one service's requests only spread
  over other last callees, its own code is.
- **A switched branch is not work cut short.** An operation that now calls one callee instead of
  another (fewer calls here, about as many more there) chose another branch, most often because
  of what it was asked or answered; that is not its own code stopping early.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

from mcp_server.analysis.models import Evidence, EvidenceKind
from mcp_server.analysis.signals import Scope, Signal, SignalKind
from mcp_server.analysis.stats import count_surprise
from mcp_server.backends.base import SpanStatsQuery, TelemetryBackend
from mcp_server.telemetry import TimeWindow
from mcp_server.tool_calls import tool_call

MIN_PARENTS = 10  # parent spans needed in each window to compare call patterns
MIN_Z = 4.0  # count surprise of a changed call rate
MIN_CHANGE = 0.3  # and at least this relative change in calls per parent
MIN_SHIFT = 0.15  # share of requests that now return after a different callee
SOLE_CALLER_SHIFT = 0.5  # share of one caller's requests that went on past a callee and now stop there
SWITCH_SHARE = 0.5  # calls that rose elsewhere, against those that fell, that make a switched branch


@dataclass
class CallChange:
    """Calls from one operation to another, per parent span, before and during the incident."""

    service: str  # the parent's service: whose code path changed
    operation: str
    child_service: str
    child_operation: str
    before: float  # calls per parent span
    after: float
    parents: int  # parent spans in the incident
    z: float  # signed count surprise


@dataclass
class ReturnShift:
    """Requests of one operation that now end right after calling ``callee``."""

    service: str
    operation: str
    callee: str
    before: float  # share of requests whose last call went to ``callee``
    after: float
    parents: int
    reached: float = 1.0  # share of requests that called ``callee`` before onset (an upper bound)

    @property
    def went_on(self) -> float:
        """Share of requests that, before onset, called ``callee`` and went on to further calls."""
        return max(0.0, max(self.reached, self.before) - self.before)

    @property
    def stops_early(self) -> bool:
        """At least half of the requests that used to go on past ``callee`` now stop right after it."""
        went_on = self.went_on
        return went_on > 0 and self.after - self.before >= SOLE_CALLER_SHIFT * went_on


@dataclass
class StructureFindings:
    changes: list[CallChange] = field(default_factory=list)
    shifts: list[ReturnShift] = field(default_factory=list)


def _counts(backend: TelemetryBackend, window: TimeWindow, group_by: list) -> dict[tuple, int]:
    width = int(window.duration.total_seconds()) + 1
    rows = backend.span_stats(SpanStatsQuery(window=window, bucket_seconds=width, group_by=group_by))
    out: dict[tuple, int] = defaultdict(int)
    for r in rows:
        out[tuple(r.group.get(g) for g in group_by)] += r.count
    return out


def call_pattern_changes(backend: TelemetryBackend, scope: Scope) -> StructureFindings:
    """Call rates per parent span and last callees that moved significantly at the onset."""
    parent_group = ["service", "operation"]
    pair_group = ["parent_service", "parent_operation", "service", "operation", "callee"]
    last_group = ["service", "operation", "last_callee"]
    parents = [_counts(backend, w, parent_group) for w in (scope.baseline, scope.incident)]
    pairs: list[dict[tuple, int]] = [defaultdict(int), defaultdict(int)]
    # calls before onset from each operation to each service, made directly or through the
    # operation's own client span: how many of its requests could have gone on past that service
    reaching: dict[tuple, int] = defaultdict(int)
    for i, w in enumerate((scope.baseline, scope.incident)):
        for (p_service, p_operation, c_service, c_operation, callee), n in _counts(
            backend, w, pair_group
        ).items():
            pairs[i][(p_service, p_operation, c_service, c_operation)] += n
            target = c_service if c_service != p_service else callee
            if i == 0 and target:
                reaching[(p_service, p_operation, target)] += n
    lasts = [_counts(backend, w, last_group) for w in (scope.baseline, scope.incident)]
    found = StructureFindings()
    for key in set(pairs[0]) | set(pairs[1]):
        p_service, p_operation, c_service, c_operation = key
        if not p_service or not p_operation:
            continue
        n_before = parents[0].get((p_service, p_operation), 0)
        n_after = parents[1].get((p_service, p_operation), 0)
        if n_before < MIN_PARENTS or n_after < MIN_PARENTS:
            continue
        rate_before = pairs[0].get(key, 0) / n_before
        observed = pairs[1].get(key, 0)
        expected = rate_before * n_after
        if expected <= 0 and observed <= 0:
            continue
        z = (
            count_surprise(observed, expected)
            if observed >= expected
            else -count_surprise(expected, observed)
        )
        change = abs(observed - expected) / max(expected, observed, 1e-9)
        if abs(z) >= MIN_Z and change >= MIN_CHANGE:
            found.changes.append(
                CallChange(
                    p_service,
                    p_operation,
                    c_service,
                    c_operation,
                    rate_before,
                    observed / n_after,
                    n_after,
                    z,
                )
            )
    ends: dict[tuple[str, str], list[dict[str, int]]] = defaultdict(
        lambda: [defaultdict(int), defaultdict(int)]
    )
    for i in (0, 1):
        for (service, operation, callee), count in lasts[i].items():
            if service and operation and callee:
                ends[(service, operation)][i][callee] += count
    for (service, operation), (before, after) in ends.items():
        n_before, n_after = sum(before.values()), sum(after.values())
        if n_before < MIN_PARENTS or n_after < MIN_PARENTS:
            continue
        # calls per request bound the share of requests that reached a callee at all
        n_parents = max(parents[0].get((service, operation), 0), n_before)
        for callee in set(before) | set(after):
            share_before, share_after = before.get(callee, 0) / n_before, after.get(callee, 0) / n_after
            expected = share_before * n_after
            if (
                share_after - share_before >= MIN_SHIFT
                and count_surprise(after.get(callee, 0), expected) >= MIN_Z
            ):
                reached = min(1.0, reaching[(service, operation, callee)] / n_parents)
                found.shifts.append(
                    ReturnShift(service, operation, callee, share_before, share_after, n_after, reached)
                )
    return found


def _switched_branches(changes: list[CallChange]) -> set[tuple[str, str]]:
    """Operations whose calls that fell are about made up by calls that rose to other children:
    a branch chosen differently, not code that stops before its calls."""
    fell: dict[tuple[str, str], float] = defaultdict(float)
    rose: dict[tuple[str, str], float] = defaultdict(float)
    for c in changes:
        if c.after < c.before:
            fell[(c.service, c.operation)] += c.before - c.after
        else:
            rose[(c.service, c.operation)] += c.after - c.before
    return {op for op, drop in fell.items() if rose.get(op, 0.0) >= SWITCH_SHARE * drop}


def structure_signals(found: StructureFindings, scope: Scope) -> list[Signal]:
    """One signal per service whose own code path changed, and one per callee that several
    services' requests now stop after."""
    by_callee: dict[str, list[ReturnShift]] = defaultdict(list)
    for shift in found.shifts:
        if shift.callee != shift.service:
            by_callee[shift.callee].append(shift)
    # several callers now stopping after the same callee, or at least half of one caller's
    # requests that went on past it now stopping right after it: its answers make them stop
    blamed_callees = {
        c
        for c, shifts in by_callee.items()
        if len({s.service for s in shifts}) >= 2 or any(s.stops_early for s in shifts)
    }
    own: dict[str, list[CallChange]] = defaultdict(list)
    switched = _switched_branches(found.changes)
    for change in found.changes:
        own[change.service].append(change)
    # a caller whose requests now stop after a blamed callee did not change on its own
    explained = {s.service for c in blamed_callees for s in by_callee[c]}
    signals = []
    for service, changes in own.items():
        # work cut short is the service's own code; calls that only grew in number (retries,
        # a callee now reached more often) say more about the callee than about this code
        fewer = [c for c in changes if c.after < c.before and (c.service, c.operation) not in switched]
        if service in explained or not fewer:
            continue
        changes.sort(key=lambda c: -abs(c.z))
        top = changes[0]
        strength = min(1.0, sum(min(abs(c.z), 20.0) / 20.0 * min(1.0, abs(c.after - c.before) / max(c.before, 0.05))
                                for c in changes[:4]) / 2.0)  # fmt: skip
        text = (
            f"{service} {top.operation} now calls {top.child_service} {top.child_operation} "
            f"{top.after:.2f} times per request vs {top.before:.2f} before onset"
            + (f"; {len(changes) - 1} more calls changed" if len(changes) > 1 else "")
        )
        signals.append(
            Signal(
                service=service,
                kind=SignalKind.STRUCTURE,
                strength=strength,
                onset=scope.onset,
                evidence=Evidence(
                    kind=EvidenceKind.TOPOLOGY,
                    service=service,
                    description=text,
                    time=scope.onset,
                    value=round(top.after, 3),
                    baseline=round(top.before, 3),
                    source_query=tool_call(
                        "search_traces", scope.window, service=service, operation=top.operation
                    ),
                    attributes={
                        "operation": top.operation,
                        "calls": top.child_operation,
                        "z": round(top.z, 1),
                    },
                ),
                hints={
                    "structure": "own",
                    "truncated": len(fewer) >= len(changes) / 2,
                    "operation": top.operation,
                },
            )
        )
    for callee in blamed_callees:
        shifts = sorted(by_callee[callee], key=lambda s: -(s.after - s.before))
        callers = sorted({s.service for s in shifts})
        lead = shifts[0]
        strength = min(1.0, sum(s.after - s.before for s in shifts))
        signals.append(
            Signal(
                service=callee,
                kind=SignalKind.STRUCTURE,
                strength=strength,
                onset=scope.onset,
                evidence=Evidence(
                    kind=EvidenceKind.TOPOLOGY,
                    service=callee,
                    description=(
                        f"requests of {', '.join(callers)} now end right after calling {callee}: "
                        f"{lead.after:.0%} of {lead.service} {lead.operation} vs {lead.before:.0%} before onset"
                    ),
                    time=scope.onset,
                    value=round(lead.after, 3),
                    baseline=round(lead.before, 3),
                    source_query=tool_call(
                        "search_traces", scope.window, service=lead.service, operation=lead.operation
                    ),
                    attributes={"callers": callers},
                ),
                hints={"structure": "answers", "callers": callers},
            )
        )
    return signals
