"""Which metric points are before an incident and which are in it."""

from __future__ import annotations

import itertools
import statistics
from datetime import datetime, timedelta

from mcp_server.telemetry import SeriesPoint


def bucket_width(points: list[SeriesPoint]) -> timedelta:
    """The series' resolution: the median spacing of its points (a minute when unknown)."""
    gaps = [(b.time - a.time).total_seconds() for a, b in itertools.pairwise(points)]
    positive = [g for g in gaps if g > 0]
    return timedelta(seconds=statistics.median(positive) if positive else 60.0)


def before_onset(points: list[SeriesPoint], onset: datetime) -> tuple[list[SeriesPoint], list[SeriesPoint]]:
    """(baseline, incident) points. A point stands for its whole bucket: one whose bucket ends
    after the onset already holds incident data (a minute average with the fault in its last
    twenty seconds), so it belongs to the incident, not to the normal it is compared with."""
    ordered = sorted(points, key=lambda p: p.time)
    width = bucket_width(ordered)
    base = [p for p in ordered if p.time + width <= onset]
    return base, ordered[len(base) :]
