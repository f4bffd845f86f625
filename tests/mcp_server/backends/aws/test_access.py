"""The access check probes every action of the read-only policy and says which are denied."""

from __future__ import annotations

from datetime import UTC, datetime

from moto import mock_aws

from mcp_server.backends.aws.access import check_access
from mcp_server.backends.aws.config import AwsBackendConfig
from mcp_server.backends.aws.iam import policy_actions
from mcp_server.backends.aws.testing.responders import AwsErrorResponse, Responders
from mcp_server.backends.aws.testing.scenario_loader import fake_session

NOW = datetime(2026, 3, 10, 18, 0, tzinfo=UTC)
KEY = {"Type": "Service", "Name": "orders", "Environment": "prod"}
ARN = "arn:aws:application-signals:us-east-1:123456789012:slo/orders-availability"
DETECTOR = "arn:aws:logs:us-east-1:123456789012:anomaly-detector:orders"


def answer_what_moto_lacks(clients, *, deny_traces: bool = False) -> None:
    signals = Responders(clients.application_signals)
    signals.on(
        "ListServices",
        lambda p: {
            "StartTime": p["StartTime"],
            "EndTime": p["EndTime"],
            "ServiceSummaries": [{"KeyAttributes": KEY, "MetricReferences": []}],
        },
    )
    signals.on(
        "GetService",
        lambda p: {
            "Service": {"KeyAttributes": KEY, "MetricReferences": []},
            "StartTime": p["StartTime"],
            "EndTime": p["EndTime"],
        },
    )
    signals.on(
        "ListServiceLevelObjectives",
        lambda _p: {"SloSummaries": [{"Arn": ARN, "Name": "orders-availability"}]},
    )
    signals.on(
        "GetServiceLevelObjective",
        lambda _p: {
            "Slo": {
                "Arn": ARN,
                "Name": "orders-availability",
                "CreatedTime": NOW,
                "LastUpdatedTime": NOW,
                "Goal": {},
            }
        },
    )
    signals.on(
        "BatchGetServiceLevelObjectiveBudgetReport",
        lambda p: {"Timestamp": p["Timestamp"], "Reports": [], "Errors": []},
    )
    span = lambda p: {"StartTime": p["StartTime"], "EndTime": p["EndTime"]}  # noqa: E731
    signals.on("ListServiceOperations", lambda p: {**span(p), "ServiceOperations": []})
    signals.on("ListServiceDependencies", lambda p: {**span(p), "ServiceDependencies": []})
    signals.on("ListEntityEvents", lambda p: {**span(p), "ChangeEvents": []})
    signals.on("ListAuditFindings", lambda p: {**span(p), "AuditFindings": []})
    Responders(clients.cloudtrail).on("LookupEvents", lambda _p: {"Events": []})
    cloudwatch = Responders(clients.cloudwatch)
    cloudwatch.on("DescribeAlarmHistory", lambda _p: {"AlarmHistoryItems": []})
    cloudwatch.on("DescribeAnomalyDetectors", lambda _p: {"AnomalyDetectors": []})
    logs = Responders(clients.logs).on("StopQuery", lambda _p: {"success": True})
    logs.on("ListLogAnomalyDetectors", lambda _p: {"anomalyDetectors": [{"anomalyDetectorArn": DETECTOR}]})
    logs.on("ListAnomalies", lambda _p: {"anomalies": []})
    xray = Responders(clients.xray).on("GetServiceGraph", lambda p: {"Services": [], **span(p)})
    xray.on("GetTraceSegmentDestination", lambda _p: {"Destination": "XRay", "Status": "ACTIVE"})
    if deny_traces:

        def deny(_params: dict) -> dict:
            raise AwsErrorResponse(
                "AccessDeniedException", "User is not authorized to perform: xray:GetTraceSummaries"
            )

        xray.on("GetTraceSummaries", deny)


def setup_account(clients) -> None:
    clients.logs.create_log_group(logGroupName="/ecs/orders")
    clients.cloudwatch.put_metric_alarm(
        AlarmName="orders-errors",
        Namespace="Shop",
        MetricName="errors",
        Statistic="Sum",
        ComparisonOperator="GreaterThanThreshold",
        Threshold=1.0,
        Period=60,
        EvaluationPeriods=1,
    )


@mock_aws
def test_every_action_of_the_policy_is_probed_and_allowed_on_a_complete_account() -> None:
    from mcp_server.backends.aws.clients import AwsClients

    config = AwsBackendConfig(
        log_groups={"orders": ["/ecs/orders"]}, metric_namespaces=["Shop"], max_attempts=1
    )
    clients = AwsClients.from_session(fake_session(), config)
    setup_account(clients)
    answer_what_moto_lacks(clients)

    results = check_access(clients, config, NOW)

    assert {r.action for r in results} == policy_actions()
    assert [r.action for r in results if r.status != "ok"] == []


@mock_aws
def test_denied_actions_and_probes_without_a_resource_are_reported() -> None:
    from mcp_server.backends.aws.clients import AwsClients

    config = AwsBackendConfig(metric_namespaces=["Shop"], max_attempts=1)  # no log groups configured
    clients = AwsClients.from_session(fake_session(), config)
    answer_what_moto_lacks(clients, deny_traces=True)

    results = {r.action: r for r in check_access(clients, config, NOW)}

    assert results["xray:GetTraceSummaries"].status == "denied"
    assert "not authorized" in results["xray:GetTraceSummaries"].detail
    assert (
        results["logs:StartQuery"].status == "skipped" and "no log group" in results["logs:StartQuery"].detail
    )
    assert results["cloudwatch:DescribeAlarmHistory"].status == "skipped"
    assert results["xray:BatchGetTraces"].status == "ok"


@mock_aws
def test_a_template_only_config_probes_the_log_actions_on_a_group_the_template_names() -> None:
    from mcp_server.backends.aws.clients import AwsClients

    config = AwsBackendConfig(log_group_template="/ecs/{service}", metric_namespaces=["Shop"], max_attempts=1)
    clients = AwsClients.from_session(fake_session(), config)
    setup_account(clients)
    clients.logs.create_log_group(logGroupName="/other/thing")
    answer_what_moto_lacks(clients)

    results = {r.action: r for r in check_access(clients, config, NOW)}

    assert [a for a, r in results.items() if r.action.startswith("logs:") and r.status != "ok"] == []
    assert results["logs:StartQuery"].status == "ok"
