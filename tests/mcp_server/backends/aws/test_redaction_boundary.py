"""Secrets in what AWS returns are redacted where the response is parsed, before any caller sees them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from mcp_server.backends.aws import AwsBackend, AwsBackendConfig, AwsClients
from mcp_server.backends.aws.testing.responders import Responders
from mcp_server.backends.base import LogQuery
from mcp_server.telemetry import TimeWindow

from .conftest import client

NOW = datetime(2026, 3, 10, 18, 0, tzinfo=UTC)


def test_a_log_event_holding_secrets_comes_out_of_the_aws_backend_redacted() -> None:
    clients = AwsClients(
        *(client(name) for name in ("cloudwatch", "logs", "xray", "application-signals", "cloudtrail"))
    )
    message = "retry with postgres://app:hunter2xyz@db/orders and token: abcdefghijklmnop1234"
    event = {"logStreamName": "s", "timestamp": int(NOW.timestamp() * 1000) - 1000, "message": message}
    Responders(clients.logs).on(
        "FilterLogEvents", lambda _params: {"events": [event], "searchedLogStreams": []}
    )
    backend = AwsBackend(clients, AwsBackendConfig(log_groups={"orders": ["/ecs/orders"]}), now=lambda: NOW)

    records = backend.query_logs(LogQuery(window=TimeWindow(start=NOW - timedelta(minutes=5), end=NOW)))

    assert [r.body for r in records] == [
        "retry with postgres://app:[REDACTED:password]@db/orders and token: [REDACTED:secret]"
    ]
