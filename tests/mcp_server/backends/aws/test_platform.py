"""AWS-native signals: Application Signals operations, dependencies, audit findings and entity
events; Transaction Search; log anomaly detectors; metric anomaly bands; each degrading with a
note when absent. Response shapes are the botocore models' (Responders validate them)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from agent.wiring import investigate_engine_only as investigate
from mcp_server.backends.aws import AwsBackend, AwsBackendConfig
from mcp_server.backends.aws.testing.platform_fakes import key_attributes
from mcp_server.backends.aws.testing.responders import Responders
from mcp_server.backends.aws.testing.scenario_loader import LoadedScenario
from mcp_server.backends.base import SpanStatsQuery
from mcp_server.backends.local import LocalBackend
from mcp_server.scenario import load_scenario_spec
from mcp_server.telemetry import ChangeKind, SpanKind, TimeWindow

from .helpers import END, clients

DETECTOR = "arn:aws:logs:us-east-1:123456789012:anomaly-detector:visits"


def test_operation_stats_count_every_request_of_every_operation_and_dependency(
    loaded: LoadedScenario, local_backend: LocalBackend
) -> None:
    # Application Signals counts per minute: ask for whole minutes
    start = loaded.window.start.replace(second=0, microsecond=0) + timedelta(minutes=1)
    window = TimeWindow(start=start, end=loaded.window.end.replace(second=0, microsecond=0))
    stats = loaded.backend().operation_stats(window, "visits")
    servers = local_backend.span_stats(
        SpanStatsQuery(window=window, bucket_seconds=10**6, service="visits", kinds=[SpanKind.SERVER])
    )

    operations = {s.operation: s for s in stats if s.dependency is None}
    assert {b.group["operation"]: b.count for b in servers} == {
        op: int(s.requests) for op, s in operations.items()
    }
    assert sum(s.faults for s in operations.values()) == sum(b.errors for b in servers)
    assert any(s.dependency is not None for s in stats)  # the calls visits makes


def test_entity_events_become_changes_and_are_not_counted_twice_with_cloudtrail(
    loaded: LoadedScenario,
) -> None:
    with loaded.responders["cloudtrail"].replaced("LookupEvents", lambda _p: {"Events": []}):
        without_trail = loaded.backend().list_changes(loaded.window)  # an account without CloudTrail
    changes = loaded.backend().list_changes(loaded.window)

    deployments = {(c.service, c.time) for c in changes if c.kind == ChangeKind.DEPLOYMENT}
    assert deployments and deployments == {(c.service, c.time) for c in without_trail}
    assert all(c.attributes.get("source") == "application-signals:ListEntityEvents" for c in without_trail)
    assert len(changes) == len({(c.service, c.kind, c.time) for c in changes})


def test_without_transaction_search_span_statistics_come_from_sampled_traces_with_a_note(
    loaded: LoadedScenario, local_backend: LocalBackend
) -> None:
    loaded.platform.segment_destination = "XRay"
    try:
        backend = loaded.backend()
        query = SpanStatsQuery(
            window=loaded.window, bucket_seconds=120, kinds=[SpanKind.SERVER], count_traces=True
        )
        buckets = backend.span_stats(query)
    finally:
        loaded.platform.segment_destination = "CloudWatchLogs"

    def counted(bs: list[Any]) -> list[tuple[Any, ...]]:
        return sorted(
            (
                b.bucket_start,
                tuple(b.group.values()),
                b.count,
                b.errors,
                b.traces,
                b.error_traces,
                b.with_outcome,
            )
            for b in bs
        )

    assert counted(buckets) == counted(local_backend.span_stats(query))
    assert any("Transaction Search is off" in n.message for n in backend.notes)


def test_with_transaction_search_span_statistics_are_read_from_aws_spans(
    loaded: LoadedScenario, local_backend: LocalBackend
) -> None:
    started = len(loaded.insights.started)
    query = SpanStatsQuery(window=loaded.window, bucket_seconds=120, group_by=["service"], count_traces=True)

    buckets = loaded.backend().span_stats(query)

    spans_queries = [q for q in loaded.insights.started[started:] if q["logGroupNames"] == ["aws/spans"]]
    assert len(spans_queries) == 2  # totals and errors

    def counted(bs: list[Any]) -> dict[Any, tuple[int, int, int | None, int | None]]:
        return {
            (b.bucket_start, b.group["service"]): (b.count, b.errors, b.traces, b.error_traces) for b in bs
        }

    assert counted(buckets) == counted(local_backend.span_stats(query))  # requests as traces, too


def test_absent_platform_sources_each_leave_a_note(loaded: LoadedScenario) -> None:
    backend = loaded.backend()

    findings = backend.platform_findings(loaded.window)

    assert findings == []
    messages = " ".join(n.message for n in backend.notes)
    assert "no CloudWatch Logs anomaly detector" in messages
    assert "no CloudWatch anomaly detector models" in messages


def test_audit_findings_log_anomalies_and_band_breaches_become_platform_findings(
    loaded: LoadedScenario,
) -> None:
    backend = loaded.backend()
    group = backend.log_group_names("visits")[0][0]
    start_ms = int(loaded.window.start.timestamp() * 1000)
    loaded.platform.audit_findings = [
        {
            "KeyAttributes": key_attributes("visits"),
            "Operation": "GET /visits",
            "Type": "service_operation",
            "AuditorResults": [
                {
                    "Auditor": "operation_metric",
                    "Description": "Fault rate anomaly on GET /visits",
                    "Severity": "CRITICAL",
                },
                {"Auditor": "slo", "Description": "nothing to see", "Severity": "NONE"},
            ],
        }
    ]
    loaded.platform.log_detectors = [
        {
            "anomalyDetectorArn": DETECTOR,
            "detectorName": "visits",
            "logGroupArnList": [f"arn:aws:logs:us-east-1:123456789012:log-group:{group}:*"],
        }
    ]
    loaded.platform.log_anomalies = {
        DETECTOR: [
            {
                "anomalyId": "a" * 36,
                "patternId": "p" * 32,
                "anomalyDetectorArn": DETECTOR,
                "patternString": "db timeout after <*> ms",
                "priority": "HIGH",
                "firstSeen": start_ms + 300_000,
                "lastSeen": start_ms + 500_000,
                "description": "new pattern",
                "active": True,
                "state": "Active",
                "histogram": {},
                "logSamples": [],
                "patternTokens": [],
                "logGroupArnList": [f"arn:aws:logs:us-east-1:123456789012:log-group:{group}:*"],
            }
        ]
    }
    metric = next(m for m in backend.list_metrics("visits"))
    loaded.platform.metric_detectors = [
        {
            "Namespace": loaded.config.metric_namespaces[0],
            "MetricName": metric.name,
            "Dimensions": [{"Name": "Service", "Value": "visits"}],
            "Stat": "Maximum",
            "StateValue": "TRAINED",
        }
    ]
    try:
        findings = {f.source: f for f in backend.platform_findings(loaded.window)}
    finally:
        loaded.platform.audit_findings, loaded.platform.log_detectors, loaded.platform.metric_detectors = (
            [],
            [],
            [],
        )
        loaded.platform.log_anomalies = {}

    audit = findings["application-signals audit"]
    assert (audit.service, audit.kind, audit.severity, audit.operation) == (
        "visits",
        "error_rate",
        1.0,
        "GET /visits",
    )
    anomaly = findings["logs anomaly detector"]
    assert (anomaly.service, anomaly.kind, anomaly.severity) == ("visits", "log", 1.0)
    assert anomaly.first_seen == datetime.fromtimestamp((start_ms + 300_000) / 1000, tz=UTC)
    assert set(findings) <= {"application-signals audit", "logs anomaly detector", "cloudwatch anomaly band"}


def test_a_metric_outside_its_anomaly_band_for_several_points_is_a_finding() -> None:
    aws = clients()
    metric = {
        "Namespace": "Shop",
        "MetricName": "latency",
        "Dimensions": [{"Name": "Service", "Value": "orders"}],
    }
    times = [END - timedelta(minutes=10 - i) for i in range(10)]
    values = [100.0] * 7 + [900.0, 950.0, 990.0]
    cloudwatch = Responders(aws.cloudwatch)
    cloudwatch.on(
        "DescribeAnomalyDetectors",
        lambda _p: {"AnomalyDetectors": [{**metric, "Stat": "Average", "StateValue": "TRAINED"}]},
    )

    def data(params: dict[str, Any]) -> dict[str, Any]:
        ids = [q["Id"] for q in params["MetricDataQueries"]]
        assert (
            ids == ["m0", "b0"]
            and params["MetricDataQueries"][1]["Expression"] == "ANOMALY_DETECTION_BAND(m0, 2)"
        )
        return {
            "MetricDataResults": [
                {
                    "Id": "m0",
                    "Label": "latency",
                    "Timestamps": times,
                    "Values": values,
                    "StatusCode": "Complete",
                },
                {
                    "Id": "b0",
                    "Label": "latency (expected) High",
                    "Timestamps": times,
                    "Values": [150.0] * 10,
                    "StatusCode": "Complete",
                },
                {
                    "Id": "b0",
                    "Label": "latency (expected) Low",
                    "Timestamps": times,
                    "Values": [50.0] * 10,
                    "StatusCode": "Complete",
                },
            ]
        }

    cloudwatch.on("GetMetricData", data)
    backend = AwsBackend(
        aws,
        AwsBackendConfig(metric_namespaces=["Shop"], application_signals=False, log_anomaly_detectors=False),
        now=lambda: END,
    )
    (finding,) = backend.platform_findings(TimeWindow(start=times[0], end=END))

    assert (finding.service, finding.kind, finding.component) == ("orders", "metric", "latency")
    assert finding.first_seen == times[7] and finding.attributes["direction"] == "above"


def test_an_empty_service_graph_falls_back_to_edges_from_traces(
    loaded: LoadedScenario, local_backend: LocalBackend
) -> None:
    empty = lambda p: {"Services": [], "StartTime": p["StartTime"], "EndTime": p["EndTime"]}  # noqa: E731
    with loaded.responders["xray"].replaced("GetServiceGraph", empty):
        backend = loaded.backend()
        edges = backend.service_edges(loaded.window)

    expected = local_backend.service_edges(loaded.window)
    assert edges and [(e.caller, e.callee, e.requests) for e in edges] == [
        (e.caller, e.callee, e.requests) for e in expected
    ]
    assert any("service graph is empty" in n.message for n in backend.notes)


@pytest.mark.parametrize("variant", ["no-transaction-search", "no-insights-pattern"])
def test_the_same_top_hypothesis_without_transaction_search_or_insights_pattern(
    loaded: LoadedScenario, local_backend: LocalBackend, scenario_dir: Any, variant: str
) -> None:
    spec = load_scenario_spec(scenario_dir)
    if variant == "no-transaction-search":
        loaded.platform.segment_destination = "XRay"
    else:
        loaded.insights.unsupported.add("pattern")
    try:
        on_aws = investigate(loaded.backend(insights_max_log_groups=50), spec)
    finally:
        loaded.platform.segment_destination = "CloudWatchLogs"
        loaded.insights.unsupported.discard("pattern")
    on_local = investigate(local_backend, spec)

    assert (on_aws.hypotheses[0].service, on_aws.hypotheses[0].fault_type) == (
        on_local.hypotheses[0].service,
        on_local.hypotheses[0].fault_type,
    )
