"""The offline investigation: scope → gather (traces, metrics, logs, changes, SLOs/alarms) → rank.

Each step is a function of (backend, scope) returning a :class:`StepResult`, so the agent graph can
run them as parallel branches; :func:`investigate` runs them all (threads: the backend answers
from several cursors) and returns an :class:`InvestigationResult`.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta

from pydantic import BaseModel, ConfigDict

from mcp_server.analysis import anomalies, changes, log_patterns, onset, topology, traces
from mcp_server.analysis.mitigation import recommend_mitigations
from mcp_server.analysis.models import Detection, Evidence, EvidenceKind, Hypothesis, InvestigationResult
from mcp_server.analysis.ranking import rank_hypotheses
from mcp_server.analysis.signals import Scope, Signal, SignalKind, StepResult
from mcp_server.analysis.slos import evaluate_slos
from mcp_server.backends.base import TelemetryBackend
from mcp_server.errors import QueryError, SleuthError
from mcp_server.scenario import ScenarioSpec, Trigger
from mcp_server.telemetry import AlarmState, TimeWindow
from mcp_server.tool_calls import tool_call


class InvestigateOptions(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    parallel: bool = True
    max_hypotheses: int = 20
    mine_logs: bool = True


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
    candidates = onset.onset_candidates(backend, win, bucket, latest=latest)
    detected = onset.pick_onset(candidates)
    if detected is None:  # no spans or logs that show it: time the onset by the metrics
        candidates = onset.metric_onset_candidates(backend, win, bucket, latest=latest)
        detected = onset.pick_onset(candidates, strong=0.9)
    if detected is not None:
        at, source = detected, "detected"
        clarity = 0.5 + 0.5 * min(1.0, candidates[0].score / 0.6)
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
    )


# ---------------------------------------------------------------------------------- gather


def _timed(step: str, fn: Callable[[StepResult], None]) -> StepResult:
    result = StepResult(step=step)
    start = time.perf_counter()
    try:
        fn(result)
    except QueryError as exc:
        result.notes.append(f"{step}: degraded, the backend could not answer ({exc})")
    result.seconds = round(time.perf_counter() - start, 4)
    return result


def gather_traces(backend: TelemetryBackend, sc: Scope) -> StepResult:
    """Error origins, self-time growth, service health, degraded edges and host/zone skew.
    ``edges`` holds the call graph over the whole window (parent/child spans)."""

    def run(r: StepResult) -> None:
        services = set(sc.services)
        deltas = traces.error_origin_deltas(backend, sc)
        traces.resolve_callees(backend, deltas, services)
        r.signals += traces.error_origin_signals(deltas, sc)
        totals = traces.operation_totals(backend, sc)
        r.signals += traces.self_latency_signals(traces.self_time_deltas(backend, sc, totals), sc)
        health = traces.service_health(backend, sc)
        r.signals += traces.health_signals(health, sc)
        r.edges = backend.service_edges(sc.window)
        r.signals += topology.edge_signals(
            traces.client_edges(totals[0], services), traces.client_edges(totals[1], services), sc
        )
        suspects = sorted({s.service for s in r.signals} | set(health))
        r.signals += traces.skew_signals(traces.host_skews(backend, sc, suspects), sc)
        if not health:
            r.notes.append("no spans in the window: trace analyses skipped")

    return _timed("traces", run)


def gather_metrics(backend: TelemetryBackend, sc: Scope) -> StepResult:
    def run(r: StepResult) -> None:
        r.signals += anomalies.metric_signals(anomalies.detect_metric_anomalies(backend, sc), sc)

    return _timed("metrics", run)


def gather_logs(backend: TelemetryBackend, sc: Scope) -> StepResult:
    def run(r: StepResult) -> None:
        r.signals += log_patterns.log_signals(log_patterns.log_pattern_changes(backend, sc), sc)

    return _timed("logs", run)


def gather_changes(backend: TelemetryBackend, sc: Scope) -> StepResult:
    def run(r: StepResult) -> None:
        found = changes.changes_near_onset(backend, sc)
        r.signals += changes.change_signals(found, sc)
        r.data["changes"] = [c.model_dump(mode="json") for c in found]

    return _timed("changes", run)


def gather_slos_alarms(backend: TelemetryBackend, sc: Scope) -> StepResult:
    def run(r: StepResult) -> None:
        statuses = evaluate_slos(backend, sc.window)
        r.data["slos"] = [s.model_dump(mode="json") for s in statuses]
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
        fired = []
        first: tuple[datetime, str] | None = None
        for alarm in backend.list_alarms():
            times = [
                t.time
                for t in alarm.history
                if t.new_state == AlarmState.ALARM and sc.window.contains(t.time)
            ]
            if not times:
                continue
            fired.append(alarm.model_dump(mode="json"))
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
        r.data["alarms"] = fired
        if first is not None:
            r.data["first_alarm"] = {"name": first[1], "time": first[0].isoformat()}

    return _timed("slos_alarms", run)


GATHER_STEPS: dict[str, Callable[[TelemetryBackend, Scope], StepResult]] = {
    "traces": gather_traces,
    "metrics": gather_metrics,
    "logs": gather_logs,
    "changes": gather_changes,
    "slos_alarms": gather_slos_alarms,
}


# ------------------------------------------------------------------------------------ rank


class Ranking(BaseModel):
    model_config = ConfigDict(extra="forbid")

    hypotheses: list[Hypothesis]
    evidence: list[Evidence]
    affected_services: list[str]


def rank(sc: Scope, results: list[StepResult], max_hypotheses: int = 20) -> Ranking:
    """Number every piece of evidence ("ev-N", in step order) and rank the suspects."""
    evidence: list[Evidence] = []
    signals: list[Signal] = []
    edges = []
    for result in sorted(
        results, key=lambda r: list(GATHER_STEPS).index(r.step) if r.step in GATHER_STEPS else 99
    ):
        for sig in result.signals:
            sig.evidence.id = f"ev-{len(evidence) + 1}"
            evidence.append(sig.evidence)
            signals.append(sig)
        for ev in result.evidence:
            ev.id = f"ev-{len(evidence) + 1}"
            evidence.append(ev)
        edges += result.edges + result.baseline_edges
    graph = topology.call_graph(edges)
    hypotheses = rank_hypotheses(signals, graph, sc, sc.services)[:max_hypotheses]
    affected = sorted({s.service for s in signals if s.kind != SignalKind.CHANGE})
    return Ranking(hypotheses=hypotheses, evidence=evidence, affected_services=affected)


# ----------------------------------------------------------------------------- investigate


def investigate(
    backend: TelemetryBackend,
    spec: ScenarioSpec | None = None,
    *,
    trigger: Trigger | None = None,
    window: TimeWindow | None = None,
    options: InvestigateOptions | None = None,
) -> InvestigationResult:
    """Run every step and rank: the whole offline investigation."""
    opts = options or InvestigateOptions()
    timings: dict[str, float] = {}
    t0 = time.perf_counter()
    sc = scope(backend, spec, trigger=trigger, window=window)
    timings["scope"] = round(time.perf_counter() - t0, 4)
    steps = dict(GATHER_STEPS)
    if not opts.mine_logs:
        steps.pop("logs")
    if opts.parallel:
        with ThreadPoolExecutor(max_workers=len(steps)) as pool:
            futures = [pool.submit(fn, backend, sc) for fn in steps.values()]
            results = [f.result() for f in futures]
    else:
        results = [fn(backend, sc) for fn in steps.values()]
    for r in results:
        timings[r.step] = r.seconds
    t1 = time.perf_counter()
    ranking = rank(sc, results, opts.max_hypotheses)
    timings["rank"] = round(time.perf_counter() - t1, 4)
    timings["total"] = round(time.perf_counter() - t0, 4)
    data = {k: v for r in results for k, v in r.data.items()}
    detection = _detection(sc, ranking.hypotheses, data)
    return InvestigationResult(
        scenario=spec.name if spec else None,
        question=sc.trigger.text,
        trigger=sc.trigger.model_dump(mode="json"),
        window={"start": sc.window.start, "end": sc.window.end},
        baseline_window={"start": sc.baseline.start, "end": sc.baseline.end},
        onset=sc.onset,
        affected_services=ranking.affected_services,
        hypotheses=ranking.hypotheses,
        evidence=ranking.evidence,
        slos=data.get("slos", []),
        alarms=data.get("alarms", []),
        changes=data.get("changes", []),
        detection=detection,
        mitigations=recommend_mitigations(ranking.hypotheses[0]) if ranking.hypotheses else [],
        notes=[*sc.notes, *(n for r in results for n in r.notes)],
        reasoner="offline",
        timings=timings,
    )


def _detection(sc: Scope, hypotheses: list[Hypothesis], data: dict) -> Detection:
    start = hypotheses[0].onset if hypotheses and hypotheses[0].onset else sc.onset
    start = min(start, sc.onset)
    first = data.get("first_alarm")
    breach = None
    for slo in data.get("slos", []):
        if slo.get("breaching"):
            breach = sc.onset
            break
    if first:
        at = datetime.fromisoformat(first["time"])
        return Detection(
            onset=start,
            first_alarm=first["name"],
            first_alarm_time=at,
            detection_delay_seconds=round((at - start).total_seconds(), 1),
            slo_breach_time=breach,
        )
    return Detection(onset=start, slo_breach_time=breach)
