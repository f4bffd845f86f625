"""Readers' dependencies for unit tests: an ApiCaller on a fake clock, with fixed jitter."""

from __future__ import annotations

from mcp_server.backends.aws.calls import ApiCaller
from mcp_server.backends.aws.config import AwsBackendConfig
from mcp_server.backends.aws.notes import aws_notebook
from mcp_server.backends.aws.pacing import InsightsPacer
from mcp_server.backends.aws.testing.clock import FakeClock


def caller(config: AwsBackendConfig | None = None, clock: FakeClock | None = None) -> ApiCaller:
    clock = clock or FakeClock()
    return ApiCaller(config or AwsBackendConfig(), aws_notebook(), clock, clock.sleep, jitter=lambda: 1.0)


def pacer(calls: ApiCaller) -> InsightsPacer:
    return InsightsPacer(calls.config, calls.clock, calls.sleep)
