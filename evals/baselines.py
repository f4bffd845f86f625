"""The methods an eval run compares, side by side on the same data.

A method receives the imported telemetry and the scenario's public description (window and
trigger, never the ground truth) and returns an :class:`InvestigationResult`. Methods are small
picklable objects so the harness can run them in worker processes.

- ``most_errors`` (baseline a): the service with the most error spans and ERROR logs wins.
- ``metric_change`` (baseline b): the service whose metric moved most wins. The score is BARO's
  (Pham et al., FSE 2024): a robust z-score (median and interquartile range of the normal period)
  and its largest absolute value in the incident period. ``rcaeval``, which ships BARO, is not a
  dependency: its install pins torch, numpy<2, dvc and celery (see docs/evals.md).
- ``engine`` (c): the analysis engine alone, without the knowledge base.
- ``sleuth`` (d): the full investigation (agent graph, knowledge, reasoner).
"""

from __future__ import annotations

import importlib.util
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, Literal, Protocol

import numpy as np

from evals.recording import RecordingConfig
from mcp_server.analysis.models import Evidence, EvidenceKind, Hypothesis, InvestigationResult
from mcp_server.backends.base import MetricQuery, SpanStatsQuery, TelemetryBackend
from mcp_server.errors import SleuthError
from mcp_server.scenario import ScenarioSpec
from mcp_server.taxonomy import FaultType
from mcp_server.telemetry import MetricKind, Severity, TimeWindow


class MethodUnavailableError(SleuthError):
    """A method whose code has not been installed or built (e.g. the agent on an old checkout)."""


@dataclass
class Outcome:
    """What a method produced: the investigation, and the report's scoring inputs when it drafted one."""

    result: InvestigationResult
    five_whys_nodes: list[str] | None = None
    report_completeness: float | None = None
    notes: list[str] = field(default_factory=list)  # e.g. the report could not be drafted


class Method(Protocol):
    @property
    def name(self) -> str: ...

    def run(self, backend: TelemetryBackend, spec: ScenarioSpec) -> Outcome: ...


def _window_dict(window: TimeWindow) -> dict[str, Any]:
    return {"start": window.start, "end": window.end}


def _ranked_result(
    spec: ScenarioSpec, method: str, scores: dict[str, float], describe: dict[str, str], source: str
) -> InvestigationResult:
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
    return InvestigationResult(
        scenario=spec.name,
        question=spec.trigger.text,
        window=_window_dict(spec.window),
        hypotheses=hypotheses,
        evidence=[item for hypothesis in hypotheses for item in hypothesis.evidence],
        reasoner=method,
    )


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
        result = _ranked_result(spec, self.name, scores, describe, "span_stats + log_counts")
        return Outcome(result)


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
        result = _ranked_result(spec, self.name, best, describe, "list_metrics + query_metrics")
        return Outcome(result)


def _require(module: str, what: str) -> None:
    if importlib.util.find_spec(module) is None:
        raise MethodUnavailableError(f"{what} is not available in this checkout ({module} is missing)")


@dataclass(frozen=True)
class EngineOnly:
    """Method (c): the analysis engine, offline, without the knowledge base."""

    name: str = "engine"

    def run(self, backend: TelemetryBackend, spec: ScenarioSpec) -> Outcome:
        _require("mcp_server.analysis.engine", "the analysis engine")
        from mcp_server.analysis.engine import investigate

        return Outcome(investigate(backend, spec))


@dataclass(frozen=True)
class FullInvestigation:
    """Method (d): the whole investigation (agent graph with knowledge, mitigation and report)."""

    name: str = "sleuth"
    reasoner: str = "offline"
    recording: RecordingConfig = field(default_factory=RecordingConfig)

    def run(self, backend: TelemetryBackend, spec: ScenarioSpec) -> Outcome:
        _require("agent.run", "the agent")
        from evals.agent_adapter import run_full_investigation

        return run_full_investigation(backend, spec, reasoner=self.reasoner, recording=self.recording)

    def prepare(self) -> None:
        """Open the knowledge base once in the parent, so worker processes only read it."""
        from evals.agent_adapter import prepare_knowledge

        prepare_knowledge()


BASELINE_NAMES = ("most_errors", "metric_change", "engine")
ALL_METHOD_NAMES = (*BASELINE_NAMES, "sleuth")


def build_methods(
    names: list[str] | tuple[str, ...], reasoner: str = "offline", recording: RecordingConfig | None = None
) -> list[Method]:
    methods: list[Method] = []
    for name in names:
        if name == "most_errors":
            methods.append(MostErrors())
        elif name == "metric_change":
            methods.append(LargestMetricChange())
        elif name == "engine":
            methods.append(EngineOnly())
        elif name == "sleuth":
            methods.append(FullInvestigation(reasoner=reasoner, recording=recording or RecordingConfig()))
        else:
            raise SleuthError(f"unknown eval method {name!r}; choose from {', '.join(ALL_METHOD_NAMES)}")
    return methods


def available(method: Method) -> bool:
    """Whether a method's code exists here (the harness skips, and says so, when it does not)."""
    needs = {"engine": "mcp_server.analysis.engine", "sleuth": "agent.run"}.get(method.name)
    return needs is None or importlib.util.find_spec(needs) is not None
