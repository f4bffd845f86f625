"""CloudWatch metrics (moto where faithful, responders for metric math) and alarms."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from botocore.stub import Stubber
from moto import mock_aws

from mcp_server.backends.aws import AwsBackend
from mcp_server.backends.aws.alarms import AlarmReader
from mcp_server.backends.aws.config import AwsBackendConfig
from mcp_server.backends.aws.metrics import MetricReader
from mcp_server.backends.aws.testing.responders import Responders
from mcp_server.backends.base import MetricQuery
from mcp_server.errors import UnknownMetricError
from mcp_server.telemetry import AlarmState, TimeWindow

from .conftest import client
from .helpers import caller, clients
from .test_slos_and_changes import AVAILABILITY_SLO  # Application Signals' cart-availability

START = datetime(2026, 3, 10, 15, 0, tzinfo=UTC)
WINDOW = TimeWindow(start=START, end=START + timedelta(minutes=3))
CONFIG = AwsBackendConfig(metric_namespaces=["Shop"])


def put(cloudwatch: object, name: str, service: str, values: list[float], **dims: str) -> None:
    dimensions = [{"Name": "Service", "Value": service}] + [{"Name": k, "Value": v} for k, v in dims.items()]
    cloudwatch.put_metric_data(  # type: ignore[attr-defined]
        Namespace="Shop",
        MetricData=[
            {
                "MetricName": name,
                "Dimensions": dimensions,
                "Timestamp": START + timedelta(seconds=30 * i),
                "Value": v,
            }
            for i, v in enumerate(values)
        ],
    )


@mock_aws
def test_one_series_is_read_with_a_cloudwatch_statistic_per_period() -> None:
    cloudwatch = client("cloudwatch")
    put(cloudwatch, "latency", "orders", [10, 20, 30, 50, 70, 90])
    reader = MetricReader(cloudwatch, caller(CONFIG), lambda: WINDOW.end)

    (average,) = reader.query(MetricQuery(name="latency", service="orders", window=WINDOW, statistic="avg"))
    (count,) = reader.query(MetricQuery(name="latency", service="orders", window=WINDOW, statistic="count"))

    assert [(p.time, p.value) for p in average.points] == [
        (START, 15.0),
        (START + timedelta(minutes=1), 40.0),
        (START + timedelta(minutes=2), 80.0),
    ]
    assert [p.value for p in count.points] == [2.0, 2.0, 2.0]
    assert average.service == "orders" and average.statistic == "avg"


@mock_aws
def test_metrics_are_listed_per_service_with_their_dimensions_as_attribute_keys() -> None:
    cloudwatch = client("cloudwatch")
    put(cloudwatch, "latency", "orders", [1], Operation="GET /orders")
    put(cloudwatch, "latency", "orders", [1], Operation="POST /orders")
    put(cloudwatch, "cpu", "billing", [1])
    reader = MetricReader(cloudwatch, caller(CONFIG), lambda: WINDOW.end)

    listed = [(m.service, m.name, m.attribute_keys) for m in reader.list_metrics()]

    assert listed == [("billing", "cpu", []), ("orders", "latency", ["Operation"])]
    assert reader.services() == {"billing", "orders"}


@mock_aws
def test_an_unknown_metric_names_the_metrics_that_exist() -> None:
    cloudwatch = client("cloudwatch")
    put(cloudwatch, "cpu", "billing", [1])
    reader = MetricReader(cloudwatch, caller(CONFIG), lambda: WINDOW.end)

    with pytest.raises(UnknownMetricError, match="known metrics: cpu"):
        reader.query(MetricQuery(name="memory", service="billing", window=WINDOW))


def test_several_series_in_one_group_are_combined_with_metric_math_on_cloudwatch() -> None:
    cloudwatch = client("cloudwatch")
    metrics = [
        {
            "Namespace": "Shop",
            "MetricName": "latency",
            "Dimensions": [{"Name": "Service", "Value": "orders"}, {"Name": "Operation", "Value": op}],
        }
        for op in ("GET /orders", "POST /orders")
    ]
    responders = Responders(cloudwatch)
    responders.on("ListMetrics", lambda _params: {"Metrics": metrics})
    responders.on(
        "GetMetricData",
        lambda _params: {
            "MetricDataResults": [
                {
                    "Id": "g0",
                    "Label": "latency",
                    "Timestamps": [START],
                    "Values": [42.0],
                    "StatusCode": "Complete",
                }
            ]
        },
    )
    reader = MetricReader(cloudwatch, caller(CONFIG), lambda: WINDOW.end)

    (series,) = reader.query(MetricQuery(name="latency", service="orders", window=WINDOW, statistic="avg"))
    reader.query(
        MetricQuery(name="latency", service="orders", window=WINDOW, statistic="rate", period_seconds=300)
    )
    _, average_call = responders.calls[1]
    _, rate_call = responders.calls[-1]
    rate_queries = rate_call["MetricDataQueries"]

    queries = average_call["MetricDataQueries"]
    assert [q.get("MetricStat", {}).get("Stat") for q in queries[:4]] == [
        "Sum",
        "Sum",
        "SampleCount",
        "SampleCount",
    ]
    assert not any(q["ReturnData"] for q in queries[:4])
    assert queries[4] == {
        "Id": "g0",
        "Expression": "SUM([g0s0, g0s1]) / SUM([g0c0, g0c1])",
        "Label": "latency",
        "ReturnData": True,
    }
    assert rate_queries[-1]["Expression"] == "SUM([g0m0, g0m1]) / PERIOD(g0m0)"
    assert rate_queries[0]["MetricStat"]["Period"] == 300
    assert series.points[0].value == 42.0


def test_percentiles_are_asked_for_as_extended_statistics() -> None:
    cloudwatch = client("cloudwatch")
    metric = {
        "Namespace": "Shop",
        "MetricName": "latency",
        "Dimensions": [{"Name": "Service", "Value": "orders"}],
    }
    responders = Responders(cloudwatch)
    responders.on("ListMetrics", lambda _params: {"Metrics": [metric]})
    responders.on("GetMetricData", lambda _params: {"MetricDataResults": []})

    MetricReader(cloudwatch, caller(CONFIG), lambda: WINDOW.end).query(
        MetricQuery(name="latency", window=WINDOW, statistic="p99")
    )

    assert responders.calls[-1][1]["MetricDataQueries"][0]["MetricStat"]["Stat"] == "p99"


@mock_aws
def test_alarms_are_read_with_state_threshold_and_service() -> None:
    cloudwatch = client("cloudwatch")
    cloudwatch.put_metric_alarm(  # type: ignore[attr-defined]
        AlarmName="orders-latency-high",
        AlarmDescription="p99 over 800 ms",
        Namespace="Shop",
        MetricName="latency",
        Dimensions=[{"Name": "Service", "Value": "orders"}, {"Name": "Operation", "Value": "GET /orders"}],
        Statistic="Average",
        ComparisonOperator="GreaterThanOrEqualToThreshold",
        Threshold=800.0,
        Period=60,
        EvaluationPeriods=3,
    )
    cloudwatch.set_alarm_state(
        AlarmName="orders-latency-high", StateValue="ALARM", StateReason="3 datapoints breaching"
    )  # type: ignore[attr-defined]
    reader = AlarmReader(cloudwatch, caller(CONFIG))

    (alarm,) = reader.describe(AlarmState.ALARM)

    assert (alarm.name, alarm.service, alarm.metric, alarm.statistic, alarm.comparison) == (
        "orders-latency-high",
        "orders",
        "latency",
        "avg",
        ">=",
    )
    assert (alarm.threshold, alarm.evaluation_periods, alarm.dimensions) == (
        800.0,
        3,
        {"Operation": "GET /orders"},
    )
    assert (alarm.state, alarm.state_reason) == (AlarmState.ALARM, "3 datapoints breaching")


def test_alarm_history_items_become_transitions() -> None:
    cloudwatch = client("cloudwatch")
    item = {
        "AlarmName": "orders-latency-high",
        "AlarmType": "MetricAlarm",
        "Timestamp": START,
        "HistoryItemType": "StateUpdate",
        "HistorySummary": "Alarm updated from OK to ALARM",
        "HistoryData": json.dumps(
            {
                "version": "1.0",
                "oldState": {"stateValue": "OK", "stateReason": "fine"},
                "newState": {"stateValue": "ALARM", "stateReason": "Threshold Crossed: 3 datapoints"},
            }
        ),
    }
    malformed = {**item, "HistoryData": "not json"}
    with Stubber(cloudwatch) as stub:
        stub.add_response("describe_alarm_history", {"AlarmHistoryItems": [item, malformed]}, None)
        (transition,) = AlarmReader(cloudwatch, caller(CONFIG)).history("orders-latency-high")

    assert (transition.time, transition.old_state, transition.new_state) == (
        START,
        AlarmState.OK,
        AlarmState.ALARM,
    )
    assert transition.reason == "Threshold Crossed: 3 datapoints"


BURN_ALARM = {
    "AlarmName": "cart-availability-fast-burn",
    "Namespace": "AWS/ApplicationSignals",
    "MetricName": "BurnRate",
    "Dimensions": [
        {"Name": "SloName", "Value": "cart-availability"},
        {"Name": "BurnRateWindowMinutes", "Value": "5"},
    ],
    "Statistic": "Maximum",
    "ComparisonOperator": "GreaterThanThreshold",
    "Threshold": 6.0,
    "Period": 60,
    "EvaluationPeriods": 1,
    "StateValue": "ALARM",
    "StateUpdatedTimestamp": START,
}


@mock_aws
def test_an_application_signals_burn_rate_alarm_names_its_slo_and_the_slos_service() -> None:
    aws = clients()
    Responders(aws.cloudwatch).on("DescribeAlarms", lambda _p: {"MetricAlarms": [BURN_ALARM]}).on(
        "DescribeAlarmHistory", lambda _p: {"AlarmHistoryItems": []}
    )
    signals = Responders(aws.application_signals)
    signals.on(
        "ListServiceLevelObjectives",
        lambda _p: {"SloSummaries": [{"Arn": AVAILABILITY_SLO["Arn"], "Name": "cart-availability"}]},
    )
    signals.on("GetServiceLevelObjective", lambda _p: {"Slo": AVAILABILITY_SLO})
    backend = AwsBackend(aws, CONFIG, now=lambda: START + timedelta(minutes=5))

    (alarm,) = backend.list_alarms()

    assert (alarm.slo, alarm.service, alarm.threshold) == ("cart-availability", "cart", 6.0)
