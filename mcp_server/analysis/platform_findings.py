"""Signals from what the platform itself counted and concluded (on AWS: Application Signals,
CloudWatch Logs anomaly detectors, metric anomaly bands).

Two backend methods feed it, both empty on backends without such a platform:

- ``operation_stats(window)``: requests, faults, errors and latency per operation and per
  dependency, counted from every request. Compared between baseline and incident, a fault rate
  that rose significantly is an ``ERROR_RATE`` signal on the operation's service, or an ``EDGE``
  signal on the caller for a dependency (the ``peer`` hint names it); a mean latency that grew
  by half and 50 ms is a ``LATENCY`` signal.
- ``platform_findings(window)``: the platform's own conclusions, each mapped by its kind to a
  signal whose strength is the platform's severity, discounted (:data:`FINDING_WEIGHT`): they
  corroborate the telemetry-derived signals rather than outrank them.

:func:`gather_platform` returns a :class:`StepResult` named ``platform`` like the other gather
steps; a backend that cannot answer degrades the step with a note.
"""

from __future__ import annotations

import time
from datetime import datetime

from mcp_server.analysis.error_origins import significant_increase
from mcp_server.analysis.models import Evidence, EvidenceKind
from mcp_server.analysis.signals import Scope, Signal, SignalKind, StepResult
from mcp_server.backends.base import OperationStats, PlatformFinding, TelemetryBackend
from mcp_server.errors import QueryError
from mcp_server.tool_calls import tool_call

STEP = "platform"
FINDING_WEIGHT = 0.6
MIN_REQUESTS = 20
LATENCY_RATIO = 1.5
LATENCY_FLOOR_MS = 50.0
_FINDING_KINDS: dict[str, tuple[SignalKind, EvidenceKind]] = {
    "error_rate": (SignalKind.ERROR_RATE, EvidenceKind.ERROR_RATE),
    "latency": (SignalKind.LATENCY, EvidenceKind.LATENCY),
    "metric": (SignalKind.METRIC, EvidenceKind.METRIC_ANOMALY),
    "log": (SignalKind.LOG, EvidenceKind.LOG_PATTERN),
    "dependency": (SignalKind.EDGE, EvidenceKind.TOPOLOGY),
    "slo": (SignalKind.SLO, EvidenceKind.SLO),
    "quota": (SignalKind.METRIC, EvidenceKind.METRIC_ANOMALY),
    "other": (SignalKind.METRIC, EvidenceKind.NOTE),
}
Key = tuple[str, str, str | None, str | None]


def gather_platform(backend: TelemetryBackend, scope: Scope) -> StepResult:
    result = StepResult(step=STEP)
    started = time.perf_counter()
    try:
        baseline = backend.operation_stats(scope.baseline)
        incident = backend.operation_stats(scope.incident)
        result.signals += operation_signals(baseline, incident, scope)
        result.signals += finding_signals(backend.platform_findings(scope.window), scope)
    except QueryError as exc:
        result.notes.append(f"{STEP}: degraded, the backend could not answer ({exc})")
    result.seconds = round(time.perf_counter() - started, 4)
    return result


# ------------------------------------------------------------------------------- operations


def _key(stats: OperationStats) -> Key:
    return (stats.service, stats.operation, stats.dependency, stats.dependency_operation)


def operation_signals(
    baseline: list[OperationStats], incident: list[OperationStats], scope: Scope
) -> list[Signal]:
    before = {_key(s): s for s in baseline}
    signals = []
    for now in incident:
        if now.requests < MIN_REQUESTS:
            continue
        then = before.get(_key(now))
        signal = _fault_signal(now, then, scope) or _latency_signal(now, then, scope)
        if signal is not None:
            signals.append(signal)
    return signals


def _what(stats: OperationStats) -> str:
    if stats.dependency is None:
        return f"operation {stats.operation} of {stats.service}"
    target = stats.dependency + (f" {stats.dependency_operation}" if stats.dependency_operation else "")
    return f"calls from {stats.service} {stats.operation} to {target}"


def _fault_signal(now: OperationStats, then: OperationStats | None, scope: Scope) -> Signal | None:
    rate = now.faults / now.requests
    base_rate = then.faults / then.requests if then is not None and then.requests else 0.0
    expected = base_rate * now.requests
    if not (
        significant_increase(now.faults, expected) and rate >= 2 * base_rate and rate - base_rate >= 0.01
    ):
        return None
    return _signal(
        now,
        scope,
        errors=True,
        strength=min(1.0, (rate - base_rate) / 0.2),
        description=(
            f"{_what(now)}: faults {rate:.1%} of {now.requests:.0f} requests vs {base_rate:.2%} before "
            "onset (Application Signals, every request counted)"
        ),
        values=(round(rate, 4), round(base_rate, 4)),
    )


def _latency_signal(now: OperationStats, then: OperationStats | None, scope: Scope) -> Signal | None:
    if now.latency_ms is None or then is None or not then.latency_ms:
        return None
    ratio = now.latency_ms / then.latency_ms
    if ratio < LATENCY_RATIO or now.latency_ms - then.latency_ms < LATENCY_FLOOR_MS:
        return None
    return _signal(
        now,
        scope,
        errors=False,
        strength=min(1.0, (ratio - 1.0) / 3.0),
        description=(
            f"{_what(now)}: mean latency {now.latency_ms:.1f} ms vs {then.latency_ms:.1f} ms before onset "
            "(Application Signals)"
        ),
        values=(round(now.latency_ms, 3), round(then.latency_ms, 3)),
    )


def _signal(
    stats: OperationStats,
    scope: Scope,
    *,
    errors: bool,
    strength: float,
    description: str,
    values: tuple[float, float],
) -> Signal:
    """A fault (``errors``) or latency signal: an EDGE on the caller for a dependency."""
    dependency = stats.dependency is not None
    own = (
        (SignalKind.ERROR_RATE, EvidenceKind.ERROR_RATE)
        if errors
        else (SignalKind.LATENCY, EvidenceKind.LATENCY)
    )
    kind, evidence_kind = (SignalKind.EDGE, EvidenceKind.TOPOLOGY) if dependency else own
    return Signal(
        service=stats.service,
        kind=kind,
        strength=round(strength, 4),
        onset=scope.onset,
        evidence=Evidence(
            kind=evidence_kind,
            service=stats.service,
            description=description,
            time=scope.onset,
            value=values[0],
            baseline=values[1],
            source_query=tool_call("audit_services", scope.incident),
            attributes=_attributes(stats),
        ),
        hints=_hints(stats, errors=errors),
    )


def _attributes(stats: OperationStats) -> dict[str, str | float]:
    found: dict[str, str | float] = {"operation": stats.operation, "requests": stats.requests}
    if stats.dependency is not None:
        found["dependency"] = stats.dependency
    return found


def _hints(stats: OperationStats, *, errors: bool) -> dict[str, object]:
    hints: dict[str, object] = {"operation": stats.operation, "errors": errors, "latency": not errors}
    if stats.dependency is not None:
        hints.update(peer=stats.dependency, caller=stats.service, callee=stats.dependency, external=True)
    return hints


# --------------------------------------------------------------------------------- findings


def finding_signals(findings: list[PlatformFinding], scope: Scope) -> list[Signal]:
    """The platform's conclusions about the incident: those not over before the onset."""
    earliest = scope.baseline.start
    signals = []
    for finding in findings:
        if finding.last_seen is not None and finding.last_seen < scope.onset:
            continue  # over before the incident began
        signal_kind, evidence_kind = _FINDING_KINDS[finding.kind]
        onset: datetime | None = (
            finding.first_seen if finding.first_seen and finding.first_seen >= earliest else None
        )
        signals.append(
            Signal(
                service=finding.service,
                kind=signal_kind,
                strength=round(finding.severity * FINDING_WEIGHT, 4),
                onset=onset or scope.onset,
                evidence=Evidence(
                    kind=evidence_kind,
                    service=finding.service,
                    description=f"{finding.source}: {finding.description}",
                    time=finding.first_seen,
                    value=finding.value,
                    baseline=finding.baseline,
                    source_query=tool_call("audit_services", scope.window),
                    attributes={"source": finding.source, **finding.attributes},
                ),
                hints=_finding_hints(finding),
            )
        )
    return signals


def _finding_hints(finding: PlatformFinding) -> dict[str, object]:
    hints: dict[str, object] = {
        "platform": finding.source,
        "operation": finding.operation,
        "text": finding.description,
    }
    if finding.kind == "dependency" and finding.component:
        hints["peer"] = finding.component
    if finding.kind == "metric" and finding.component:
        hints["metric"] = finding.component
        hints["direction"] = 1 if finding.attributes.get("direction") == "above" else -1
    return hints
