"""Service health: the error rate and latency of each service's entry spans, before and during."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from mcp_server.analysis.models import Evidence, EvidenceKind
from mcp_server.analysis.signals import Scope, Signal, SignalKind
from mcp_server.analysis.span_totals import GroupTotals
from mcp_server.backends.base import SpanStatsQuery, TelemetryBackend
from mcp_server.telemetry import SpanKind, TimeWindow
from mcp_server.tool_calls import tool_call


@dataclass
class ServiceHealth:
    service: str
    base_error_rate: float
    inc_error_rate: float
    base_latency: float
    inc_latency: float
    base_count: int
    inc_count: int


def service_health(backend: TelemetryBackend, scope: Scope) -> dict[str, ServiceHealth]:
    """Error rate and mean latency of each service's entry (server/consumer) spans, before and during."""
    kinds = [int(SpanKind.SERVER), int(SpanKind.CONSUMER)]
    out: dict[str, ServiceHealth] = {}
    base = _totals_by_service(backend, scope.baseline, kinds)
    inc = _totals_by_service(backend, scope.incident, kinds)
    for service, t in inc.items():
        b = base.get(service, GroupTotals())
        out[service] = ServiceHealth(
            service,
            b.errors / b.count if b.count else 0.0,
            t.errors / t.count if t.count else 0.0,
            b.duration / b.count if b.count else 0.0,
            t.duration / t.count if t.count else 0.0,
            b.count,
            t.count,
        )
    return out


def _totals_by_service(
    backend: TelemetryBackend, window: TimeWindow, kinds: list[int]
) -> dict[str, GroupTotals]:
    width = int(window.duration.total_seconds()) + 1
    rows = backend.span_stats(
        SpanStatsQuery(window=window, bucket_seconds=width, group_by=["service"], kinds=kinds)
    )
    if not rows:  # instrumentation without span kinds
        rows = backend.span_stats(SpanStatsQuery(window=window, bucket_seconds=width, group_by=["service"]))
    out: dict[str, GroupTotals] = defaultdict(GroupTotals)
    for r in rows:
        t = out[str(r.group.get("service"))]
        t.count += r.count
        t.errors += r.errors
        t.duration += r.duration_ms_sum
        t.self_time += r.self_ms_sum
    return out


def health_signals(health: dict[str, ServiceHealth], scope: Scope) -> list[Signal]:
    signals = []
    for h in health.values():
        if h.inc_count < 5:
            continue
        err_delta = h.inc_error_rate - h.base_error_rate
        if err_delta >= 0.01 and h.inc_error_rate >= 2 * h.base_error_rate:
            signals.append(
                Signal(
                    service=h.service,
                    kind=SignalKind.ERROR_RATE,
                    strength=min(1.0, err_delta / 0.2),
                    onset=scope.onset,
                    evidence=Evidence(
                        kind=EvidenceKind.ERROR_RATE,
                        service=h.service,
                        description=(
                            f"{h.service} error rate {h.inc_error_rate:.1%} vs {h.base_error_rate:.2%} before onset"
                        ),
                        time=scope.onset,
                        value=round(h.inc_error_rate, 4),
                        baseline=round(h.base_error_rate, 4),
                        source_query=tool_call("audit_services", scope.incident),
                    ),
                )
            )
        if (
            h.base_latency > 0
            and h.inc_latency >= 1.3 * h.base_latency
            and h.inc_latency - h.base_latency >= 2.0
        ):
            ratio = h.inc_latency / h.base_latency
            signals.append(
                Signal(
                    service=h.service,
                    kind=SignalKind.LATENCY,
                    strength=min(1.0, (ratio - 1.0) / 2.0),
                    onset=scope.onset,
                    evidence=Evidence(
                        kind=EvidenceKind.LATENCY,
                        service=h.service,
                        description=(
                            f"{h.service} mean latency {h.inc_latency:.1f} ms vs {h.base_latency:.1f} ms before onset"
                        ),
                        time=scope.onset,
                        value=round(h.inc_latency, 3),
                        baseline=round(h.base_latency, 3),
                        source_query=tool_call("audit_services", scope.incident),
                    ),
                    hints={"ratio": ratio},
                )
            )
    return signals
