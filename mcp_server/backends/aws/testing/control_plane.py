"""The control plane of a loaded scenario: alarms and their history, Application Signals
services and SLOs, and CloudTrail events for its changes, answered as AWS documents them."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from mcp_server.backends.aws.alarms import BURN_RATE_METRIC, BURN_RATE_NAMESPACE, SLO_DIMENSION
from mcp_server.backends.aws.testing.platform_fakes import references
from mcp_server.backends.aws.testing.responders import AwsErrorResponse, Responders
from mcp_server.backends.local import LocalBackend
from mcp_server.telemetry import Alarm, ChangeEvent, ChangeKind, SliKind, SloDefinition, TimeWindow

REGION = "us-east-1"
NAMESPACE = "Sleuth"
ACCOUNT = "123456789012"
_STATISTICS = {"avg": "Average", "sum": "Sum", "min": "Minimum", "max": "Maximum", "count": "SampleCount"}
_COMPARISONS = {
    ">": "GreaterThanThreshold",
    ">=": "GreaterThanOrEqualToThreshold",
    "<": "LessThanThreshold",
    "<=": "LessThanOrEqualToThreshold",
}
# ChangeKind -> (CloudTrail event name, event source, request parameter naming the service)
CHANGE_EVENTS = {
    ChangeKind.DEPLOYMENT: ("UpdateService", "ecs.amazonaws.com", "service"),
    ChangeKind.CONFIG: ("UpdateFunctionConfiguration20150331v2", "lambda.amazonaws.com", "functionName"),
    ChangeKind.SCALING: ("UpdateAutoScalingGroup", "autoscaling.amazonaws.com", "autoScalingGroupName"),
    ChangeKind.FEATURE_FLAG: ("StartDeployment", "appconfig.amazonaws.com", "applicationName"),
    ChangeKind.INFRA: ("UpdateStack", "cloudformation.amazonaws.com", "stackName"),
}


# ------------------------------------------------------------------------------------- alarms


def _where(alarm: Alarm) -> tuple[str, str, list[dict[str, str]]]:
    """Namespace, metric and dimensions of the alarm as CloudWatch holds it: a burn-rate alert watches
    Application Signals' burn rate of its SLO; any other alarm a metric of its service."""
    if alarm.slo is not None:
        window = alarm.dimensions.get("burn_rate.window_minutes", "5")
        dimensions = [
            {"Name": SLO_DIMENSION, "Value": alarm.slo},
            {"Name": "BurnRateWindowMinutes", "Value": window},
        ]
        return BURN_RATE_NAMESPACE, BURN_RATE_METRIC, dimensions
    dimensions = ([{"Name": "Service", "Value": alarm.service}] if alarm.service else []) + [
        {"Name": k, "Value": v} for k, v in sorted(alarm.dimensions.items())
    ]
    return NAMESPACE, alarm.metric, dimensions


def load_alarms(cloudwatch: Any, alarms: list[Alarm]) -> None:
    for alarm in alarms:
        namespace, metric, dimensions = _where(alarm)
        statistic = _STATISTICS.get(alarm.statistic)
        params: dict[str, Any] = {
            "AlarmName": alarm.name,
            "AlarmDescription": alarm.description,
            "Namespace": namespace,
            "MetricName": metric,
            "Dimensions": dimensions,
            "ComparisonOperator": _COMPARISONS.get(alarm.comparison, "GreaterThanThreshold"),
            "Threshold": alarm.threshold,
            "Period": alarm.period_seconds,
            "EvaluationPeriods": alarm.evaluation_periods,
        }
        if statistic:
            params["Statistic"] = statistic
        else:
            params["ExtendedStatistic"] = alarm.statistic
        cloudwatch.put_metric_alarm(**params)
        cloudwatch.set_alarm_state(
            AlarmName=alarm.name, StateValue=alarm.state.value, StateReason=alarm.state_reason or "scenario"
        )


def alarm_history_handler(alarms: list[Alarm]) -> Any:
    by_name = {a.name: a for a in alarms}

    def handle(params: dict[str, Any]) -> dict[str, Any]:
        alarm = by_name.get(str(params.get("AlarmName")))
        items = []
        for transition in alarm.history if alarm else []:
            if params.get("StartDate") and transition.time < params["StartDate"]:
                continue
            if params.get("EndDate") and transition.time > params["EndDate"]:
                continue
            history = {
                "version": "1.0",
                "oldState": {"stateValue": transition.old_state.value},
                "newState": {"stateValue": transition.new_state.value, "stateReason": transition.reason},
            }
            items.append(
                {
                    "AlarmName": alarm.name if alarm else "",
                    "AlarmType": "MetricAlarm",
                    "Timestamp": transition.time,
                    "HistoryItemType": "StateUpdate",
                    "HistorySummary": f"Alarm updated from {transition.old_state.value} to {transition.new_state.value}",
                    "HistoryData": json.dumps(history),
                }
            )
        return {"AlarmHistoryItems": items}

    return handle


# ------------------------------------------------------------------------- application signals


def _slo_arn(name: str) -> str:
    return f"arn:aws:application-signals:{REGION}:{ACCOUNT}:slo/{name}"


def slo_document(slo: SloDefinition) -> dict[str, Any]:
    """GetServiceLevelObjective's ``Slo`` for a period-based SLO on a service."""
    metric: dict[str, Any] = {
        "KeyAttributes": {"Type": "Service", "Name": slo.service, "Environment": "scenario"},
        "MetricType": "LATENCY" if slo.sli == SliKind.LATENCY else "AVAILABILITY",
        "MetricDataQueries": [],
    }
    if slo.operation:
        metric["OperationName"] = slo.operation
    latency = slo.sli == SliKind.LATENCY
    epoch = datetime(2026, 1, 1, tzinfo=UTC)
    return {
        "Arn": _slo_arn(slo.name),
        "Name": slo.name,
        "Description": slo.description,
        "CreatedTime": epoch,
        "LastUpdatedTime": epoch,
        "Sli": {
            "SliMetric": metric,
            "MetricThreshold": float(slo.threshold_ms or 0.0) if latency else slo.goal * 100,
            "ComparisonOperator": "LessThanOrEqualTo" if latency else "GreaterThanOrEqualTo",
        },
        "EvaluationType": "PeriodBased",
        "Goal": {
            "Interval": {"RollingInterval": {"DurationUnit": "DAY", "Duration": slo.interval_days}},
            "AttainmentGoal": slo.goal * 100,
            "WarningThreshold": 30.0,
        },
    }


def answer_application_signals(
    responders: Responders,
    local: LocalBackend,
    services: list[str],
    slos: list[SloDefinition],
    groups: dict[str, list[str]],
    window: TimeWindow,
) -> None:
    def key(service: str) -> dict[str, str]:
        return {"Type": "Service", "Name": service, "Environment": "scenario"}

    def list_services(params: dict[str, Any]) -> dict[str, Any]:
        return {
            "StartTime": params["StartTime"],
            "EndTime": params["EndTime"],
            "ServiceSummaries": [
                {"KeyAttributes": key(s), "MetricReferences": references(_service_dimensions(s))}
                for s in services
            ],
        }

    def get_service(params: dict[str, Any]) -> dict[str, Any]:
        name = params["KeyAttributes"]["Name"]
        references = [
            {"Type": "AWS::Resource", "ResourceType": "AWS::Logs::LogGroup", "Identifier": g}
            for g in groups.get(name, [])
        ]
        return {
            "Service": {"KeyAttributes": key(name), "MetricReferences": [], "LogGroupReferences": references},
            "StartTime": params["StartTime"],
            "EndTime": params["EndTime"],
            "LogGroupReferences": references,
        }

    documents = {_slo_arn(s.name): slo_document(s) for s in slos}
    by_name = {s.name: s for s in slos}

    def list_slos(_params: dict[str, Any]) -> dict[str, Any]:
        return {
            "SloSummaries": [
                {"Arn": d["Arn"], "Name": d["Name"], "KeyAttributes": d["Sli"]["SliMetric"]["KeyAttributes"]}
                for d in documents.values()
            ]
        }

    def get_slo(params: dict[str, Any]) -> dict[str, Any]:
        identifier = str(params["Id"])
        document = documents.get(identifier) or documents.get(_slo_arn(identifier))
        if document is None:
            raise AwsErrorResponse("ResourceNotFoundException", f"SLO {identifier} not found")
        return {"Slo": document}

    def budget(params: dict[str, Any]) -> dict[str, Any]:
        reports = []
        for identifier in params["SloIds"]:
            slo = by_name.get(str(identifier).rsplit("/", 1)[-1])
            if slo is None:
                continue
            buckets = local.sli_buckets(
                slo, window, bucket_seconds=max(60, int(window.duration.total_seconds()))
            )
            total = sum(b.total for b in buckets)
            good = sum(b.good for b in buckets)
            attainment = 100.0 * good / total if total else None
            allowed = (1 - slo.goal) * total
            remaining = round(allowed - (total - good))
            status = "INSUFFICIENT_DATA" if not total else "BREACHED" if remaining < 0 else "OK"
            report: dict[str, Any] = {"Arn": _slo_arn(slo.name), "Name": slo.name, "BudgetStatus": status}
            if attainment is not None:
                report.update(
                    Attainment=attainment,
                    TotalBudgetRequests=round(allowed),
                    BudgetRequestsRemaining=remaining,
                )
            reports.append(report)
        return {"Timestamp": params["Timestamp"], "Reports": reports, "Errors": []}

    (
        responders.on("ListServices", list_services)
        .on("GetService", get_service)
        .on("ListServiceLevelObjectives", list_slos)
        .on("GetServiceLevelObjective", get_slo)
        .on("BatchGetServiceLevelObjectiveBudgetReport", budget)
    )


# ----------------------------------------------------------------------------------- cloudtrail


def entity_event_id(change: ChangeEvent, index: int) -> str:
    return change.id or f"evt-{index}"


def _service_dimensions(service: str) -> list[dict[str, str]]:
    return [{"Name": "Environment", "Value": "scenario"}, {"Name": "Service", "Value": service}]


def cloudtrail_event(change: ChangeEvent, index: int) -> dict[str, Any]:
    """A LookupEvents ``Events`` item recording ``change`` (ECS, Lambda, ... by kind)."""
    event_name, source, parameter = CHANGE_EVENTS[change.kind]
    request: dict[str, Any] = {parameter: change.service}
    if change.version:
        request["taskDefinition" if change.kind == ChangeKind.DEPLOYMENT else "version"] = change.version
    if change.description:
        request["description"] = change.description
    detail = {
        "eventVersion": "1.08",
        "userIdentity": {
            "type": "AssumedRole",
            "arn": change.actor or "arn:aws:sts::123456789012:assumed-role/deployer/ci",
        },
        "eventTime": change.time.isoformat(),
        "eventSource": source,
        "eventName": event_name,
        "awsRegion": REGION,
        "requestParameters": request,
        "responseElements": _response_elements(change),
        "eventID": entity_event_id(change, index),
    }
    return {
        "EventId": entity_event_id(change, index),
        "EventName": event_name,
        "ReadOnly": "false",
        "EventTime": change.time,
        "EventSource": source,
        "Username": change.actor or "deployer",
        "Resources": [{"ResourceType": "AWS::Service", "ResourceName": change.service}],
        "CloudTrailEvent": json.dumps(detail),
    }


def _response_elements(change: ChangeEvent) -> dict[str, Any]:
    if change.kind != ChangeKind.DEPLOYMENT or not change.version:
        return {}
    deployments = [{"status": "PRIMARY", "taskDefinition": change.version}]
    if change.previous_version:
        deployments.append({"status": "ACTIVE", "taskDefinition": change.previous_version})
    return {
        "service": {
            "serviceName": change.service,
            "taskDefinition": change.version,
            "deployments": deployments,
        }
    }


def lookup_events_handler(changes: list[ChangeEvent]) -> Any:
    events = [cloudtrail_event(c, i) for i, c in enumerate(changes)]

    def handle(params: dict[str, Any]) -> dict[str, Any]:
        wanted = {
            a["AttributeValue"]
            for a in params.get("LookupAttributes") or []
            if a["AttributeKey"] == "EventName"
        }
        start, end = params.get("StartTime"), params.get("EndTime")
        found = [
            e
            for e in events
            if (not wanted or e["EventName"] in wanted)
            and (start is None or e["EventTime"] >= start)
            and (end is None or e["EventTime"] <= end)
        ]
        return {"Events": sorted(found, key=lambda e: e["EventTime"], reverse=True)}

    return handle
