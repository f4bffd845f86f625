"""Alarm and SLO definitions for the simulated system, evaluated on the simulated data.

Alarms follow CloudWatch semantics: a statistic per period over every data point of the metric
for the service, compared with a threshold; ALARM after ``evaluation_periods`` breaching periods
in a row, OK after one that is not. The state history is what the alarm would have recorded.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Collection
from dataclasses import dataclass
from datetime import timedelta

from evals.simulator.faults.base import NS_PER_MIN
from evals.simulator.metrics import percentile
from evals.simulator.topology import Topology
from mcp_server.telemetry import (
    Alarm,
    AlarmState,
    AlarmTransition,
    BurnAlert,
    SliKind,
    SloDefinition,
    from_nanos,
)

# every simulated SLO pages on a fast burn: six times the budget's rate over five minutes
SLO_PAGE = BurnAlert(rate=6.0, window_minutes=5, min_events=20)

COMPARE: dict[str, Callable[[float, float], bool]] = {
    ">": lambda a, b: a > b,
    ">=": lambda a, b: a >= b,
    "<": lambda a, b: a < b,
    "<=": lambda a, b: a <= b,
}


@dataclass
class MinuteCounts:
    """Server-span outcomes of one service in one minute (for SLOs)."""

    total: int
    errors: int
    durations: list[float]


def _nice(value: float) -> float:
    """Round up to 1, 2, 2.5 or 5 times a power of ten."""
    if value <= 0:
        return 1.0
    power = 10 ** math.floor(math.log10(value))
    for step in (1, 2, 2.5, 5, 10):
        if value <= step * power:
            return float(step * power)
    return float(10 * power)


def slo_definitions(
    topology: Topology, minutes: dict[str, dict[int, MinuteCounts]], baseline_minutes: Collection[int]
) -> list[SloDefinition]:
    """Availability and latency SLOs per service; latency thresholds from the ``baseline`` minutes."""
    slos = []
    for service in topology.services.values():
        if service.batch:
            continue
        baseline = [
            d for m, c in minutes.get(service.name, {}).items() if m in baseline_minutes for d in c.durations
        ]
        p99 = percentile(baseline, 0.99) if baseline else 200.0
        edge = any(op.entry_weight for op in service.operations.values())
        slos.append(
            SloDefinition(
                name=f"{service.name}-availability",
                service=service.name,
                sli=SliKind.AVAILABILITY,
                goal=0.995 if edge else 0.99,
                description=f"{service.name}: requests that do not fail (5xx)",
                burn_alert=SLO_PAGE,
            )
        )
        slos.append(
            SloDefinition(
                name=f"{service.name}-latency",
                service=service.name,
                sli=SliKind.LATENCY,
                goal=0.99,
                threshold_ms=_nice(max(50.0, 2.5 * p99)),
                description=f"{service.name}: requests answered within the threshold",
                burn_alert=SLO_PAGE,
            )
        )
    return slos


def _burning(slo: SloDefinition, counts: dict[int, MinuteCounts], minute: int) -> bool:
    """Whether the SLO's burn alert (``SLO_PAGE`` when it declares none) is over its rate at ``minute``:
    its trailing window spends the error budget too fast."""
    page = slo.burn_alert or SLO_PAGE
    total = bad = 0
    for m in range(minute - page.window_minutes + 1, minute + 1):
        c = counts.get(m)
        if c is None:
            continue
        total += c.total
        if slo.sli == SliKind.AVAILABILITY:
            bad += c.errors
        else:
            bad += sum(1 for d in c.durations if d > (slo.threshold_ms or 0))
    return total >= page.min_events and bad / total > page.rate * (1.0 - slo.goal)


def slo_breach_time(slo: SloDefinition, counts: dict[int, MinuteCounts], from_minute: int) -> int | None:
    """The first minute (index) from ``from_minute`` at which the SLO's burn alert pages: its trailing
    window burns the budget too fast, and did not the minute before. An alert still firing from an
    earlier episode (a previous incident's errors in its window) does not page again; it pages when
    it starts burning afresh."""
    last = max(counts) if counts else -1
    before = _burning(slo, counts, from_minute - 1)
    for minute in range(from_minute, last + 1):
        now = _burning(slo, counts, minute)
        if now and not before:
            return minute
        before = now
    return None


def burn_alert(slo: SloDefinition, counts: dict[int, MinuteCounts], start_ns: int, minutes: int) -> Alarm:
    """The SLO's burn-rate alert as its alerting system records it: an alarm whose state history goes to
    ALARM at the end of each minute it starts burning the budget too fast (``slo_breach_time``) and
    back to OK when it stops. The page time is then in the alert history, as in production, even where
    the exported spans or metrics cannot recompute the SLI."""
    page = slo.burn_alert or SLO_PAGE
    history: list[AlarmTransition] = []
    state = AlarmState.INSUFFICIENT_DATA
    for minute in range(minutes):
        new = AlarmState.ALARM if _burning(slo, counts, minute) else AlarmState.OK
        if new != state:
            verb = "over" if new is AlarmState.ALARM else "back under"
            history.append(
                AlarmTransition(
                    time=from_nanos(start_ns + (minute + 1) * NS_PER_MIN),
                    old_state=state,
                    new_state=new,
                    reason=f"Burn rate over the last {page.window_minutes} minutes {verb} {page.rate:g}x",
                )
            )
            state = new
    return Alarm(
        name=f"{slo.name}-burn-rate",
        service=slo.service,
        metric="slo.burn_rate",
        statistic="max",
        comparison=">",
        threshold=page.rate,
        period_seconds=60,
        evaluation_periods=1,
        dimensions={"slo.name": slo.name, "burn_rate.window_minutes": str(page.window_minutes)},
        description=f"Pages when {slo.name} burns its error budget over {page.rate:g}x too fast "
        f"over {page.window_minutes} minutes",
        state=state,
        state_reason=history[-1].reason if history else "",
        history=history,
        slo=slo.name,
    )


@dataclass
class AlarmSpec:
    name: str
    service: str
    metric: str
    statistic: str
    comparison: str
    threshold: float
    evaluation_periods: int
    description: str
    dimensions: dict[str, str]
    symptom: bool = True  # an alarm a user would page on for an incident (errors, latency)


def evaluate_alarm(
    spec: AlarmSpec, values: dict[int, list[float]], start_ns: int, periods: int, period_s: int = 60
) -> Alarm:
    """The alarm's state history over ``periods`` periods of ``period_s`` seconds (``values`` by period)."""
    state = AlarmState.INSUFFICIENT_DATA
    history: list[AlarmTransition] = []
    recent: list[float | None] = []
    reason = "Unchecked: Initial alarm creation"
    for period in range(periods):
        points = values.get(period)
        value: float | None
        if not points:
            value = 0.0 if spec.statistic == "sum" else None
        elif spec.statistic == "sum":
            value = sum(points)
        elif spec.statistic == "max":
            value = max(points)
        elif spec.statistic == "min":
            value = min(points)
        else:
            value = sum(points) / len(points)
        recent.append(value)
        window = recent[-spec.evaluation_periods :]
        if len(window) < spec.evaluation_periods or any(v is None for v in window):
            continue
        shown = ", ".join(f"{v:.4g}" for v in window if v is not None)
        breaching = all(v is not None and COMPARE[spec.comparison](v, spec.threshold) for v in window)
        new = AlarmState.ALARM if breaching else AlarmState.OK
        if new != state:
            word = "greater" if spec.comparison.startswith(">") else "less"
            crossed = "" if breaching else "not "
            reason = (
                f"Threshold Crossed: {len(window)} datapoint(s) [{shown}] were {crossed}{word} than "
                f"{'or equal to ' if spec.comparison.endswith('=') else ''}the threshold ({spec.threshold:g})."
            )
            history.append(
                AlarmTransition(
                    time=from_nanos(start_ns + (period + 1) * period_s * 1_000_000_000)
                    + timedelta(seconds=20),
                    old_state=state,
                    new_state=new,
                    reason=reason,
                )
            )
            state = new
    return Alarm(
        name=spec.name,
        service=spec.service,
        metric=spec.metric,
        statistic=spec.statistic,
        comparison=spec.comparison,
        threshold=spec.threshold,
        period_seconds=period_s,
        evaluation_periods=spec.evaluation_periods,
        dimensions=spec.dimensions,
        description=spec.description,
        state=state,
        state_reason=reason,
        history=history,
    )


def first_alarm_time(alarm: Alarm, after_ns: int) -> int | None:
    for transition in alarm.history:
        if transition.new_state == AlarmState.ALARM:
            t = int(transition.time.timestamp()) * 1_000_000_000
            if t >= after_ns:
                return t
    return None


def alarm_specs(
    topology: Topology,
    values: dict[tuple[str, str], dict[int, list[float]]],
    baseline_minutes: Collection[int],
    names: dict[str, str],
    flapping: bool,
    period_minutes: int = 1,
) -> list[AlarmSpec]:
    """The alarms an on-call team would have set up, thresholds from the pre-incident baseline.

    ``values`` and ``baseline_minutes`` count periods of ``period_minutes``; with periods longer than
    a minute (CloudWatch basic monitoring) every alarm looks at one period.
    """
    coarse = period_minutes > 1

    def periods(count: int) -> int:
        return 1 if coarse else count

    def over(count: int) -> str:
        return f"one {period_minutes}-minute period" if coarse else f"{count} of {count} minutes"

    def metric(name: str) -> str:
        return names.get(name, name)

    def baseline(service: str, name: str, stat: str) -> float:
        per_minute = values.get((service, metric(name)), {})
        rows = []
        for m in sorted(baseline_minutes):
            points = per_minute.get(m)
            if points:
                rows.append(sum(points) if stat == "sum" else max(points))
        return max(rows) if rows else 0.0

    specs: list[AlarmSpec] = []
    for service in topology.services.values():
        if service.batch:
            continue
        requests = baseline(service.name, "http.server.request.count", "sum")
        specs.append(
            AlarmSpec(
                name=f"{service.name}-5xx-errors",
                service=service.name,
                metric=metric("http.server.request.errors"),
                statistic="sum",
                comparison=">",
                threshold=float(max(3, math.ceil(0.08 * requests))),
                evaluation_periods=periods(3),
                description=f"5xx responses from {service.name} ({over(3)})",
                dimensions={"service.name": service.name},
            )
        )
        p99 = baseline(service.name, "http.server.request.duration.p99", "max")
        specs.append(
            AlarmSpec(
                name=f"{service.name}-p99-latency",
                service=service.name,
                metric=metric("http.server.request.duration.p99"),
                statistic="max",
                comparison=">",
                threshold=_nice(max(100.0, 2.5 * p99)),
                evaluation_periods=periods(3),
                description=f"p99 latency of {service.name} ({over(3)})",
                dimensions={"service.name": service.name},
            )
        )
        specs.append(
            AlarmSpec(
                name=f"{service.name}-cpu-high",
                service=service.name,
                metric=metric("system.cpu.utilization"),
                statistic="avg",
                comparison=">",
                threshold=0.8,
                evaluation_periods=periods(5),
                description=f"Average CPU of {service.name} hosts above 80% for "
                + (over(5) if coarse else "5 minutes"),
                dimensions={"service.name": service.name},
                symptom=False,
            )
        )
        for dep_name in service.dependencies():
            dep = topology.dependencies[dep_name]
            if dep.kind == "dynamodb":
                specs.append(
                    AlarmSpec(
                        name=f"{dep.table}-read-throttles",
                        service=service.name,
                        metric=metric("aws.dynamodb.throttled_requests"),
                        statistic="sum",
                        comparison=">",
                        threshold=10.0,
                        evaluation_periods=periods(2),
                        description=f"DynamoDB ThrottledRequests on table {dep.table}",
                        dimensions={"aws.dynamodb.table_name": dep.table},
                        symptom=False,
                    )
                )
        for dep in topology.dependencies.values():
            if dep.kind == "sqs" and dep.consumer == service.name:
                specs.append(
                    AlarmSpec(
                        name=f"{dep.queue}-queue-depth",
                        service=service.name,
                        metric=metric("aws.sqs.approximate_number_of_messages_visible"),
                        statistic="max",
                        comparison=">",
                        # set once during a quiet week; with today's traffic it flaps all day
                        threshold=11.0 if flapping else 60.0,
                        evaluation_periods=1,
                        description=f"Messages waiting in {dep.queue}",
                        dimensions={"messaging.destination.name": dep.queue},
                        symptom=False,
                    )
                )
    return specs
