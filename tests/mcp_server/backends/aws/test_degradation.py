"""A throttled, denied or unreachable API degrades one evidence source with a clear note."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from botocore.exceptions import EndpointConnectionError
from botocore.stub import Stubber

from mcp_server.backends.aws import AwsBackend, AwsBackendConfig
from mcp_server.backends.aws.errors import AwsApiUnavailableError, aws_errors
from mcp_server.backends.aws.testing.responders import AwsErrorResponse, Responders
from mcp_server.errors import BackendUnavailableError, QueryError
from mcp_server.telemetry import TimeWindow

from .conftest import client
from .helpers import clients

NOW = datetime(2026, 3, 10, 18, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("code", "reason"),
    [
        ("ThrottlingException", "throttled"),
        ("AccessDeniedException", "denied"),
        ("InternalFailure", "failed"),
    ],
)
def test_client_errors_name_the_api_and_the_reason(code: str, reason: str) -> None:
    xray = client("xray")
    with Stubber(xray) as stub:
        stub.add_client_error(
            "get_service_graph", service_error_code=code, service_message="no", http_status_code=400
        )
        with pytest.raises(AwsApiUnavailableError) as caught, aws_errors("xray:GetServiceGraph"):
            xray.get_service_graph(StartTime=NOW - timedelta(hours=1), EndTime=NOW)

    error = caught.value
    assert isinstance(error, BackendUnavailableError)
    assert (error.api, error.reason) == ("xray:GetServiceGraph", reason)
    assert "this evidence source is skipped" in str(error)


def test_bad_requests_are_query_errors_not_outages() -> None:
    logs = client("logs")
    with Stubber(logs) as stub:
        stub.add_client_error(
            "start_query", service_error_code="MalformedQueryException", service_message="bad query"
        )
        with (
            pytest.raises(QueryError, match="MalformedQueryException: bad query"),
            aws_errors("logs:StartQuery"),
        ):
            logs.start_query(logGroupNames=["/x"], startTime=0, endTime=1, queryString="nonsense")


def test_an_unreachable_endpoint_is_unavailable() -> None:
    with pytest.raises(AwsApiUnavailableError, match="unreachable"), aws_errors("cloudtrail:LookupEvents"):
        raise EndpointConnectionError(endpoint_url="https://cloudtrail.us-east-1.amazonaws.com")


def test_a_denied_application_signals_leaves_the_other_service_sources_working() -> None:
    aws_clients = clients()
    signals = Responders(aws_clients.application_signals)
    denied = AwsErrorResponse(
        "AccessDeniedException", "not authorized to perform application-signals:ListServices"
    )
    for operation in ("ListServices", "ListServiceLevelObjectives"):
        signals.on(operation, lambda _params: (_ for _ in ()).throw(denied))
    metric = {
        "Namespace": "ApplicationSignals",
        "MetricName": "Latency",
        "Dimensions": [{"Name": "Service", "Value": "cart"}],
    }
    Responders(aws_clients.cloudwatch).on("ListMetrics", lambda _params: {"Metrics": [metric]})
    backend = AwsBackend(
        aws_clients, AwsBackendConfig(log_groups={"orders": ["/ecs/orders"]}, max_attempts=1), now=lambda: NOW
    )

    services = backend.list_services()

    assert services == ["cart", "orders"]
    assert any("application-signals:ListServices denied" in n.message for n in backend.notes)


def test_a_throttled_service_graph_falls_back_to_edges_from_sampled_traces() -> None:
    aws_clients = clients()
    xray = Responders(aws_clients.xray)
    throttled = AwsErrorResponse("ThrottlingException", "Rate exceeded", 429)
    xray.on("GetServiceGraph", lambda _params: (_ for _ in ()).throw(throttled))
    xray.on("GetTraceSummaries", lambda _params: {"TraceSummaries": []})
    backend = AwsBackend(aws_clients, AwsBackendConfig(max_attempts=1), now=lambda: NOW)

    edges = backend.service_edges(TimeWindow(start=NOW - timedelta(hours=1), end=NOW))

    assert edges == []
    assert "edges computed from sampled traces instead" in backend.notes[0].message
