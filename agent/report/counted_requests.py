"""A service's requests and failures per bucket from its own request counters, for metrics-only data.

Without spans (CloudWatch-like metrics, a store that kept only metrics) the customer-facing SLI can
still be counted: the service's server-side request counters (sums counted in requests, with no
peer attribute, which would make them calls to another service) give the requests, and those whose
name says error give the failures.

OTLP stamps a counted interval at its end, so each point is put back on the interval it counted
(its spacing before its stamp) and its count spread evenly over the buckets of that interval: a
five-minute point read per minute says nothing about which of its minutes failed, and must not
look like one bad minute at the end of its period. The window is read closed at its end, where
its last interval is stamped.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from itertools import pairwise
from typing import NamedTuple

from mcp_server.analysis.sparse_metrics import PEER_KEYS, closed_window
from mcp_server.backends.base import TelemetryBackend
from mcp_server.telemetry import MetricKind, TimeWindow

REQUEST_UNITS = {"{request}", "{requests}", "{call}", "{calls}"}


class RequestSeries(NamedTuple):
    """Requests and failed requests per bucket, the query that read them, and the shortest period
    the source tells apart (a five-minute counter read per minute still only knows five minutes)."""

    times: list[datetime]
    totals: list[int]
    bads: list[int]
    query: str
    resolution_seconds: int


def _spacing(stamps: list[datetime], bucket: int) -> float:
    """The interval one point counts: the smallest gap between its series' stamps (a bucket at least)."""
    gaps = [(b - a).total_seconds() for a, b in pairwise(stamps)]
    return max([float(bucket), min(gaps, default=float(bucket))])


def _spread(stamped: dict[datetime, float], window: TimeWindow, bucket: int) -> dict[datetime, int]:
    """Counts stamped at their interval's end, as whole counts per bucket of the interval they counted."""
    stamps = sorted(stamped)
    spacing = _spacing(stamps, bucket)
    out: dict[datetime, int] = {}
    for stamp in stamps:
        start = stamp - timedelta(seconds=spacing)
        starts = [
            t
            for i in range(round(spacing / bucket))
            if window.start <= (t := start + timedelta(seconds=i * bucket)) < window.end
        ]
        total, k = stamped[stamp], len(starts)
        for i, t in enumerate(starts):  # cumulative rounding keeps the whole count
            out[t] = out.get(t, 0) + round(total * (i + 1) / k) - round(total * i / k)
    return out


def counted_requests(
    backend: TelemetryBackend, service: str, window: TimeWindow, bucket: int
) -> RequestSeries | None:
    """Requests and failures per bucket from ``service``'s request counters; None when it has no
    request counter and error counter, or they counted nothing."""
    counters = [
        d
        for d in backend.list_metrics(service)
        if d.kind == MetricKind.SUM and d.unit in REQUEST_UNITS and not set(d.attribute_keys) & set(PEER_KEYS)
    ]
    errors = {d.name for d in counters if "error" in d.name.lower()}
    requests = {d.name for d in counters} - errors
    if not errors or not requests:
        return None
    totals: dict[datetime, float] = {}
    bads: dict[datetime, float] = {}
    for b in backend.metric_buckets(closed_window(window), bucket, service):
        if b.name in requests or b.name in errors:
            into = bads if b.name in errors else totals
            into[b.bucket_start] = into.get(b.bucket_start, 0.0) + b.value * bucket  # rates back to counts
    if not totals:
        return None
    spread_totals, spread_bads = _spread(totals, window, bucket), _spread(bads, window, bucket)
    times = sorted(spread_totals)
    query = (
        f"metric_buckets(service={service!r}, bucket_seconds={bucket}) of {', '.join(sorted(requests))} "
        f"and {', '.join(sorted(errors))}"
    )
    return RequestSeries(
        times,
        [spread_totals[t] for t in times],
        [min(spread_bads.get(t, 0), spread_totals[t]) for t in times],
        query,
        round(_spacing(sorted(totals), bucket)),
    )
