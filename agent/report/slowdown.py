"""Requests that did not fail more than before but slowed: the customer impact of a latency incident
where no latency SLO measures it (traces only, a CPU hog whose requests all still succeeded).

The entry service's median latency in short buckets (ten seconds: traces often cover only minutes)
after the onset against before it: a move of at least half the baseline and three of its robust
standard deviations is a slowdown customers felt. The median, not the p99: what most requests felt,
and steady where a few hundred requests a minute make a p99 jump."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import NamedTuple

from agent.report.entry_spans import entry_span_stats
from agent.report.evidence_book import EvidenceBook
from agent.report.model import PLACEHOLDER, Claim
from mcp_server.analysis.models import EvidenceKind
from mcp_server.analysis.stats import shift
from mcp_server.backends.base import TelemetryBackend
from mcp_server.errors import QueryError
from mcp_server.telemetry import TimeWindow

SLOW_BUCKET_SECONDS = 10
SLOW_Z = 3.0
SLOW_RISE = 0.5
MIN_BEFORE, MIN_AFTER = 3, 2


class Slowdown(NamedTuple):
    before_ms: float  # the typical bucket's median latency before the onset
    after_ms: float  # and from the onset on


def slowdown(times: list[datetime], p50_ms: list[float], onset: datetime, bucket: int) -> Slowdown | None:
    """How far the median latency rose from before ``onset`` to after it, when it rose clearly."""
    width = timedelta(seconds=bucket)
    before = [v for t, v in zip(times, p50_ms, strict=True) if t + width <= onset and v > 0]
    after = [v for t, v in zip(times, p50_ms, strict=True) if t >= onset and v > 0]
    if len(before) < MIN_BEFORE or len(after) < MIN_AFTER:
        return None
    moved = shift(before, after)
    if moved.z < SLOW_Z or moved.relative < SLOW_RISE:
        return None
    return Slowdown(moved.baseline, moved.incident)


def slowdown_claims(
    backend: TelemetryBackend,
    book: EvidenceBook,
    entry: str,
    window: TimeWindow,
    onset: datetime | None,
    *,
    ask: bool = True,
) -> tuple[Slowdown | None, list[Claim]]:
    """When ``entry``'s requests slowed from ``onset`` on, by how much, as a claim; ``ask``: the
    claim asks the team what customers saw (nothing else measured their impact)."""
    if onset is None:
        return None, []
    try:
        stats, source, query = entry_span_stats(backend, entry, window, SLOW_BUCKET_SECONDS)
    except QueryError:
        return None, []
    timed = [(b.bucket_start, b.p50_ms) for b in stats if b.p50_ms is not None]
    slowed = slowdown([t for t, _ in timed], [v for _, v in timed], onset, SLOW_BUCKET_SECONDS)
    if slowed is None:
        return None, []
    before, after = slowed
    ev = book.add(
        EvidenceKind.LATENCY,
        f"median latency of {entry}'s requests ({source}, per {SLOW_BUCKET_SECONDS}s bucket) rose from "
        f"{before:.0f} ms before the onset to {after:.0f} ms after it",
        source_query=f"{query} p50 over {window.start.isoformat()}..{window.end.isoformat()}",
        service=entry,
        time=onset,
        value=after,
        baseline=before,
    )
    said = f"Requests to {entry} slowed: their median latency rose from {before:.0f} ms to {after:.0f} ms from the onset on."
    claim = Claim(
        text=f"{said} {PLACEHOLDER}: describe what customers saw or reported." if ask else said,
        evidence=[ev],
        needs_human_input=ask,
    )
    return slowed, [claim]
