"""Readers' dependencies for unit tests: an ApiCaller on a fake clock, with fixed jitter."""

from __future__ import annotations

from datetime import UTC, datetime

from mcp_server.backends.aws import AwsBackend, AwsClients
from mcp_server.backends.aws.calls import ApiCaller
from mcp_server.backends.aws.config import AwsBackendConfig
from mcp_server.backends.aws.notes import aws_notebook
from mcp_server.backends.aws.pacing import InsightsPacer
from mcp_server.backends.aws.testing.clock import FakeClock
from mcp_server.backends.aws.testing.insights import FakeInsights
from mcp_server.backends.aws.testing.responders import Responders

from .conftest import client

END = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)


def caller(config: AwsBackendConfig | None = None, clock: FakeClock | None = None) -> ApiCaller:
    clock = clock or FakeClock()
    return ApiCaller(config or AwsBackendConfig(), aws_notebook(), clock, clock.sleep, jitter=lambda: 1.0)


def pacer(calls: ApiCaller) -> InsightsPacer:
    return InsightsPacer(calls.config, calls.clock, calls.sleep)


def clients() -> AwsClients:
    return AwsClients(
        cloudwatch=client("cloudwatch"),
        logs=client("logs"),
        xray=client("xray"),
        application_signals=client("application-signals"),
        cloudtrail=client("cloudtrail"),
    )


def logs_backend(
    config: AwsBackendConfig,
    fake: FakeInsights,
    existing: list[str],
    services: list[str],
    now: datetime = END,
    clock: FakeClock | None = None,
) -> tuple[AwsBackend, Responders]:
    """A backend whose services come from metrics only (no Application Signals)."""
    aws = clients()
    logs = Responders(aws.logs)
    fake.attach(logs)
    logs.on(
        "DescribeLogGroups",
        lambda p: {
            "logGroups": [
                {"logGroupName": g} for g in existing if g.startswith(p.get("logGroupNamePrefix", ""))
            ]
        },
    )
    signals = Responders(aws.application_signals)
    signals.on(
        "ListServices",
        lambda p: {"StartTime": p["StartTime"], "EndTime": p["EndTime"], "ServiceSummaries": []},
    )
    signals.on("ListServiceLevelObjectives", lambda _p: {"SloSummaries": []})
    metrics = [
        {"Namespace": "Shop", "MetricName": "cpu", "Dimensions": [{"Name": "Service", "Value": s}]}
        for s in services
    ]
    Responders(aws.cloudwatch).on("ListMetrics", lambda _p: {"Metrics": metrics})
    clock = clock or FakeClock()
    return AwsBackend(aws, config, now=lambda: now, clock=clock, sleep=clock.sleep), logs
