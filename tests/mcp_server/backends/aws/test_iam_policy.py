"""The read-only IAM policy allows exactly the AWS calls the backend makes, no more, no less."""

from __future__ import annotations

from datetime import timedelta

import pytest

from mcp_server.backends.aws.clients import IAM_PREFIXES
from mcp_server.backends.aws.errors import AwsApiUnavailableError
from mcp_server.backends.aws.iam import POLICY_PATH, policy_actions
from mcp_server.backends.aws.testing.responders import CallRecorder
from mcp_server.backends.aws.testing.scenario_loader import LoadedScenario
from mcp_server.backends.base import LogQuery, MetricQuery, SpanQuery, SpanStatsQuery
from mcp_server.telemetry import Severity, TimeWindow

DETECTOR = "arn:aws:logs:us-east-1:123456789012:anomaly-detector:scenario"


def exercise_every_method(loaded: LoadedScenario) -> None:
    """Call every backend method on every path (Insights and FilterLogEvents, a timed-out query,
    log groups found through Application Signals)."""
    backend = loaded.backend(log_group_template=None)
    window = loaded.window
    short = TimeWindow(start=window.end - timedelta(minutes=5), end=window.end)
    services = backend.list_services()
    backend.time_range()
    spans = backend.query_spans(SpanQuery(window=window, errors_only=True, limit=3))
    backend.get_trace(spans[0].trace_id)
    backend.count_spans(window)
    backend.span_stats(SpanStatsQuery(window=window))
    backend.error_origins(window)
    backend.service_edges(window)
    backend.query_logs(LogQuery(window=window, min_severity=Severity.ERROR, limit=5))  # Insights
    backend.query_logs(LogQuery(window=short, service=services[0], limit=5))  # FilterLogEvents
    backend.log_counts(window)
    backend.log_groups(window, services[0])
    metric = backend.list_metrics(services[0])[0]
    metric_namespace = loaded.config.metric_namespaces[0]
    backend.query_metrics(MetricQuery(name=metric.name, service=services[0], window=window))
    backend.list_changes(window)
    slos = backend.list_slo_definitions()
    backend.sli_buckets(slos[0], window)
    backend.slo_budget_reports()
    alarms = backend.list_alarms()
    backend.alarm_history(alarms[0].name, window)
    backend.operation_stats(window)
    group = backend.log_group_names(services[0])[0][0]
    loaded.platform.log_detectors = [
        {
            "anomalyDetectorArn": DETECTOR,
            "logGroupArnList": [f"arn:aws:logs:us-east-1:123456789012:log-group:{group}"],
        }
    ]
    loaded.platform.metric_detectors = [
        {
            "Namespace": metric_namespace,
            "MetricName": metric.name,
            "Dimensions": [{"Name": "Service", "Value": services[0]}],
            "Stat": "Average",
        }
    ]
    try:
        backend.platform_findings(window)
    finally:
        loaded.platform.log_detectors, loaded.platform.metric_detectors = [], []
    loaded.backend(application_signals=False).query_logs(LogQuery(window=window, limit=1))  # the template
    loaded.insights.never_finish = True
    try:
        with pytest.raises(AwsApiUnavailableError, match="timeout"):
            backend.log_counts(window, service=services[0])  # StopQuery
    finally:
        loaded.insights.never_finish = False


def test_the_policy_covers_exactly_the_calls_the_backend_makes(loaded: LoadedScenario) -> None:
    recorder = CallRecorder(loaded.clients.all(), IAM_PREFIXES)

    exercise_every_method(loaded)

    assert set(recorder.actions) == policy_actions()


def test_the_policy_only_reads() -> None:
    readers = ("Get", "List", "Describe", "BatchGet", "Filter", "Lookup", "StartQuery", "StopQuery")

    actions = policy_actions()

    assert actions and all(a.split(":", 1)[1].startswith(readers) for a in actions)
    assert POLICY_PATH.name == "sleuth-readonly-policy.json"
