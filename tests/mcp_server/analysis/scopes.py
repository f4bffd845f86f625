"""The scope most analysis tests use: twenty minutes from T0, the onset ten minutes in."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from mcp_server.analysis.signals import Scope
from mcp_server.telemetry import TimeWindow

T0 = datetime(2026, 1, 1, 12, tzinfo=UTC)
ONSET = T0 + timedelta(minutes=10)


def twenty_minutes(services: list[str] | None = None) -> Scope:
    end = T0 + timedelta(minutes=20)
    return Scope(
        window=TimeWindow(start=T0, end=end),
        onset=ONSET,
        onset_source="detected",
        baseline=TimeWindow(start=T0, end=ONSET),
        incident=TimeWindow(start=ONSET, end=end),
        bucket_seconds=60,
        services=services or [],
    )
