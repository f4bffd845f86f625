"""CloudWatch Transaction Search: span statistics over every span in ``aws/spans``.

With Transaction Search on (X-Ray's trace segment destination is ``CloudWatchLogs``), every span
lands in the ``aws/spans`` log group as OpenTelemetry JSON, while X-Ray indexes only a share of
traces as summaries. Counts, errors, durations and percentiles per bucket and group are then
Logs Insights aggregates over all spans instead of estimates from a sample of traces.

Fields read (the OTLP span as Transaction Search stores it): ``durationNano``, ``status.code``
(``ERROR``), ``kind`` (``SERVER``, ``CLIENT``...), ``name`` (the operation),
``attributes.aws.local.service`` or else ``resource.attributes.service.name`` (the service),
the host and availability zone from the resource attributes, as the local store reads them.
``count_distinct(traceId)`` counts the requests behind the spans, the unit a count test needs
(Logs Insights may approximate it at high cardinality; per bucket and service it stays small).
Self time needs the span tree, so ``self_ms_sum`` scales the sampled traces' self/total ratio
of the same group onto the exact total.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from mcp_server.backends.aws.calls import ApiCaller
from mcp_server.backends.aws.insights import InsightsRunner, regex_literal, row_number, row_time, text_regex
from mcp_server.backends.base import SpanBucket, SpanStatsQuery
from mcp_server.telemetry import SpanKind, TimeWindow, to_nanos

SERVICE = "coalesce(`attributes.aws.local.service`, `resource.attributes.service.name`)"
HOST = (
    "coalesce(`resource.attributes.host.name`, `resource.attributes.k8s.pod.name`, "
    "`resource.attributes.host.id`, `resource.attributes.service.instance.id`)"
)
ZONE = "coalesce(`resource.attributes.cloud.availability_zone`, `resource.attributes.cloud.zone`)"
FIELDS = {"service": "svc", "operation": "name", "host": "host", "availability_zone": "az"}
SUPPORTED_GROUPS = frozenset(FIELDS)
MAX_ROWS = 10_000


class TransactionSearch:
    def __init__(self, xray: Any, runner: InsightsRunner, calls: ApiCaller) -> None:
        self._xray = xray
        self._runner = runner
        self._calls = calls
        self._enabled: bool | None = None

    def enabled(self) -> bool:
        """Whether spans go to CloudWatch Logs (asked once per backend; off when switched off)."""
        if not self._calls.config.transaction_search:
            return False
        if self._enabled is None:
            answer = self._calls.call(
                "xray:GetTraceSegmentDestination", self._xray.get_trace_segment_destination
            )
            self._enabled = answer.get("Destination") == "CloudWatchLogs" and answer.get("Status") == "ACTIVE"
            if not self._enabled:
                self._calls.notes.add(
                    "traces",
                    f"Transaction Search is off (X-Ray segment destination {answer.get('Destination')}, "
                    f"{answer.get('Status')}): span statistics are estimated from sampled X-Ray traces",
                )
        return self._enabled

    def span_stats(
        self, query: SpanStatsQuery, self_ratio: Callable[[tuple[str | None, ...]], float]
    ) -> list[SpanBucket]:
        """Buckets like the local store's; ``self_ratio(group)`` is the sampled self/total time."""
        width = query.bucket_seconds
        keys = [FIELDS[g] for g in query.group_by]
        by = ", ".join([f"bin({width}s)", *keys])
        head = (
            f"fields @timestamp, {SERVICE} as svc, {HOST} as host, {ZONE} as az, name, durationNano,"
            " status.code, kind, traceId"
        )
        filters = _filters(query)
        traces, failed_traces = (
            (", count_distinct(traceId) as t", ", count_distinct(traceId) as et")
            if query.count_traces
            else ("", "")
        )
        totals = self._run(
            f"{head}{filters} | stats count(*) as n, sum(durationNano) as d, pct(durationNano, 50) as p50,"
            f" pct(durationNano, 95) as p95, pct(durationNano, 99) as p99{traces}"
            f" by {by} | limit {MAX_ROWS}",
            query.window,
        )
        errors = self._run(
            f'{head}{filters} | filter status.code = "ERROR" | stats count(*) as e{failed_traces}'
            f" by {by} | limit {MAX_ROWS}",
            query.window,
        )
        bin_field = f"bin({width}s)"
        failed = {
            (to_nanos(row_time(row, bin_field)), *(row.get(k) or None for k in keys)): (
                int(row_number(row, "e")),
                int(row_number(row, "et")) if query.count_traces else 0,
            )
            for row in errors
        }
        buckets = []
        for row in totals:
            start = row_time(row, bin_field)
            group = tuple(row.get(k) or None for k in keys)
            duration_ms = row_number(row, "d") / 1e6
            error_spans, error_traces = failed.get((to_nanos(start), *group), (0, 0))
            buckets.append(
                SpanBucket(
                    bucket_start=start,
                    group=dict(zip(query.group_by, group, strict=True)),
                    count=int(row_number(row, "n")),
                    errors=error_spans,
                    duration_ms_sum=duration_ms,
                    self_ms_sum=duration_ms * self_ratio(group),
                    p50_ms=_ms(row.get("p50")),
                    p95_ms=_ms(row.get("p95")),
                    p99_ms=_ms(row.get("p99")),
                    traces=int(row_number(row, "t")) if query.count_traces else None,
                    error_traces=error_traces if query.count_traces else None,
                )
            )
        return sorted(buckets, key=lambda b: (b.bucket_start, tuple(str(v or "") for v in b.group.values())))

    def count(self, window: TimeWindow, service: str | None) -> int:
        service_filter = (
            f" | filter svc like {regex_literal('^' + text_regex(service) + '$')}" if service else ""
        )
        rows = self._run(f"fields @timestamp, {SERVICE} as svc{service_filter} | stats count(*) as n", window)
        return sum(int(row_number(row, "n")) for row in rows)

    def _run(self, query: str, window: TimeWindow) -> list[dict[str, str]]:
        rows = self._runner.run(query, [self._calls.config.spans_log_group], window, MAX_ROWS)
        if len(rows) >= MAX_ROWS:
            self._calls.notes.add(
                "traces", f"a span statistics query over aws/spans hit its {MAX_ROWS}-row limit"
            )
        return rows


def _filters(query: SpanStatsQuery) -> str:
    parts = []
    if query.service is not None:
        parts.append(f"filter svc like {regex_literal('^' + text_regex(query.service) + '$')}")
    if query.kinds is not None:
        names = ", ".join(
            f'"{prefix}{SpanKind(int(k)).name}"' for k in query.kinds for prefix in ("", "SPAN_KIND_")
        )
        parts.append(f"filter kind in [{names}]")
    return "".join(f" | {p}" for p in parts)


def _ms(value: str | None) -> float | None:
    if value in (None, ""):
        return None
    return float(value) / 1e6
