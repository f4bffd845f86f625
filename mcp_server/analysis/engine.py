"""The analysis engine's steps: scope → gather (traces, metrics, logs, changes, SLOs/alarms) → rank.

Each gather step is a function of (backend, scope) returning a :class:`StepResult` whose evidence
carries its final id (``traces-3``): ids are given here, once, and every later step cites them.
The agent graph (``agent/graph.py``) is what runs the steps, as parallel branches with
checkpoints between them; :mod:`mcp_server.analysis.detection` and
:mod:`mcp_server.analysis.verification` hold the checks it makes after ranking.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from datetime import datetime, timedelta

from mcp_server.analysis import (
    anomalies,
    changes,
    error_origins,
    health,
    latency,
    log_patterns,
    onset,
    platform_findings,
    skew,
    sparse_metrics,
    structure,
    topology,
)
from mcp_server.analysis.coverage import observed_minutes
from mcp_server.analysis.models import Evidence, EvidenceKind, Hypothesis
from mcp_server.analysis.ranking import rank_hypotheses
from mcp_server.analysis.signals import FirstAlarm, Scope, Signal, SignalKind, StepResult
from mcp_server.analysis.slos import evaluate_slos
from mcp_server.analysis.span_totals import OUTCOMES_UNRECORDED_NOTE, outcomes_unrecorded
from mcp_server.backends.base import TelemetryBackend
from mcp_server.errors import QueryError, SleuthError
from mcp_server.scenario import ScenarioSpec, Trigger
from mcp_server.telemetry import AlarmState, TimeWindow
from mcp_server.tool_calls import tool_call

MAX_HYPOTHESES = 20


# ----------------------------------------------------------------------------------- scope


def scope(
    backend: TelemetryBackend,
    spec: ScenarioSpec | None = None,
    *,
    trigger: Trigger | None = None,
    window: TimeWindow | None = None,
) -> Scope:
    """The window, onset and baseline: from the trigger when it says, else detected in the data."""
    trig = trigger or (spec.trigger if spec else None) or Trigger()
    win = window or (spec.window if spec else None) or backend.time_range()
    if win is None:
        raise SleuthError("the backend holds no telemetry and no window was given")
    bucket = onset.choose_bucket_seconds(win)
    notes: list[str] = []
    latest = trig.time if trig.time and win.contains(trig.time) else None
    detected = onset.detect_onset(backend, win, latest=latest)
    starts = detected.service_starts if detected is not None else {}
    if detected is not None:
        at, source, clarity = detected.time, "detected", detected.clarity
        if latest is not None:
            # an alarm (or a person) saw the change in data from before the trigger, so the bucket
            # it began in started before the trigger: the votes reach the trigger's own bucket
            before = math.ceil((latest - win.start).total_seconds() / bucket) - 1
            at = min(at, win.start + timedelta(seconds=max(0, before) * bucket))
    elif trig.time is not None and win.contains(trig.time):
        at, source, clarity = trig.time - timedelta(seconds=2 * bucket), "trigger", 0.6
        notes.append("no clear change point in the data; onset taken shortly before the trigger time")
    else:
        at, source, clarity = win.start + win.duration / 2, "default", 0.4
        notes.append("no clear change point in the data and no trigger time; onset taken mid-window")
    # keep at least three buckets of baseline and two of incident
    earliest = win.start + timedelta(seconds=3 * bucket)
    latest_onset = win.end - timedelta(seconds=2 * bucket)
    if earliest < latest_onset:
        at = min(max(at, earliest), latest_onset)
    services = backend.list_services()
    focus = trig.service if trig.service in services else None
    return Scope(
        window=win,
        onset=at,
        onset_source=source,  # type: ignore[arg-type]
        baseline=TimeWindow(start=win.start, end=at),
        incident=TimeWindow(start=at, end=win.end),
        bucket_seconds=bucket,
        services=services,
        focus_service=focus,
        trigger=trig,
        notes=notes,
        clarity=round(clarity, 3),
        service_starts=starts,
    )


# ---------------------------------------------------------------------------------- gather


def _timed(step: str, fn: Callable[[StepResult], None]) -> StepResult:
    result = StepResult(step=step)
    start = time.perf_counter()
    try:
        fn(result)
    except QueryError as exc:
        result.notes.append(f"{step}: degraded, the backend could not answer ({exc})")
    number_evidence(result)
    result.seconds = round(time.perf_counter() - start, 4)
    return result


def number_evidence(result: StepResult) -> None:
    """Give every finding of a step its id for the whole investigation: ``{step}-{n}``, signals first."""
    n = 0
    for sig in result.signals:
        n += 1
        sig.evidence = sig.evidence.model_copy(update={"id": f"{result.step}-{n}"})
    for i, ev in enumerate(result.evidence):
        n += 1
        result.evidence[i] = ev.model_copy(update={"id": f"{result.step}-{n}"})


def gather_traces(backend: TelemetryBackend, sc: Scope) -> StepResult:
    """Error origins, self-time growth, service health, degraded edges and host/zone skew.
    ``edges`` holds the call graph over the whole window (parent/child spans)."""

    def run(r: StepResult) -> None:
        services = set(sc.services)
        incident_origins = backend.error_origins(sc.incident, limit=error_origins.ORIGIN_LIMIT)
        deltas = error_origins.error_origin_deltas(backend, sc, incident_origins)
        error_origins.resolve_callees(backend, deltas, services)
        r.signals += error_origins.error_origin_signals(deltas, sc)
        totals = latency.operation_totals(backend, sc)
        slower = latency.self_time_deltas(backend, sc, totals)
        past = observed_minutes(backend, sc.baseline, "spans") * 60.0
        slower += latency.peer_gap_outliers(totals, sc, past_seconds=past, found=slower)
        latency.attribute_gaps(slower, totals[1])
        r.signals += latency.self_latency_signals(slower, sc)
        healths = health.service_health(backend, sc)
        r.signals += health.health_signals(healths, sc)
        # the ranking's call graph weighs traced calls; edges that only metrics name go through the
        # short-series step, which reads their client-side series itself
        r.edges = [e for e in backend.service_edges(sc.window) if e.traced]
        r.signals += topology.edge_signals(
            latency.client_edges(totals[0], services), latency.client_edges(totals[1], services), sc
        )
        r.signals += structure.structure_signals(structure.call_pattern_changes(backend, sc), sc)
        suspects = sorted({s.service for s in r.signals} | set(healths))
        skews = skew.own_failures(skew.host_skews(backend, sc, suspects), incident_origins)
        r.signals += skew.skew_signals(skews, sc)
        if not healths:
            r.notes.append("no spans in the window: trace analyses skipped")
        elif outcomes_unrecorded(totals[1].values()):
            r.notes.append(OUTCOMES_UNRECORDED_NOTE)

    return _timed("traces", run)


def gather_metrics(backend: TelemetryBackend, sc: Scope) -> StepResult:
    def run(r: StepResult) -> None:
        r.signals += anomalies.metric_signals(anomalies.detect_metric_anomalies(backend, sc), sc)
        r.signals += sparse_metrics.degraded_edges(backend, sc)

    return _timed("metrics", run)


def gather_logs(backend: TelemetryBackend, sc: Scope) -> StepResult:
    def run(r: StepResult) -> None:
        r.signals += log_patterns.log_signals(log_patterns.log_pattern_changes(backend, sc), sc)

    return _timed("logs", run)


def gather_changes(backend: TelemetryBackend, sc: Scope) -> StepResult:
    def run(r: StepResult) -> None:
        found = changes.changes_near_onset(backend, sc)
        served = [changes.first_served(backend, c, sc) for c in found]
        r.signals += changes.change_signals(found, sc, served)
        r.changes = list(found)

    return _timed("changes", run)


def gather_slos_alarms(backend: TelemetryBackend, sc: Scope) -> StepResult:
    def run(r: StepResult) -> None:
        statuses = evaluate_slos(backend, sc.window)
        r.slos = list(statuses)
        for st in statuses:
            if not st.breaching:
                continue
            d = st.definition
            r.signals.append(
                Signal(
                    service=d.service,
                    kind=SignalKind.SLO,
                    strength=min(1.0, (st.burn_rate or 0.0) / 10.0),
                    onset=sc.onset,
                    evidence=Evidence(
                        kind=EvidenceKind.SLO,
                        service=d.service,
                        description=(
                            f"SLO {d.name} breaching: attainment {st.attainment:.3%} vs goal {d.goal:.3%}, "
                            f"burn rate {st.burn_rate:.1f}"
                        ),
                        value=st.attainment,
                        baseline=d.goal,
                        source_query=tool_call("get_slo", sc.window, name=d.name),
                    ),
                )
            )
        first: tuple[datetime, str] | None = None
        for alarm in backend.list_alarms():
            if alarm.slo is not None:  # a burn-rate alert pages on its SLO, whose own status is above
                continue
            times = [
                t.time
                for t in alarm.history
                if t.new_state == AlarmState.ALARM and sc.window.contains(t.time)
            ]
            if not times:
                continue
            r.alarms.append(alarm)
            after = [t for t in times if t >= sc.onset - timedelta(seconds=sc.bucket_seconds)]
            if after and (first is None or min(after) < first[0]):
                first = (min(after), alarm.name)
            if alarm.service:
                r.signals.append(
                    Signal(
                        service=alarm.service,
                        kind=SignalKind.ALARM,
                        strength=0.3,
                        onset=min(times),
                        evidence=Evidence(
                            kind=EvidenceKind.ALARM,
                            service=alarm.service,
                            description=f"alarm {alarm.name} ({alarm.metric} {alarm.comparison} {alarm.threshold}) "
                            f"fired at {min(times):%H:%M:%S}",
                            time=min(times),
                            value=alarm.threshold,
                            source_query=tool_call("get_alarm_history", sc.window, name=alarm.name),
                        ),
                    )
                )
        if first is not None:
            r.first_alarm = FirstAlarm(name=first[1], time=first[0])

    return _timed("slos_alarms", run)


def gather_platform(backend: TelemetryBackend, sc: Scope) -> StepResult:
    result = platform_findings.gather_platform(backend, sc)
    number_evidence(result)
    return result


GATHER_STEPS: dict[str, Callable[[TelemetryBackend, Scope], StepResult]] = {
    "traces": gather_traces,
    "metrics": gather_metrics,
    "logs": gather_logs,
    "changes": gather_changes,
    "slos_alarms": gather_slos_alarms,
    "platform": gather_platform,  # the platform's own detectors (AWS); empty locally
}


# ------------------------------------------------------------------------------------ rank


def ordered(results: list[StepResult]) -> list[StepResult]:
    """Steps in :data:`GATHER_STEPS` order, whatever order the parallel branches finished in."""
    order = list(GATHER_STEPS)
    return sorted(results, key=lambda r: order.index(r.step) if r.step in order else len(order))


def rank(sc: Scope, results: list[StepResult], max_hypotheses: int = MAX_HYPOTHESES) -> list[Hypothesis]:
    """The suspects, ranked, from every step that answered; each cites the steps' evidence by id."""
    signals: list[Signal] = []
    edges = []
    for result in ordered(results):
        if not result.ok:
            continue
        signals += result.signals
        edges += result.edges + result.baseline_edges
    graph = topology.call_graph(edges)
    return rank_hypotheses(signals, graph, sc, sc.services)[:max_hypotheses]


def affected_services(results: list[StepResult]) -> list[str]:
    """Services that show any anomaly (not only the ranked causes); a change alone is not one."""
    return sorted({s.service for r in results if r.ok for s in r.signals if s.kind != SignalKind.CHANGE})
