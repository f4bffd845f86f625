"""Counter points put back on the interval they counted.

OTLP stamps a delta point (and a cumulative increase) at the end of the interval it counts, and the
store buckets it at that stamp. Read per minute, a five-minute point is one minute holding five
minutes' count, and a rate over that minute is five times too high. Spreading each point's count
evenly over the buckets of its interval gives per-bucket counts and rates that are true on average
and says no more than the source knows.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from itertools import pairwise

from mcp_server.telemetry import TimeWindow


def counted_period(
    stamps: list[datetime], bucket: int, counted: dict[datetime, float] | None = None
) -> float:
    """Seconds one point counts: what the source says its points counted (the shortest), else the
    smallest gap between its series' stamps; a bucket at least."""
    said = [s for s in (counted or {}).values() if s > 0]
    gaps = said or [(b - a).total_seconds() for a, b in pairwise(sorted(stamps))]
    return max([float(bucket), min(gaps, default=float(bucket))])


def spread_counts(
    stamped: dict[datetime, float],
    window: TimeWindow,
    bucket: int,
    *,
    whole: bool = False,
    counted: dict[datetime, float] | None = None,
) -> dict[datetime, float]:
    """Counts stamped at their interval's end, per bucket start of the interval they counted, within
    ``window``. ``counted`` gives, per stamp, the seconds the source says the point counted (a
    counter that reports only minutes with events has gaps between points that it did not count);
    without it every point counted the smallest gap between stamps. With ``whole`` each bucket
    holds a whole count and the interval's total is kept."""
    fallback = counted_period(list(stamped), bucket)
    out: dict[datetime, float] = {}
    for stamp in sorted(stamped):
        said = (counted or {}).get(stamp)
        spacing = bucket * max(1, round(said / bucket)) if said else fallback
        start = stamp - timedelta(seconds=spacing)
        starts = [
            t
            for i in range(round(spacing / bucket))
            if window.start <= (t := start + timedelta(seconds=i * bucket)) < window.end
        ]
        total, k = stamped[stamp], len(starts)
        for i, t in enumerate(starts):
            # cumulative rounding keeps the whole count: 3 over 5 buckets is 1, 0, 1, 0, 1
            share = round(total * (i + 1) / k) - round(total * i / k) if whole else total / k
            out[t] = out.get(t, 0.0) + share
    return out
