"""A service's requests and failures per bucket from its own request counters, for metrics-only data.

Without spans (CloudWatch-like metrics, a store that kept only metrics) the customer-facing SLI can
still be counted: the service's server-side request counters (sums counted in requests, with no
peer attribute, which would make them calls to another service) give the requests, and those whose
name says error give the failures.

Each point is put back on the interval it counted (``counter_periods``): a five-minute point read
per minute says nothing about which of its minutes failed, and must not look like one bad minute
at the end of its period. The window is read closed at its end, where its last interval is stamped.
"""

from __future__ import annotations

from datetime import datetime
from typing import NamedTuple

from agent.report.counter_periods import counted_period, spread_counts
from mcp_server.analysis.sparse_metrics import closed_window
from mcp_server.backends.base import TelemetryBackend
from mcp_server.span_conventions import PEER_KEYS
from mcp_server.telemetry import MetricKind, TimeWindow

REQUEST_UNITS = {"{request}", "{requests}", "{call}", "{calls}"}


class RequestSeries(NamedTuple):
    """Requests and failed requests per bucket, the query that read them, the shortest period the
    source tells apart (a five-minute counter read per minute still only knows five minutes), and
    what they were counted from, as the timeline names it."""

    times: list[datetime]
    totals: list[int]
    bads: list[int]
    query: str
    resolution_seconds: int
    source: str
    unrecorded: bool = False  # traced requests whose spans never say how they ended: failures unknown


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
    counted: dict[datetime, float] = {}  # what the points in each bucket counted, as the source says
    for b in backend.metric_buckets(closed_window(window), bucket, service):
        if b.name in requests or b.name in errors:
            into = bads if b.name in errors else totals
            into[b.bucket_start] = into.get(b.bucket_start, 0.0) + b.value * bucket  # rates back to counts
            if b.counted_seconds:
                counted[b.bucket_start] = max(counted.get(b.bucket_start, 0.0), b.counted_seconds)
    if not totals:
        return None
    spread_totals = spread_counts(totals, window, bucket, whole=True, counted=counted)
    spread_bads = spread_counts(bads, window, bucket, whole=True, counted=counted)
    times = sorted(spread_totals)
    query = (
        f"metric_buckets(service={service!r}, bucket_seconds={bucket}) of {', '.join(sorted(requests))} "
        f"and {', '.join(sorted(errors))}"
    )
    return RequestSeries(
        times,
        [round(spread_totals[t]) for t in times],
        [round(min(spread_bads.get(t, 0.0), spread_totals[t])) for t in times],
        query,
        round(counted_period(list(totals), bucket, counted)),
        "request counters",
    )
