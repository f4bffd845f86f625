"""Metric changes when the series are too short for a significance test of their own.

CloudWatch-style five-minute metrics over a short window give two or three points per series:
no baseline spread to measure a change against. The series' peers are the baseline instead:
every series of the same metric name (other hosts, other services) moved by some ratio between
the points before the onset and those after; one that moved far more than its peers did
changed. Such evidence is thin, and says so: it only ranks services when nothing better exists.

Counters (errors, throttled requests) count whole events, and a handful of them is noise
however far its ratio moved: a counter's move must also be a surprise for a Poisson count.
That test needs no peers, so a counter with too few of them is judged by it alone.

Client-side metrics that name the peer they measure are a call graph: calls to one service
whose errors or latency moved far more than other calls' are a degraded edge into it.
"""

from __future__ import annotations

import math
import re
import statistics
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from mcp_server.analysis.buckets import before_onset
from mcp_server.analysis.classify import FAILURES
from mcp_server.analysis.levels import level_change
from mcp_server.analysis.models import Evidence, EvidenceKind
from mcp_server.analysis.signals import Scope, Signal, SignalKind
from mcp_server.analysis.stats import rate_surprise
from mcp_server.backends.base import MetricQuery, TelemetryBackend
from mcp_server.errors import QueryError
from mcp_server.span_conventions import PEER_KEYS, peer_service
from mcp_server.telemetry import MetricKind, MetricSeries, SeriesPoint, TimeWindow
from mcp_server.tool_calls import tool_call

MIN_PEERS = 4  # series of the same name needed to call one of them an outlier
PEER_Z = 3.0  # robust z of a series' log-ratio among its peers'; a counter's Poisson surprise
MIN_MOVE = math.log(1.1)  # and at least a 10% move
ALONE_MOVE = math.log(2.0)  # a counter judged without peers must at least double (or halve)
SPARSE_EDGE_WEIGHT = 0.5  # as a sparse metric's: a move judged against peers is thin evidence


@dataclass(frozen=True)
class _Move:
    series: MetricSeries
    before: float
    after: float
    log_ratio: float
    surprise: float | None  # counters only: how unlikely the move is for a Poisson count


def sparse_changes(
    series_list: list[MetricSeries], onset: datetime, seconds_per_value: float = 60.0
) -> list[tuple[MetricSeries, float, float, float]]:
    """(series, before, after, z) for short series whose move stands out among their peers'.

    ``before`` is the mean of the points before ``onset`` (the first point when none are),
    ``after`` the mean of the points from it on (the last point when none are). A counter's
    values are rates per bucket: times ``seconds_per_value`` they are the events each point
    counted; its ``before`` and ``after`` are rates over the time its points counted."""
    moves: dict[str, list[_Move]] = defaultdict(list)
    for series in series_list:
        points = [p for p in series.points if math.isfinite(p.value)]
        if len(points) < 2:
            continue
        base_points, inc_points = before_onset(points, onset)
        base_points, inc_points = base_points or points[:1], inc_points or points[-1:]
        before, after = [p.value for p in base_points], [p.value for p in inc_points]
        b = statistics.fmean(own_rate(p, seconds_per_value) for p in base_points)
        a = statistics.fmean(own_rate(p, seconds_per_value) for p in inc_points)
        scale = max(abs(b), abs(a))
        # a series that sat still (at zero, say) is a peer that did not move
        move = math.log((abs(a) + 0.01 * scale) / (abs(b) + 0.01 * scale)) if scale > 0 else 0.0
        surprise = None
        if series.kind == MetricKind.SUM:
            events_before, events_after = sum(before) * seconds_per_value, sum(after) * seconds_per_value
            surprise = (
                rate_surprise(events_after, len(after), events_before, len(before))
                if a >= b
                else rate_surprise(events_before, len(before), events_after, len(after))
            )
        moves[series.name].append(_Move(series, b, a, move, surprise))
    out = []
    for rows in moves.values():
        if len(rows) < MIN_PEERS:
            out += [
                (r.series, r.before, r.after, math.copysign(r.surprise, r.log_ratio))
                for r in rows
                if r.surprise is not None and r.surprise >= PEER_Z and abs(r.log_ratio) >= ALONE_MOVE
            ]
            continue
        logs = [r.log_ratio for r in rows]
        center = statistics.median(logs)
        spread = max(statistics.median(abs(m - center) for m in logs) * 1.4826, math.log(1.02))
        for r in rows:
            z = (r.log_ratio - center) / spread
            if (
                abs(z) >= PEER_Z
                and abs(r.log_ratio - center) >= MIN_MOVE
                and (r.surprise is None or r.surprise >= PEER_Z)
            ):
                out.append((r.series, r.before, r.after, z))
    return out


def own_rate(point: SeriesPoint, seconds_per_value: float) -> float:
    """A point's value over the time it counted: a five-minute count read in one-minute buckets is a
    rate over one minute, five times its true rate."""
    if point.counted_seconds is None or point.counted_seconds <= 0:
        return point.value
    return point.value * seconds_per_value / point.counted_seconds


def closed_window(window: TimeWindow) -> TimeWindow:
    """The window with the point stamped at its very end. OTLP stamps a point at the end of the
    interval it sums or samples, so the window's last interval closes exactly at its end, which a
    half-open window leaves out: one point of many at a minute's resolution, but with three
    five-minute points it is the one after the onset."""
    return TimeWindow(start=window.start, end=window.end + timedelta(seconds=1))


LATENCY_UNITS = {"ms", "s", "us", "μs", "ns"}
LATENCY_NAME = re.compile(r"duration|latency", re.IGNORECASE)


def peer_series(backend: TelemetryBackend, window: TimeWindow, bucket_seconds: int) -> list[MetricSeries]:
    """Every metric whose points name the peer they measure, one series per (caller, peer)."""
    out: list[MetricSeries] = []
    seen: set[tuple[str, str]] = set()
    for d in backend.list_metrics():
        key = next((k for k in PEER_KEYS if k in d.attribute_keys), None)
        if key is None or (d.name, key) in seen:
            continue
        seen.add((d.name, key))
        statistic: Literal["rate", "avg"] = "rate" if d.kind == MetricKind.SUM else "avg"
        try:
            found = backend.query_metrics(
                MetricQuery(
                    name=d.name,
                    window=window,
                    statistic=statistic,
                    period_seconds=bucket_seconds,
                    group_by=[key],
                )
            )
        except QueryError:
            continue
        out += [s for s in found if s.attributes.get(key)]
    return out


def degraded_edges(backend: TelemetryBackend, scope: Scope) -> list[Signal]:
    """Calls whose client-side errors or latency, measured per peer, moved far more than other
    calls' did: each charged to the called service (to the caller when the peer is a dependency
    no service stands for), as a degraded edge of a call graph the metrics reveal. Only short
    series: with longer ones the traces and each series' own test say more."""
    window = closed_window(scope.window)
    try:
        series = peer_series(backend, window, scope.bucket_seconds)
    except QueryError:
        return []
    short = [s for s in series if len(before_onset(s.points, scope.onset)[0]) < 3]
    services = set(scope.services)
    signals = []
    for s, before, after, z in sparse_changes(short, scope.onset, scope.bucket_seconds):
        errors = bool(FAILURES.search(s.name))
        latency = s.unit.strip().lower() in LATENCY_UNITS or bool(LATENCY_NAME.search(s.name))
        if after <= before or not (errors or latency):
            continue
        key, peer = next((k, str(v)) for k, v in s.attributes.items() if k in PEER_KEYS)
        callee = peer_service(peer, services)
        owner = callee if callee and callee != s.service else s.service
        what = "errors" if errors else "latency"
        signals.append(
            Signal(
                service=owner,
                kind=SignalKind.EDGE,
                strength=SPARSE_EDGE_WEIGHT * min(1.0, abs(z) / 10.0),
                onset=scope.onset,
                evidence=Evidence(
                    kind=EvidenceKind.TOPOLOGY,
                    service=owner,
                    description=(
                        f"calls {s.service} → {peer}: {what} rose, {s.name} from "
                        f"{level_change(before, after, s.statistic, s.unit)} "
                        f"as the caller measures it (z {z:+.1f} among other calls: too few points to test "
                        "it on its own)"
                    ),
                    time=scope.onset,
                    value=round(after, 6),
                    baseline=round(before, 6),
                    source_query=tool_call(
                        "query_metrics",
                        window,
                        name=s.name,
                        service=s.service,
                        attributes={key: peer},
                        period_seconds=scope.bucket_seconds,
                    ),
                    attributes={"caller": s.service, "callee": callee or peer, "external": callee is None},
                ),
                hints={
                    "caller": s.service,
                    "callee": callee or peer,
                    "external": callee is None,
                    "errors": errors,
                    "latency": latency and not errors,
                    "new": False,
                    "sparse": True,
                    "metric": s.name,
                },
            )
        )
    return signals
