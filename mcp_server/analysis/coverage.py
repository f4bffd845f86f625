"""How much of a window a signal actually covers.

Real collectors keep traces and logs for part of the time only (a minute before a fault, two
after), while metrics cover everything. A rate is events per *observed* minute: dividing
baseline errors by the nominal baseline window when spans cover a tenth of it makes chronic
errors look like a tenfold surge.
"""

from __future__ import annotations

from typing import Literal

from mcp_server.analysis.onset import fine_bucket_seconds
from mcp_server.backends.base import SpanStatsQuery, TelemetryBackend
from mcp_server.errors import QueryError
from mcp_server.telemetry import TimeWindow

Signal = Literal["spans", "logs"]


def observed_minutes(backend: TelemetryBackend, window: TimeWindow, signal: Signal) -> float:
    """Minutes of ``window`` between the first and the last bucket holding any span (or log
    record): the exposure a count in that window should be divided by. Collectors keep a
    contiguous stretch, so quiet buckets inside it (sparse traffic) count as observed."""
    width = fine_bucket_seconds(window)
    try:
        if signal == "spans":
            rows = backend.span_stats(SpanStatsQuery(window=window, bucket_seconds=width, group_by=[]))
            buckets = [r.bucket_start for r in rows if r.count > 0]
        else:
            buckets = [c.bucket_start for c in backend.log_counts(window, width) if c.count > 0]
    except QueryError:
        return max(window.duration.total_seconds() / 60.0, 1e-6)
    if not buckets:
        return max(window.duration.total_seconds() / 60.0, 1e-6)
    lo = max(min(buckets).timestamp(), window.start.timestamp())
    hi = min(max(buckets).timestamp() + width, window.end.timestamp())
    return max(hi - lo, width / 10) / 60.0
