"""Metric changes when the series are too short for a significance test of their own.

CloudWatch-style five-minute metrics over a short window give two or three points per series:
no baseline spread to measure a change against. The series' peers are the baseline instead:
every series of the same metric name (other hosts, other services) moved by some ratio between
the points before the onset and those after; one that moved far more than its peers did
changed. Such evidence is thin, and says so: it only ranks services when nothing better exists.
"""

from __future__ import annotations

import math
import statistics
from collections import defaultdict
from datetime import datetime

from mcp_server.analysis.buckets import before_onset
from mcp_server.telemetry import MetricSeries

MIN_PEERS = 4  # series of the same name needed to call one of them an outlier
PEER_Z = 3.0  # robust z of a series' log-ratio among its peers'
MIN_MOVE = math.log(1.1)  # and at least a 10% move


def sparse_changes(
    series_list: list[MetricSeries], onset: datetime
) -> list[tuple[MetricSeries, float, float, float]]:
    """(series, before, after, peer z) for short series whose move stands out among their peers'.

    ``before`` is the mean of the points before ``onset`` (the first point when none are),
    ``after`` the mean of the points from it on (the last point when none are)."""
    moves: dict[str, list[tuple[MetricSeries, float, float, float]]] = defaultdict(list)
    for series in series_list:
        values = [p.value for p in series.points if math.isfinite(p.value)]
        if len(values) < 2:
            continue
        base_points, inc_points = before_onset(series.points, onset)
        before = [p.value for p in base_points if math.isfinite(p.value)] or values[:1]
        after = [p.value for p in inc_points if math.isfinite(p.value)] or values[-1:]
        b, a = statistics.fmean(before), statistics.fmean(after)
        scale = max(abs(b), abs(a))
        # a series that sat still (at zero, say) is a peer that did not move
        move = math.log((abs(a) + 0.01 * scale) / (abs(b) + 0.01 * scale)) if scale > 0 else 0.0
        moves[series.name].append((series, b, a, move))
    out = []
    for rows in moves.values():
        if len(rows) < MIN_PEERS:
            continue
        logs = [m for _, _, _, m in rows]
        center = statistics.median(logs)
        spread = max(statistics.median(abs(m - center) for m in logs) * 1.4826, math.log(1.02))
        for series, b, a, m in rows:
            z = (m - center) / spread
            if abs(z) >= PEER_Z and abs(m - center) >= MIN_MOVE:
                out.append((series, b, a, z))
    return out
