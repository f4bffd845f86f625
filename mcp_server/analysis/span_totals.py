"""Span totals per group over a whole window: the shared input of latency, health and skew."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Protocol

from mcp_server.backends.base import SpanStatsQuery, TelemetryBackend
from mcp_server.telemetry import TimeWindow


def minutes(window: TimeWindow) -> float:
    return max(window.duration.total_seconds() / 60.0, 1e-6)


@dataclass
class GroupTotals:
    count: int = 0
    errors: int = 0
    duration: float = 0.0
    self_time: float = 0.0
    self_median: float | None = None  # median self time (count-weighted over the buckets summed)
    self_sigma: float | None = None  # its robust spread (1.4826 MAD)
    with_outcome: int | None = 0  # spans that say how their request ended; None: the backend cannot tell

    def add_median(self, count: int, median: float | None, mad: float | None) -> None:
        """Fold one bucket's median and MAD in, weighted by its span count (the buckets of one
        window are few and alike, so a weighted mean of medians is a fair median)."""
        if median is None or count <= 0:
            return
        before = self.count - count  # ``count`` is already included in ``self.count``
        weight = count / max(self.count, 1)
        self.self_median = (
            median
            if self.self_median is None or before <= 0
            else (self.self_median * (1 - weight) + median * weight)
        )
        sigma = (mad or 0.0) * 1.4826
        self.self_sigma = (
            sigma
            if self.self_sigma is None or before <= 0
            else (self.self_sigma * (1 - weight) + sigma * weight)
        )


# the investigation's note when no span of the incident says how its request ended
OUTCOMES_UNRECORDED_NOTE = (
    "no span says how its request ended (no status code, HTTP or gRPC status): failed requests are "
    "invisible in the traces, so no trace finding rules failures out"
)


class _Counted(Protocol):
    @property
    def count(self) -> int: ...
    @property
    def with_outcome(self) -> int | None: ...


def outcomes_unrecorded(counted: Iterable[_Counted]) -> bool:
    """Spans were counted (span buckets or group totals), but none says how its request ended (no
    status code, no HTTP or gRPC status, no failure flag): their zero failures are unknown, not
    zero. A backend that cannot tell (``with_outcome`` None) counts as one that records them."""
    rows = list(counted)
    return sum(r.count for r in rows) > 0 and all(r.with_outcome == 0 for r in rows)


def group_totals(
    backend: TelemetryBackend, window: TimeWindow, group_by: list, service: str | None = None
) -> dict[tuple, GroupTotals]:
    """Span totals per group over a whole window (one or two wide buckets, summed)."""
    width = int(window.duration.total_seconds()) + 1
    rows = backend.span_stats(
        SpanStatsQuery(window=window, bucket_seconds=width, group_by=group_by, service=service)
    )
    out: dict[tuple, GroupTotals] = defaultdict(GroupTotals)
    for r in rows:
        key = tuple(r.group.get(g) for g in group_by)
        t = out[key]
        t.count += r.count
        t.errors += r.errors
        t.duration += r.duration_ms_sum
        t.self_time += r.self_ms_sum
        t.with_outcome = (
            None if t.with_outcome is None or r.with_outcome is None else t.with_outcome + r.with_outcome
        )
        t.add_median(r.count, r.self_p50_ms, r.self_mad_ms)
    return out
