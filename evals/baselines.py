"""The two simple baselines an eval run compares Sleuth with, side by side on the same data.

- ``most_errors`` (baseline a): the service with the most error spans and ERROR logs wins.
- ``metric_change`` (baseline b): the service whose metric moved most wins. The score is BARO's
  (Pham et al., FSE 2024): a robust z-score (median and interquartile range of the normal period)
  and its largest absolute value in the incident period. ``rcaeval``, which ships BARO, is not a
  dependency: its install pins torch, numpy<2, dvc and celery (see docs/evals.md).

The engine alone (c) and the full investigation (d) are in :mod:`evals.agent_adapter`; the
registry of all four is :mod:`evals.methods`.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import timedelta
from typing import Literal

import numpy as np

from evals.outcome import Outcome
from mcp_server.analysis.models import Evidence, EvidenceKind, Hypothesis
from mcp_server.backends.base import MetricQuery, SpanStatsQuery, TelemetryBackend
from mcp_server.scenario import ScenarioSpec
from mcp_server.taxonomy import FaultType
from mcp_server.telemetry import MetricKind, Severity


def _ranked(method: str, scores: dict[str, float], describe: dict[str, str], source: str) -> Outcome:
    ordered = sorted(scores.items(), key=lambda item: (-item[1], item[0]))
    top = ordered[0][1] if ordered else 1.0
    hypotheses = []
    for position, (service, score) in enumerate(ordered, start=1):
        evidence = Evidence(
            id=f"ev-{position}",
            kind=EvidenceKind.NOTE,
            service=service,
            description=describe.get(service, ""),
            value=score,
            source_query=source,
        )
        hypotheses.append(
            Hypothesis(
                rank=position,
                service=service,
                fault_type=FaultType.UNKNOWN,
                confidence=min(1.0, max(0.0, score / top)) if top > 0 else 0.0,
                summary=f"{method}: {describe.get(service, service)}",
                evidence=[evidence],
                scores={method: score},
            )
        )
    return Outcome(hypotheses=hypotheses, reasoner=method)


@dataclass(frozen=True)
class MostErrors:
    """Baseline (a): rank services by error spans plus ERROR and FATAL log records in the window."""

    name: str = "most_errors"

    def run(self, backend: TelemetryBackend, spec: ScenarioSpec) -> Outcome:
        window = spec.window
        spans: dict[str, int] = defaultdict(int)
        for bucket in backend.span_stats(
            SpanStatsQuery(window=window, bucket_seconds=int(window.duration.total_seconds()) + 1)
        ):
            service = bucket.group.get("service")
            if service:
                spans[service] += bucket.errors
        logs: dict[str, int] = defaultdict(int)
        bucket_seconds = int(window.duration.total_seconds()) + 1
        for log_bucket in backend.log_counts(window, bucket_seconds=bucket_seconds):
            if log_bucket.severity in (Severity.ERROR, Severity.FATAL):
                logs[log_bucket.service] += log_bucket.count
        scores = {
            service: float(spans.get(service, 0) + logs.get(service, 0))
            for service in set(spans) | set(logs)
            if spans.get(service, 0) + logs.get(service, 0) > 0
        }
        describe = {
            service: f"{spans.get(service, 0)} error spans and {logs.get(service, 0)} error logs"
            for service in scores
        }
        return _ranked(self.name, scores, describe, "span_stats + log_counts")


def robust_change_score(normal: np.ndarray, incident: np.ndarray) -> float:
    """BARO's score: the largest |x - median| / IQR of the incident points, against the normal period.

    A flat normal period has no spread; the scale then falls back to 5% of its level (or 1 at
    zero) so a counter that leaves zero still scores, as scikit-learn's RobustScaler does.
    """
    if len(normal) == 0 or len(incident) == 0:
        return 0.0
    median = float(np.median(normal))
    q75, q25 = np.percentile(normal, [75, 25])
    scale = float(q75 - q25)
    if scale <= 0:
        scale = abs(median) * 0.05 if median != 0 else 1.0
    return float(np.max(np.abs(incident - median)) / scale)


@dataclass(frozen=True)
class LargestMetricChange:
    """Baseline (b): rank services by their most changed metric (BARO scoring, see module doc).

    The normal period is the first third of the window: like a person with a dashboard, the
    baseline is not told when the incident began.
    """

    name: str = "metric_change"
    period_seconds: int = 60

    def run(self, backend: TelemetryBackend, spec: ScenarioSpec) -> Outcome:
        window = spec.window
        split = window.start + timedelta(seconds=window.duration.total_seconds() / 3)
        best: dict[str, float] = {}
        best_metric: dict[str, str] = {}
        kinds: dict[str, MetricKind] = {}
        for descriptor in backend.list_metrics():
            kinds.setdefault(descriptor.name, descriptor.kind)
        for name, kind in sorted(kinds.items()):
            # One query per metric name: the backend returns one series per service.
            statistic: Literal["rate", "avg"] = "rate" if kind == MetricKind.SUM else "avg"
            query = MetricQuery(
                name=name, window=window, statistic=statistic, period_seconds=self.period_seconds
            )
            for series in backend.query_metrics(query):
                normal = np.array([p.value for p in series.points if p.time < split], dtype=float)
                incident = np.array([p.value for p in series.points if p.time >= split], dtype=float)
                if len(normal) < 3:
                    continue
                score = robust_change_score(normal, incident)
                if np.isfinite(score) and score > best.get(series.service, 0.0):
                    best[series.service] = score
                    best_metric[series.service] = series.name
        describe = {
            service: f"{best_metric[service]} moved {best[service]:.1f} robust deviations" for service in best
        }
        return _ranked(self.name, best, describe, "list_metrics + query_metrics")
