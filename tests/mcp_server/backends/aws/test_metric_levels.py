"""One dimension level per metric question: Application Signals publishes Fault per service, per
operation and per dependency, and adding the levels counted every fault two or three times."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from mcp_server.backends.aws import AwsBackend, AwsBackendConfig
from mcp_server.backends.aws.testing.cloudwatch import FakeCloudWatchMetrics
from mcp_server.backends.aws.testing.responders import Responders
from mcp_server.backends.base import MetricQuery
from mcp_server.errors import QueryError
from mcp_server.telemetry import TimeWindow

from .helpers import clients

END = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)
WINDOW = TimeWindow(start=END - timedelta(minutes=5), end=END)
SERVICE = [{"Name": "Environment", "Value": "prod"}, {"Name": "Service", "Value": "payments"}]
OPERATION = [*SERVICE, {"Name": "Operation", "Value": "POST /pay"}]
DEPENDENCY = [
    *OPERATION,
    {"Name": "RemoteService", "Value": "ledger"},
    {"Name": "RemoteOperation", "Value": "Put"},
]


def backend_with(faults: dict[str, list[dict[str, str]]]) -> tuple[AwsBackend, Responders]:
    """Fault published at each named level, one fault a minute for five minutes."""
    aws = clients()
    metrics = FakeCloudWatchMetrics()
    for dims in faults.values():
        for minute in range(5):
            at = WINDOW.start + timedelta(minutes=minute)
            metrics.put(
                "ApplicationSignals",
                {"MetricName": "Fault", "Dimensions": dims, "Timestamp": at, "Value": 1.0},
            )
    cloudwatch = Responders(aws.cloudwatch)
    metrics.attach(cloudwatch)
    config = AwsBackendConfig(metric_namespaces=["ApplicationSignals"], max_attempts=1)
    return AwsBackend(aws, config, now=lambda: END), cloudwatch


def total(backend: AwsBackend, **query: object) -> float:
    series = backend.query_metrics(MetricQuery(name="Fault", window=WINDOW, period_seconds=300, **query))  # type: ignore[arg-type]
    return sum(p.value for s in series for p in s.points)


def test_faults_published_per_service_and_per_operation_are_counted_once() -> None:
    backend, cloudwatch = backend_with({"service": SERVICE, "operation": OPERATION})

    assert total(backend, service="payments", statistic="sum") == 5.0
    (_, request) = next(c for c in cloudwatch.calls if c[0] == "GetMetricData")
    (read,) = request["MetricDataQueries"]
    assert read["MetricStat"]["Metric"]["Dimensions"] == SERVICE
    assert any("other dimension set" in n.message for n in backend.notes)


def test_a_dependency_series_is_kept_apart_from_the_service_numbers() -> None:
    backend, _ = backend_with({"service": SERVICE, "operation": OPERATION, "dependency": DEPENDENCY})

    assert total(backend, service="payments", statistic="sum") == 5.0
    assert total(backend, service="payments", statistic="sum", group_by=["RemoteService"]) == 5.0


def test_grouping_by_operation_reads_the_operation_level_only() -> None:
    backend, _ = backend_with({"service": SERVICE, "operation": OPERATION, "dependency": DEPENDENCY})

    series = backend.query_metrics(
        MetricQuery(
            name="Fault",
            service="payments",
            window=WINDOW,
            period_seconds=300,
            statistic="sum",
            group_by=["Operation"],
        )
    )

    assert [(s.attributes, sum(p.value for p in s.points)) for s in series] == [
        ({"Operation": "POST /pay"}, 5.0)
    ]


def test_a_metric_published_only_per_dependency_is_an_error_naming_the_sets_not_a_service_number() -> None:
    backend, _ = backend_with({"dependency": DEPENDENCY})

    with pytest.raises(QueryError, match="Remote"):
        total(backend, service="payments", statistic="sum")


def test_bulk_buckets_read_one_level_per_metric_and_service() -> None:
    backend, _ = backend_with({"service": SERVICE, "operation": OPERATION, "dependency": DEPENDENCY})

    buckets = backend.metric_buckets(WINDOW, bucket_seconds=60, service="payments")

    # Fault is a counter: read as a rate, one fault a minute is 1/60 per second, not 2/60 or 3/60
    assert [round(b.value * 60, 6) for b in buckets] == [1.0] * 5


def test_list_metrics_asks_for_recently_active_metrics_and_a_metric_listed_twice_counts_once() -> None:
    backend, cloudwatch = backend_with({"service": SERVICE})
    metric = {"Namespace": "ApplicationSignals", "MetricName": "Fault", "Dimensions": SERVICE}
    cloudwatch.on("ListMetrics", lambda _p: {"Metrics": [metric, dict(metric)]})

    assert total(backend, service="payments", statistic="sum") == 5.0
    assert cloudwatch.calls[0][1]["RecentlyActive"] == "PT3H"
