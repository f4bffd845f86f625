"""Log patterns: Drain3 templates per service, new or surging in the incident against the baseline.

Mining stays bounded: the backend first collapses identical bodies (after masking numbers and hex
ids) into counted groups, so Drain3 sees each distinct shape once, weighted by its count, and at
most ``MAX_GROUPS`` shapes per window. Severity is a hint (it weighs a template), not a filter:
plenty of systems log failures at INFO or without a level.
"""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime

from drain3 import TemplateMiner
from drain3.template_miner_config import TemplateMinerConfig

from mcp_server.analysis.coverage import observed_minutes
from mcp_server.analysis.error_origins import significant_increase
from mcp_server.analysis.models import Evidence, EvidenceKind
from mcp_server.analysis.signals import Scope, Signal, SignalKind
from mcp_server.backends.base import LogGroup, LogQuery, TelemetryBackend
from mcp_server.telemetry import Severity, TimeWindow
from mcp_server.tool_calls import tool_call

MAX_GROUPS = 5000
FALLBACK_LINES = 20_000
SAMPLE_ROWS = 20_000  # lines per severity stratum mined per window at most (counts scaled up)
SEVERITY_WEIGHT = {Severity.FATAL: 1.0, Severity.ERROR: 1.0, Severity.WARN: 0.6}
_MASK = re.compile(  # the expression the local backend's ``log_groups`` applies
    r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"
    r"|\b[0-9a-fA-F]{8,}\b|\d+(\.\d+)?"
)


def mask(body: str) -> str:
    """Numbers and hex/uuid ids replaced by ``<*>`` (the same masking the backend applies)."""
    return _MASK.sub("<*>", body)


@dataclass
class Template:
    service: str
    template: str
    severity: Severity
    baseline: int = 0
    incident: int = 0
    first_seen: datetime | None = None
    sample: str = ""
    patterns: set[str] = field(default_factory=set)
    incident_samples: list[tuple[int, str]] = field(default_factory=list)  # (count, line), largest first


def fetch_groups(backend: TelemetryBackend, window: TimeWindow) -> list[LogGroup]:
    """Counted body shapes in a window: the backend's ``log_groups`` when it has one."""
    method = getattr(backend, "log_groups", None)
    if method is not None:
        return list(method(window, limit=MAX_GROUPS, sample_rows=SAMPLE_ROWS))
    # fallback for backends without grouping: a bounded sample, grouped here
    records = backend.query_logs(LogQuery(window=window, limit=FALLBACK_LINES))
    acc: dict[tuple[str, str, str], LogGroup] = {}
    for r in records:
        key = (r.service, r.severity.value, mask(r.body))
        g = acc.get(key)
        if g is None:
            acc[key] = LogGroup(
                service=r.service,
                severity=r.severity,
                pattern=key[2],
                sample=r.body,
                count=1,
                first_seen=r.time,
                last_seen=r.time,
            )
        else:
            acc[key] = g.model_copy(update={"count": g.count + 1, "last_seen": r.time})
    return list(acc.values())


def _miner() -> TemplateMiner:
    config = TemplateMinerConfig()
    config.profiling_enabled = False
    config.drain_sim_th = 0.5
    config.drain_depth = 4
    return TemplateMiner(config=config)


def mine_templates(baseline: list[LogGroup], incident: list[LogGroup]) -> list[Template]:
    """Templates per service with baseline and incident counts (one Drain3 tree per service)."""
    miners: dict[str, TemplateMiner] = {}
    templates: dict[tuple[str, int], Template] = {}
    for side, groups in (("baseline", baseline), ("incident", incident)):
        for g in sorted(groups, key=lambda g: (g.service, -g.count)):
            miner = miners.get(g.service)
            if miner is None:
                miner = miners[g.service] = _miner()
            result = miner.add_log_message(g.pattern)
            key = (g.service, int(result["cluster_id"]))
            t = templates.get(key)
            if t is None:
                t = templates[key] = Template(g.service, g.pattern, g.severity, sample=g.sample)
            if g.severity.rank > t.severity.rank:
                t.severity = g.severity
                t.sample = g.sample
            t.patterns.add(g.pattern)
            if side == "baseline":
                t.baseline += g.count
            else:
                t.incident += g.count
                if len(t.incident_samples) < 3:
                    t.incident_samples.append((g.count, g.sample))
                if t.first_seen is None or g.first_seen < t.first_seen:
                    t.first_seen = g.first_seen
    for (service, cluster_id), t in templates.items():
        if t.incident_samples:  # show what the incident logged, not a baseline line of the same shape
            t.sample = max(t.incident_samples, key=lambda x: x[0])[1]
        for cluster in miners[service].drain.clusters:
            if cluster.cluster_id == cluster_id:
                t.template = cluster.get_template()
                break
    return list(templates.values())


@dataclass
class TemplateChange:
    template: Template
    status: str  # "new" | "surging"
    rate: float
    baseline_rate: float
    strength: float


def changed_templates(
    templates: list[Template], scope: Scope, exposure: tuple[float, float] | None = None
) -> list[TemplateChange]:
    """Templates new or surging in the incident. ``exposure`` is (baseline, incident) minutes the
    logs actually cover (the nominal windows when not given): a collector that kept one minute of
    baseline must not make every chronic error look like a tenfold surge."""
    base_min, inc_min = exposure or (
        max(scope.baseline.duration.total_seconds() / 60.0, 1e-6),
        max(scope.incident.duration.total_seconds() / 60.0, 1e-6),
    )
    out = []
    for t in templates:
        rate, base_rate = t.incident / inc_min, t.baseline / base_min
        expected = base_rate * inc_min
        if not significant_increase(t.incident, expected):
            continue
        if t.baseline == 0:
            status = "new"
        elif rate >= 3.0 * base_rate and rate - base_rate >= 0.5:
            status = "surging"
        else:
            continue
        # a template never seen before says more than a familiar one getting more frequent
        weight = SEVERITY_WEIGHT.get(t.severity, 0.35) * (1.0 if status == "new" else 0.7)
        strength = weight * min(1.0, (rate - base_rate) / 5.0)
        out.append(TemplateChange(t, status, rate, base_rate, strength))
    out.sort(key=lambda c: -c.strength)
    return out


def log_pattern_changes(backend: TelemetryBackend, scope: Scope) -> list[TemplateChange]:
    """New or surging templates; a backend that cannot read the logs raises (QueryError), so
    the caller reports the logs as degraded instead of as quiet."""
    base = fetch_groups(backend, scope.baseline)
    inc = fetch_groups(backend, scope.incident)
    exposure = (
        observed_minutes(backend, scope.baseline, "logs"),
        observed_minutes(backend, scope.incident, "logs"),
    )
    return changed_templates(mine_templates(base, inc), scope, exposure)


def log_signals(changes: list[TemplateChange], scope: Scope, per_service: int = 5) -> list[Signal]:
    kept: dict[str, int] = defaultdict(int)
    signals = []
    for c in changes:
        t = c.template
        if kept[t.service] >= per_service:
            continue
        kept[t.service] += 1
        evidence = Evidence(
            kind=EvidenceKind.LOG_PATTERN,
            service=t.service,
            description=(
                f"{c.status} {t.severity.value} log pattern on {t.service}: {t.template[:200]!r} "
                f"({t.incident} lines, {c.rate:.1f}/min vs {c.baseline_rate:.2f}/min before onset)"
            ),
            time=t.first_seen,
            value=round(c.rate, 3),
            baseline=round(c.baseline_rate, 3),
            source_query=tool_call("log_patterns", scope.window, service=t.service, onset=scope.onset),
            attributes={
                "template": t.template,
                "sample": t.sample[:500],
                "status": c.status,
                "severity": t.severity.value,
                "count": t.incident,
            },
        )
        signals.append(
            Signal(
                service=t.service,
                kind=SignalKind.LOG,
                strength=round(c.strength, 4),
                onset=t.first_seen,
                evidence=evidence,
                hints={
                    "text": " | ".join([t.template, *(line for _, line in t.incident_samples)]),
                    "severity": t.severity.value,
                    "status": c.status,
                },
            )
        )
    return signals
