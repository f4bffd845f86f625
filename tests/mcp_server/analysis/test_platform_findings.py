"""Signals from a platform's own counts and conclusions (Application Signals, anomaly detectors)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from mcp_server.analysis.platform_findings import (
    FINDING_WEIGHT,
    finding_signals,
    gather_platform,
    operation_signals,
)
from mcp_server.analysis.signals import Scope, SignalKind
from mcp_server.backends.base import OperationStats, PlatformFinding
from mcp_server.errors import QueryError
from mcp_server.telemetry import TimeWindow

START = datetime(2026, 3, 10, 10, 0, tzinfo=UTC)
ONSET = START + timedelta(minutes=30)
END = START + timedelta(hours=1)
SCOPE = Scope(
    window=TimeWindow(start=START, end=END),
    onset=ONSET,
    onset_source="detected",
    baseline=TimeWindow(start=START, end=ONSET),
    incident=TimeWindow(start=ONSET, end=END),
    bucket_seconds=60,
)


def stats(
    faults: float, requests: float = 1000, latency: float = 40.0, dependency: str | None = None
) -> OperationStats:
    return OperationStats(
        service="orders",
        operation="POST /orders",
        dependency=dependency,
        requests=requests,
        faults=faults,
        errors=0,
        latency_ms=latency,
    )


def test_an_operation_whose_faults_rose_is_an_error_rate_signal_on_its_service() -> None:
    (signal,) = operation_signals([stats(2)], [stats(80)], SCOPE)

    assert (signal.service, signal.kind) == ("orders", SignalKind.ERROR_RATE)
    assert "faults 8.0% of 1000 requests vs 0.20%" in signal.evidence.description


def test_a_dependency_whose_calls_fail_is_an_edge_signal_naming_the_peer() -> None:
    (signal,) = operation_signals([stats(0, dependency="ledger")], [stats(60, dependency="ledger")], SCOPE)

    assert signal.kind == SignalKind.EDGE and signal.hints["peer"] == "ledger"


def test_noise_and_tiny_traffic_make_no_signal() -> None:
    assert operation_signals([stats(10)], [stats(12)], SCOPE) == []
    assert operation_signals([stats(0, requests=5)], [stats(5, requests=5)], SCOPE) == []


def test_a_slower_operation_is_a_latency_signal() -> None:
    (signal,) = operation_signals([stats(0, latency=40)], [stats(0, latency=400)], SCOPE)

    assert signal.kind == SignalKind.LATENCY and signal.evidence.value == 400.0


def test_platform_findings_are_discounted_and_those_over_before_the_onset_dropped() -> None:
    findings = [
        PlatformFinding(
            source="logs anomaly detector",
            kind="log",
            service="orders",
            description="new pattern",
            severity=1.0,
            first_seen=ONSET + timedelta(minutes=1),
        ),
        PlatformFinding(
            source="cloudwatch anomaly band",
            kind="metric",
            service="orders",
            description="old",
            severity=1.0,
            first_seen=START,
            last_seen=START + timedelta(minutes=5),
        ),
    ]

    (signal,) = finding_signals(findings, SCOPE)

    assert (signal.kind, signal.strength, signal.onset) == (
        SignalKind.LOG,
        FINDING_WEIGHT,
        ONSET + timedelta(minutes=1),
    )
    assert signal.evidence.description == "logs anomaly detector: new pattern"


class _Unreachable:
    def operation_stats(self, window: TimeWindow, service: str | None = None) -> list[OperationStats]:
        raise QueryError("AWS application-signals:ListServiceOperations denied")

    def platform_findings(self, window: TimeWindow, service: str | None = None) -> list[PlatformFinding]:
        return []


def test_a_platform_that_cannot_answer_degrades_the_step_with_a_note() -> None:
    result = gather_platform(_Unreachable(), SCOPE)  # type: ignore[arg-type]

    assert result.step == "platform" and result.signals == []
    assert result.notes == [
        "platform: degraded, the backend could not answer (AWS application-signals:ListServiceOperations denied)"
    ]
