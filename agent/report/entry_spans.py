"""The spans that stand for the requests a service served: its server spans, or, where spans carry
no kind at all (some exporters and converted datasets leave it unset), the roots of its traces.

Without this, a report on kindless traces said no request to the front door was counted, though
thousands had been traced."""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

from mcp_server.backends.base import SpanBucket, SpanGroup, SpanStatsQuery, TelemetryBackend
from mcp_server.span_conventions import SpanKind
from mcp_server.telemetry import TimeWindow


class EntryStats(NamedTuple):
    buckets: list[SpanBucket]
    source: str  # "server spans" or "root spans", as the report names what it counted
    query: str  # the call that read them, for the evidence


def entry_span_stats(
    backend: TelemetryBackend,
    service: str | None,
    window: TimeWindow,
    bucket: int,
    group_by: Sequence[SpanGroup] = ("service",),
) -> EntryStats:
    """``service``'s served requests per bucket: server spans, else its kindless root spans."""
    groups = list(group_by)
    server = SpanStatsQuery(
        window=window, bucket_seconds=bucket, service=service, kinds=[SpanKind.SERVER], group_by=groups
    )
    stats = backend.span_stats(server)
    if stats:
        return EntryStats(stats, "server spans", _call(service, "kinds=[SERVER]", bucket))
    roots = server.model_copy(update={"kinds": [SpanKind.UNSPECIFIED], "roots_only": True})
    kindless = backend.span_stats(roots)
    if kindless:
        return EntryStats(
            kindless, "root spans", _call(service, "kinds=[UNSPECIFIED], roots_only=True", bucket)
        )
    return EntryStats([], "server spans", _call(service, "kinds=[SERVER]", bucket))


def _call(service: str | None, filters: str, bucket: int) -> str:
    return f"span_stats(service={service!r}, {filters}, bucket_seconds={bucket})"
