"""Application Signals SLOs and services, CloudTrail changes (botocore Stubber, recorded shapes)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from botocore.stub import ANY, Stubber

from mcp_server.backends.aws.changes import ChangeReader
from mcp_server.backends.aws.config import AwsBackendConfig
from mcp_server.backends.aws.slos import ApplicationSignalsReader
from mcp_server.telemetry import ChangeKind, SliKind, TimeWindow

from .conftest import client
from .helpers import caller

NOW = datetime(2026, 3, 10, 18, 0, tzinfo=UTC)
WINDOW = TimeWindow(start=NOW - timedelta(hours=1), end=NOW)
ARN = "arn:aws:application-signals:us-east-1:123456789012:slo/"

# GetServiceLevelObjective responses as Application Signals returns them (trimmed)
LATENCY_SLO = {
    "Arn": ARN + "checkout-latency",
    "Name": "checkout-latency",
    "Description": "POST /checkout under 800 ms",
    "CreatedTime": NOW,
    "LastUpdatedTime": NOW,
    "RequestBasedSli": {
        "RequestBasedSliMetric": {
            "KeyAttributes": {"Type": "Service", "Name": "checkout", "Environment": "eks:prod/shop"},
            "OperationName": "POST /checkout",
            "MetricType": "LATENCY",
            "TotalRequestCountMetric": [],
            "MonitoredRequestCountMetric": {"GoodCountMetric": []},
        },
        "MetricThreshold": 800.0,
        "ComparisonOperator": "LessThan",
    },
    "EvaluationType": "RequestBased",
    "Goal": {"Interval": {"RollingInterval": {"DurationUnit": "DAY", "Duration": 7}}, "AttainmentGoal": 99.5},
}
AVAILABILITY_SLO = {
    "Arn": ARN + "cart-availability",
    "Name": "cart-availability",
    "CreatedTime": NOW,
    "LastUpdatedTime": NOW,
    "Sli": {
        "SliMetric": {
            "KeyAttributes": {"Type": "Service", "Name": "cart"},
            "MetricType": "AVAILABILITY",
            "MetricDataQueries": [],
        },
        "MetricThreshold": 99.9,
        "ComparisonOperator": "GreaterThanOrEqualTo",
    },
    "Goal": {
        "Interval": {"CalendarInterval": {"StartTime": NOW, "DurationUnit": "MONTH", "Duration": 1}},
        "AttainmentGoal": 99.9,
    },
}
CUSTOM_SLO = {
    **AVAILABILITY_SLO,
    "Arn": ARN + "queue-depth",
    "Name": "queue-depth",
    "Sli": {
        "SliMetric": {"MetricDataQueries": []},
        "MetricThreshold": 10.0,
        "ComparisonOperator": "LessThan",
    },
}


def test_service_slos_become_definitions_and_custom_metric_slos_are_noted() -> None:
    signals = client("application-signals")
    calls = caller()
    notes = calls.notes
    with Stubber(signals) as stub:
        stub.add_response(
            "list_service_level_objectives",
            {
                "SloSummaries": [
                    {"Arn": s["Arn"], "Name": s["Name"]} for s in (LATENCY_SLO, AVAILABILITY_SLO, CUSTOM_SLO)
                ]
            },
            {},
        )
        for slo in (LATENCY_SLO, AVAILABILITY_SLO, CUSTOM_SLO):
            stub.add_response("get_service_level_objective", {"Slo": slo}, {"Id": slo["Arn"]})
        cart, checkout = ApplicationSignalsReader(signals, calls).slo_definitions()

    assert (checkout.service, checkout.operation, checkout.sli, checkout.threshold_ms) == (
        "checkout",
        "POST /checkout",
        SliKind.LATENCY,
        800.0,
    )
    assert (checkout.goal, checkout.interval_days) == (0.995, 7)
    assert (cart.service, cart.sli, cart.goal, cart.threshold_ms, cart.interval_days) == (
        "cart",
        SliKind.AVAILABILITY,
        0.999,
        None,
        30,
    )
    assert "queue-depth" in notes.all()[0].message


def test_budget_reports_and_service_log_groups_come_from_application_signals() -> None:
    signals = client("application-signals")
    key = {"Type": "Service", "Name": "cart", "Environment": "eks:prod/shop"}
    with Stubber(signals) as stub:
        stub.add_response(
            "batch_get_service_level_objective_budget_report",
            {
                "Timestamp": NOW,
                "Reports": [
                    {
                        "Arn": ARN + "cart-availability",
                        "Name": "cart-availability",
                        "BudgetStatus": "BREACHED",
                        "Attainment": 99.1,
                        "TotalBudgetRequests": 100,
                        "BudgetRequestsRemaining": -800,
                    }
                ],
                "Errors": [
                    {
                        "Name": "gone",
                        "Arn": ARN + "gone",
                        "ErrorCode": "ResourceNotFoundException",
                        "ErrorMessage": "no such SLO",
                    }
                ],
            },
            {"Timestamp": NOW, "SloIds": ["cart-availability", "gone"]},
        )
        stub.add_response(
            "list_services",
            {
                "StartTime": WINDOW.start,
                "EndTime": NOW,
                "ServiceSummaries": [{"KeyAttributes": key, "MetricReferences": []}],
            },
            {"StartTime": ANY, "EndTime": ANY},
        )
        stub.add_response(
            "get_service",
            {
                "Service": {"KeyAttributes": key, "MetricReferences": []},
                "StartTime": WINDOW.start,
                "EndTime": NOW,
                "LogGroupReferences": [
                    {
                        "Type": "AWS::Resource",
                        "ResourceType": "AWS::Logs::LogGroup",
                        "Identifier": "/aws/containerinsights/prod/application",
                    }
                ],
            },
            {"KeyAttributes": key, "StartTime": ANY, "EndTime": ANY},
        )
        calls = caller()
        notes = calls.notes
        reader = ApplicationSignalsReader(signals, calls)
        (report,) = reader.budget_reports(["cart-availability", "gone"], NOW)
        (service,) = reader.services(WINDOW)
        groups = reader.log_groups(service["KeyAttributes"], WINDOW)

    assert (report.budget_status, report.attainment, report.budget_requests_remaining) == (
        "BREACHED",
        99.1,
        -800,
    )
    assert "no such SLO" in notes.all()[0].message
    assert groups == ["/aws/containerinsights/prod/application"]


def lookup_event(
    name: str,
    source: str,
    request: dict[str, object],
    *,
    response: dict[str, object] | None = None,
    error: str | None = None,
    minutes: int = 10,
) -> dict[str, object]:
    detail: dict[str, object] = {
        "eventVersion": "1.08",
        "userIdentity": {"type": "AssumedRole", "arn": "arn:aws:sts::123456789012:assumed-role/deployer/ci"},
        "eventSource": source,
        "eventName": name,
        "requestParameters": request,
        "responseElements": response if response is not None else {"version": "17", "codeSha256": "abc="},
    }
    if error:
        detail["errorCode"] = error
    return {
        "EventId": f"{name}-{minutes}",
        "EventName": name,
        "ReadOnly": "false",
        "EventTime": NOW - timedelta(minutes=minutes),
        "EventSource": source,
        "Username": "ci",
        "Resources": [],
        "CloudTrailEvent": json.dumps(detail),
    }


def test_cloudtrail_deployments_become_change_events_and_failed_calls_are_ignored() -> None:
    trail = client("cloudtrail")
    config = AwsBackendConfig(
        change_events={"UpdateFunctionCode20150331v2": "deployment", "UpdateService": "deployment"},
        resource_services={"checkout-fn": "checkout"},
    )
    lambda_source, ecs_source = "lambda.amazonaws.com", "ecs.amazonaws.com"
    with Stubber(trail) as stub:
        stub.add_response(
            "lookup_events",
            {
                "Events": [
                    lookup_event(
                        "UpdateFunctionCode20150331v2",
                        lambda_source,
                        {"functionName": "arn:aws:lambda:us-east-1:123456789012:function:checkout-fn"},
                    ),
                    lookup_event(
                        "UpdateFunctionCode20150331v2",
                        lambda_source,
                        {"functionName": "checkout-fn"},
                        error="AccessDenied",
                        minutes=5,
                    ),
                ]
            },
            {
                "LookupAttributes": [
                    {"AttributeKey": "EventName", "AttributeValue": "UpdateFunctionCode20150331v2"}
                ],
                "StartTime": WINDOW.start,
                "EndTime": NOW,
            },
        )
        stub.add_response(
            "lookup_events",
            {
                "Events": [
                    lookup_event(
                        "UpdateService",
                        ecs_source,
                        {
                            "cluster": "prod",
                            "service": "cart",
                            "taskDefinition": "arn:aws:ecs:us-east-1:123456789012:task-definition/cart:42",
                        },
                        response={  # UpdateService answers with the service and its deployments
                            "service": {
                                "serviceName": "cart",
                                "deployments": [
                                    {
                                        "status": "PRIMARY",
                                        "taskDefinition": "arn:aws:ecs:us-east-1:123456789012:task-definition/cart:42",
                                    },
                                    {
                                        "status": "ACTIVE",
                                        "taskDefinition": "arn:aws:ecs:us-east-1:123456789012:task-definition/cart:41",
                                    },
                                ],
                            }
                        },
                        minutes=20,
                    )
                ]
            },
            None,
        )
        changes = ChangeReader(trail, caller(config), lambda: NOW).list(WINDOW, None, None)

    assert [(c.service, c.kind, c.version, c.actor) for c in changes] == [
        ("cart", ChangeKind.DEPLOYMENT, "cart:42", "ci"),
        ("checkout", ChangeKind.DEPLOYMENT, "17", "ci"),
    ]
    assert changes[1].attributes["cloudtrail.event_name"] == "UpdateFunctionCode20150331v2"
    assert (changes[0].previous_version, changes[1].previous_version) == ("cart:41", None)


def test_only_the_asked_change_kinds_are_looked_up() -> None:
    trail = client("cloudtrail")
    with Stubber(trail) as stub:
        stub.add_response(
            "lookup_events",
            {"Events": []},
            {
                "LookupAttributes": [{"AttributeKey": "EventName", "AttributeValue": "PutParameter"}],
                "StartTime": ANY,
                "EndTime": ANY,
            },
        )
        stub.add_response(
            "lookup_events",
            {"Events": []},
            {
                "LookupAttributes": [
                    {"AttributeKey": "EventName", "AttributeValue": "UpdateFunctionConfiguration20150331v2"}
                ],
                "StartTime": ANY,
                "EndTime": ANY,
            },
        )
        config = AwsBackendConfig(
            change_events={
                "PutParameter": "config",
                "UpdateService": "deployment",
                "UpdateFunctionConfiguration20150331v2": "config",
            }
        )
        assert ChangeReader(trail, caller(config), lambda: NOW).list(None, None, [ChangeKind.CONFIG]) == []
        stub.assert_no_pending_responses()
