"""Metric anomalies: every series of every service, incident against a robust baseline.

Works on metric names it has never seen: a series is scored only by how its incident level moved
against its own pre-onset median and MAD, and when it began to move. Names and units are passed
on as hints for fault classification, never used to decide what is anomalous.
"""

from __future__ import annotations

import math
import statistics
from dataclasses import dataclass, replace
from datetime import datetime

from mcp_server.analysis.buckets import before_onset
from mcp_server.analysis.levels import level_change
from mcp_server.analysis.models import Evidence, EvidenceKind
from mcp_server.analysis.signals import Scope, Signal, SignalKind
from mcp_server.analysis.sparse_metrics import closed_window, sparse_changes
from mcp_server.analysis.stats import first_persistent_exceedance, last_change_point, robust_baseline, shift
from mcp_server.backends.base import MetricBucket, MetricQuery, TelemetryBackend
from mcp_server.errors import QueryError
from mcp_server.telemetry import MetricKind, MetricSeries, SeriesPoint
from mcp_server.tool_calls import tool_call

MAX_METRIC_NAMES = 300
Z_THRESHOLD = 4.0
REL_THRESHOLD = 0.15
RECENT_LOCAL = 4  # points before a split that an older episode's end is judged against
RECENT_CUT_Z = 5.0
REACHED_SHARE = 0.2  # baseline points at the incident level that make it ordinary, not anomalous
SPARSE_WEIGHT = 0.5  # a move judged against peers, from two or three points, is thin evidence


@dataclass(frozen=True)
class MetricAnomaly:
    service: str
    metric: str
    unit: str
    statistic: str
    attributes: dict
    direction: int
    baseline: float
    incident: float
    peak: float
    z: float
    relative: float
    onset: datetime | None
    score: float  # 0..1
    description: str = ""  # the metric's own description, when the source gave one
    sparse: bool = False  # too few points for its own test: compared with its peers' moves
    settled: float | None = None  # the median of the buckets wholly after the onset


def statistic_for(kind: MetricKind, monotonic_hint: bool = True) -> str:
    if kind == MetricKind.SUM:
        return "rate"
    return "avg"


def recent_baseline(base: list[float], inc: list[float]) -> list[float]:
    """The baseline without an older episode of the same kind.

    When the baseline itself holds a significant step and its earlier part sits nearer the
    incident's level than its later part (a previous incident on the same host, since recovered),
    the later part is the normal to compare with. A slow build-up (a leak: low, then higher,
    then the incident) keeps the whole baseline, so the build-up still shows.
    """
    cp = last_change_point(
        base, min_before=3, min_after=3, local=RECENT_LOCAL, rel_floor=0.05, abs_floor=1e-9
    )
    if cp is None or abs(cp.z) < RECENT_CUT_Z:
        return base
    level = statistics.median(inc)
    early = statistics.median(base[: cp.index])
    late = statistics.median(base[cp.index :])
    return base[cp.index :] if abs(level - late) > abs(level - early) else base


def score_series(
    series: MetricSeries,
    onset: datetime,
    split: tuple[list[SeriesPoint], list[SeriesPoint]] | None = None,
) -> MetricAnomaly | None:
    """Score one series: None unless its incident level left the baseline's noise band.
    ``split`` is :func:`before_onset` of its points, when the caller already has it."""
    base_points, inc_points = split or before_onset(series.points, onset)
    base = [p.value for p in base_points]
    inc = [p.value for p in inc_points]
    whole = [p.value for p in inc_points if p.time >= onset]
    # one point after onset is enough when it is far out: a young incident at one-minute (or
    # five-minute) resolution has only that, and the alarm fired on it
    if len(base) < 3 or not inc:
        return None
    if any(math.isnan(v) or math.isinf(v) for v in base + inc):
        return None
    base = recent_baseline(base, inc)
    # the noise floor: a flat-zero baseline must not turn the first non-zero value into z = 1e9
    floor = max(1e-9, 0.01 * max(abs(v) for v in base + inc))
    s = shift(base, inc, abs_floor=floor)
    # a level shift, or a sustained excursion (a leak grows, a saturation peaks late)
    inc_sorted = sorted(inc)
    peak = (
        inc_sorted[int(0.8 * (len(inc_sorted) - 1))]
        if s.direction >= 0
        else inc_sorted[int(0.2 * (len(inc_sorted) - 1))]
    )
    b = robust_baseline(base, abs_floor=floor)
    z_peak = (peak - b.median) / b.scale
    use_level = abs(s.z) >= abs(z_peak) * 0.6
    z = s.z if use_level else z_peak
    level = s.incident if use_level else peak
    rel = (level - b.median) / abs(b.median) if b.median else (math.inf if level != b.median else 0.0)
    if abs(z) < Z_THRESHOLD * (1.5 if len(inc) == 1 else 1.0) or abs(rel) < REL_THRESHOLD:
        return None
    direction = 1 if z > 0 else -1
    # the incident level must leave the range the baseline itself visited: a sparse counter that
    # blipped to the same value before onset is not anomalous now (all of the range when the
    # baseline mostly sat at its median, its 90th percentile otherwise)
    ordered = sorted(base)
    edge = ordered[-1] if direction > 0 else ordered[0]
    if b.median != edge and (abs(b.median) > 0 or b.scale > abs(edge - b.median) / 3):
        edge = (
            ordered[int(0.9 * (len(ordered) - 1))]
            if direction > 0
            else ordered[int(0.1 * (len(ordered) - 1))]
        )
    if (level - edge) * direction <= 0:
        return None
    # a rank test: a level the baseline itself reached again and again (a series that flips
    # between two states, a node's CPU shared with bursty neighbours) is not rare, however far it
    # sits from the baseline's median
    near = 0.1 * abs(level - b.median)
    reached = sum(1 for v in base if (v - level) * direction >= -near)
    if reached >= 2 and reached >= REACHED_SHARE * len(base):
        return None
    values = [p.value for p in series.points]
    threshold = b.median + direction * 3.0 * b.scale
    start_index = len(base_points)
    # allow an onset before the global one (leaks start early) but not in the first few buckets
    first = first_persistent_exceedance(values, threshold, direction, start=min(3, start_index))
    onset_time = series.points[first].time if first is not None else None
    # soft, log-scaled: a 300-sigma, 8x move saturates; a 5-sigma, 20% move scores a little
    z_part = min(1.0, math.log10(1.0 + abs(z)) / 2.5)
    rel_part = min(1.0, math.log2(1.0 + abs(rel)) / 3.0) if math.isfinite(rel) else 1.0
    score = z_part * rel_part
    return MetricAnomaly(
        service=series.service,
        metric=series.name,
        unit=series.unit,
        statistic=series.statistic,
        attributes=dict(series.attributes),
        direction=direction,
        baseline=b.median,
        incident=level,
        peak=peak,
        z=z,
        relative=rel,
        onset=onset_time,
        score=score,
        settled=statistics.median(whole) if whole else None,
    )


def metric_series(backend: TelemetryBackend, scope: Scope) -> list[MetricSeries]:
    """Every series at its natural statistic, one per host where the source says which host it
    comes from (a fault on one pod of three is a third of the service's average): one bulk query
    when the backend offers it."""
    bulk = getattr(backend, "metric_buckets", None)
    if bulk is not None:
        grouped: dict[tuple[str, str, str | None], list[MetricBucket]] = {}
        for b in bulk(scope.window, scope.bucket_seconds, by_host=True):
            grouped.setdefault((b.name, b.service, b.host), []).append(b)
        return [
            MetricSeries(
                name=name,
                service=service,
                unit=rows[0].unit,
                kind=rows[0].kind,
                statistic=statistic_for(rows[0].kind),
                attributes={"host": host} if host else {},
                points=[
                    SeriesPoint(time=r.bucket_start, value=r.value, counted_seconds=r.counted_seconds)
                    for r in rows
                ],
            )
            for (name, service, host), rows in list(grouped.items())[: MAX_METRIC_NAMES * 50]
        ]
    names: dict[str, MetricKind] = {}
    for d in backend.list_metrics():
        names.setdefault(d.name, d.kind)
    out: list[MetricSeries] = []
    for name, kind in list(names.items())[:MAX_METRIC_NAMES]:
        try:
            out += backend.query_metrics(
                MetricQuery(
                    name=name,
                    window=scope.window,
                    statistic=statistic_for(kind),  # type: ignore[arg-type]
                    period_seconds=scope.bucket_seconds,
                )
            )
        except QueryError:
            continue
    return out


def shared_series(series_list: list[MetricSeries]) -> set[int]:
    """Indexes of series that several services report with the same values: a node's CPU or
    network as every pod on that node sees it. They describe what the services share, so they
    cannot point at one of them."""
    seen: dict[tuple, set[str]] = {}
    keys = []
    for series in series_list:
        key = (series.name, tuple(round(p.value, 6) for p in series.points))
        keys.append(key)
        seen.setdefault(key, set()).add(series.service)
    # a series that sat still (at zero, say) describes nothing shared: it is a peer that did not move
    return {i for i, key in enumerate(keys) if len(seen[key]) > 1 and len(set(key[1])) > 1}


def closing_points(backend: TelemetryBackend, scope: Scope, short: list[MetricSeries]) -> list[MetricSeries]:
    """The short series again, with the point stamped at the window's very end (see
    :func:`closed_window`)."""
    if not short:
        return short
    closed = closed_window(scope.window)
    wanted = {(s.name, s.service, s.attributes.get("host")) for s in short}
    try:
        again = metric_series(backend, scope.model_copy(update={"window": closed}))
    except QueryError:
        return short
    return [s for s in again if (s.name, s.service, s.attributes.get("host")) in wanted] or short


def detect_metric_anomalies(
    backend: TelemetryBackend, scope: Scope, services: list[str] | None = None
) -> list[MetricAnomaly]:
    """Anomalous metric series across the system (or the given services), strongest first."""
    wanted = set(services) if services else None
    try:
        series_list = metric_series(backend, scope)
    except QueryError:
        return []
    try:
        described = {(d.name, d.service): d.description for d in backend.list_metrics() if d.description}
    except QueryError:
        described = {}
    out: list[MetricAnomaly] = []
    shared = shared_series(series_list)
    short: list[MetricSeries] = []
    for i, series in enumerate(series_list):
        if wanted is not None and series.service not in wanted:
            continue
        if i in shared:
            continue
        split = before_onset(series.points, scope.onset)
        if len(split[0]) < 3:
            short.append(series)
            continue
        anomaly = score_series(series, scope.onset, split)
        if anomaly is not None:
            text = described.get((series.name, series.service), "")
            out.append(replace(anomaly, description=text) if text else anomaly)
    for series, before, after, z in sparse_changes(
        closing_points(backend, scope, short), scope.onset, scope.bucket_seconds
    ):
        text = described.get((series.name, series.service), "")
        rel = (after - before) / abs(before) if before else math.inf
        out.append(
            MetricAnomaly(
                service=series.service,
                metric=series.name,
                unit=series.unit,
                statistic=series.statistic,
                attributes=dict(series.attributes),
                direction=1 if after > before else -1,
                baseline=before,
                incident=after,
                peak=after,
                z=z,
                relative=rel,
                onset=None,
                score=SPARSE_WEIGHT * min(1.0, abs(z) / 10.0),
                description=text,
                sparse=True,
            )
        )
    out.sort(key=lambda a: -a.score)
    return out


def metric_signals(anomalies: list[MetricAnomaly], scope: Scope) -> list[Signal]:
    signals = []
    for a in anomalies:
        verb = "rose" if a.direction > 0 else "fell"
        label = a.metric if a.statistic == "rate" else f"{a.metric} ({a.statistic})"  # a rate says "a minute"
        evidence = Evidence(
            kind=EvidenceKind.METRIC_ANOMALY,
            service=a.service,
            description=(
                f"{label} {verb} from {level_change(a.baseline, a.incident, a.statistic, a.unit)} "
                + (
                    f"(z {a.z:+.1f} among its peers: too few points to test it on its own)"
                    if a.sparse
                    else f"(robust z {a.z:+.1f})"
                )
                + (f", since {a.onset:%H:%M}" if a.onset else "")
            ),
            time=a.onset,
            value=_round(a.incident),
            baseline=_round(a.baseline),
            source_query=tool_call(
                "query_metrics",
                scope.window,
                name=a.metric,
                service=a.service,
                statistic=a.statistic,
                attributes={k: str(v) for k, v in a.attributes.items()} or None,
                period_seconds=scope.bucket_seconds,
            ),
            attributes={"metric": a.metric, "unit": a.unit, "z": round(a.z, 2), "direction": a.direction}
            | ({"host": a.attributes["host"]} if a.attributes.get("host") else {}),
        )
        signals.append(
            Signal(
                service=a.service,
                kind=SignalKind.METRIC,
                strength=a.score,
                onset=a.onset,
                evidence=evidence,
                hints={
                    # the name and its description: a renamed metric still says what it measures
                    "metric": f"{a.metric} {a.description}".strip(),
                    "unit": a.unit,
                    "direction": a.direction,
                    "relative": a.relative,
                    "settled": a.settled,
                    "z": a.z,
                    "host": a.attributes.get("host"),
                    "sparse": a.sparse,
                },
            )
        )
    return signals


def _round(v: float) -> float | None:
    return round(v, 6) if math.isfinite(v) else None
