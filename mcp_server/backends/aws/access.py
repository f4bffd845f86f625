"""Check, before an incident, that the identity Sleuth runs as can make every call it will need.

Each probe is the cheapest call of one IAM action (one page, one minute, one record). Actions
that need a resource (a log group, an SLO, a service) are probed with the first one found or
configured (a configured group, else one matching ``log_group_template``, else one Application
Signals reports), and reported as skipped when there is none.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

from mcp_server.backends.aws.clients import AwsClients
from mcp_server.backends.aws.config import AwsBackendConfig
from mcp_server.backends.aws.errors import AwsApiUnavailableError, aws_errors
from mcp_server.errors import QueryError

AccessStatus = Literal["ok", "denied", "throttled", "failed", "skipped"]


class AccessCheck(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    action: str  # IAM action, e.g. xray:GetTraceSummaries
    status: AccessStatus
    detail: str = ""


def check_access(clients: AwsClients, config: AwsBackendConfig, now: datetime) -> list[AccessCheck]:
    """One probe per IAM action in the read-only policy, in policy order."""
    minute = {"StartTime": now - timedelta(minutes=1), "EndTime": now}
    results: list[AccessCheck] = []
    found: dict[str, Any] = {}

    def probe(action: str, call: Callable[[], Any], needs: str | None = None) -> None:
        if needs is not None and not found.get(needs):
            results.append(AccessCheck(action=action, status="skipped", detail=f"no {needs} to probe with"))
            return
        try:
            with aws_errors(action):
                call()
        except AwsApiUnavailableError as exc:
            status: AccessStatus = exc.reason if exc.reason in ("denied", "throttled") else "failed"  # type: ignore[assignment]
            results.append(AccessCheck(action=action, status=status, detail=exc.detail))
            return
        except QueryError as exc:  # the call was allowed; the probe's arguments were not to AWS' taste
            results.append(AccessCheck(action=action, status="ok", detail=str(exc)))
            return
        results.append(AccessCheck(action=action, status="ok"))

    cw, logs, xray, signals, trail = (
        clients.cloudwatch,
        clients.logs,
        clients.xray,
        clients.application_signals,
        clients.cloudtrail,
    )
    namespace = config.metric_namespaces[0] if config.metric_namespaces else "AWS/EC2"
    probe("cloudwatch:ListMetrics", lambda: cw.list_metrics(Namespace=namespace))
    probe(
        "cloudwatch:GetMetricData",
        lambda: cw.get_metric_data(
            MetricDataQueries=[
                {
                    "Id": "probe",
                    "MetricStat": {
                        "Metric": {"Namespace": namespace, "MetricName": "SleuthAccessProbe"},
                        "Period": 60,
                        "Stat": "Sum",
                    },
                }
            ],
            **minute,
        ),
    )

    def alarms() -> None:
        page = cw.describe_alarms(MaxRecords=1)
        found["alarm"] = next((a["AlarmName"] for a in page.get("MetricAlarms") or []), None)

    probe("cloudwatch:DescribeAlarms", alarms)
    probe(
        "cloudwatch:DescribeAnomalyDetectors",
        lambda: cw.describe_anomaly_detectors(Namespace=namespace, MaxResults=1),
    )
    probe(
        "cloudwatch:DescribeAlarmHistory",
        lambda: cw.describe_alarm_history(AlarmName=found["alarm"], MaxRecords=1),
        needs="alarm",
    )

    configured = [g for groups in config.log_groups.values() for g in groups]
    found["log group"] = configured[0] if configured else None

    def log_groups() -> None:
        prefix = config.template_prefix() or ""
        page = logs.describe_log_groups(**({"logGroupNamePrefix": prefix} if prefix else {}), limit=5)
        names = [str(g["logGroupName"]) for g in page.get("logGroups") or []]
        matching = [n for n in names if config.log_group_template is None or _matches_template(n, config)]
        found["log group"] = found["log group"] or (matching[0] if matching else None)

    probe("logs:DescribeLogGroups", log_groups)
    probe(
        "logs:FilterLogEvents",
        lambda: logs.filter_log_events(
            logGroupName=found["log group"],
            startTime=int(minute["StartTime"].timestamp() * 1000),
            endTime=int(now.timestamp() * 1000),
            limit=1,
        ),
        needs="log group",
    )

    def start_query() -> None:
        found["query"] = logs.start_query(
            logGroupNames=[found["log group"]],
            startTime=int(minute["StartTime"].timestamp()),
            endTime=int(now.timestamp()),
            queryString="fields @timestamp | limit 1",
            limit=1,
        )["queryId"]

    probe("logs:StartQuery", start_query, needs="log group")
    probe("logs:GetQueryResults", lambda: logs.get_query_results(queryId=found["query"]), needs="query")
    probe("logs:StopQuery", lambda: logs.stop_query(queryId=found["query"]), needs="query")

    def log_detectors() -> None:
        page = logs.list_log_anomaly_detectors(limit=1)
        found["detector"] = next((d["anomalyDetectorArn"] for d in page.get("anomalyDetectors") or []), None)

    probe("logs:ListLogAnomalyDetectors", log_detectors)
    probe(
        "logs:ListAnomalies",
        lambda: logs.list_anomalies(anomalyDetectorArn=found["detector"], limit=1),
        needs="detector",
    )

    probe("xray:GetTraceSummaries", lambda: xray.get_trace_summaries(**minute))
    probe(
        "xray:BatchGetTraces", lambda: xray.batch_get_traces(TraceIds=["1-00000000-000000000000000000000000"])
    )
    probe("xray:GetServiceGraph", lambda: xray.get_service_graph(**minute))

    probe("xray:GetTraceSegmentDestination", xray.get_trace_segment_destination)

    hour = {"StartTime": now - timedelta(hours=1), "EndTime": now}

    def services() -> None:
        page = signals.list_services(MaxResults=1, **hour)
        found["service"] = next((s["KeyAttributes"] for s in page.get("ServiceSummaries") or []), None)

    probe("application-signals:ListServices", services)
    for action, call in (
        ("application-signals:GetService", signals.get_service),
        ("application-signals:ListServiceOperations", signals.list_service_operations),
        ("application-signals:ListServiceDependencies", signals.list_service_dependencies),
    ):
        probe(action, functools.partial(_with_service, call, found, hour), needs="service")
    probe(
        "application-signals:ListEntityEvents",
        lambda: signals.list_entity_events(Entity=found["service"], MaxResults=1, **hour),
        needs="service",
    )
    probe(
        "application-signals:ListAuditFindings",
        lambda: signals.list_audit_findings(
            AuditTargets=[{"Type": "service", "Data": {"Service": _service_entity(found["service"])}}],
            MaxResults=1,
            **hour,
        ),
        needs="service",
    )

    def slos() -> None:
        page = signals.list_service_level_objectives(MaxResults=1)
        found["SLO"] = next((s["Arn"] for s in page.get("SloSummaries") or []), None)

    probe("application-signals:ListServiceLevelObjectives", slos)
    probe(
        "application-signals:GetServiceLevelObjective",
        lambda: signals.get_service_level_objective(Id=found["SLO"]),
        needs="SLO",
    )
    probe(
        "application-signals:BatchGetServiceLevelObjectiveBudgetReport",
        lambda: signals.batch_get_service_level_objective_budget_report(Timestamp=now, SloIds=[found["SLO"]]),
        needs="SLO",
    )
    probe("cloudtrail:LookupEvents", lambda: trail.lookup_events(MaxResults=1, **minute))
    return results


def _with_service(call: Callable[..., Any], found: dict[str, Any], hour: dict[str, datetime]) -> Any:
    return call(KeyAttributes=found["service"], **hour)


def _matches_template(name: str, config: AwsBackendConfig) -> bool:
    head, _, tail = (config.log_group_template or "{service}").partition("{service}")
    return name.startswith(head) and name.endswith(tail) and len(name) > len(head) + len(tail)


def _service_entity(keys: dict[str, str]) -> dict[str, str]:
    return {k: v for k, v in keys.items() if k in ("Type", "Name", "Environment")}
