"""CloudWatch Logs: Insights polling, cost caps and splitting, FilterLogEvents and message parsing."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from botocore.stub import Stubber
from moto import mock_aws

from mcp_server.backends.aws.calls import ApiCaller
from mcp_server.backends.aws.config import AwsBackendConfig
from mcp_server.backends.aws.errors import AwsApiUnavailableError
from mcp_server.backends.aws.insights import InsightsRunner, search_query
from mcp_server.backends.aws.log_events import parse_event
from mcp_server.backends.aws.logs import LogReader
from mcp_server.backends.aws.testing.clock import FakeClock
from mcp_server.backends.aws.testing.insights import FakeInsights
from mcp_server.backends.aws.testing.responders import Responders
from mcp_server.backends.aws.testing.scenario_loader import moto_logs_clock
from mcp_server.backends.base import LogQuery
from mcp_server.telemetry import Severity, TimeWindow

from .conftest import client
from .helpers import caller, pacer

END = datetime(2026, 3, 10, 18, 0, tzinfo=UTC)


def window(hours: float) -> TimeWindow:
    return TimeWindow(start=END - timedelta(hours=hours), end=END)


def json_line(body: str, severity: str = "ERROR", number: int = 17, trace_id: str | None = None) -> str:
    data = {
        "body": body,
        "severity_number": number,
        "severity_text": severity,
        "resource": {"service.name": "orders"},
    }
    if trace_id:
        data["trace_id"] = trace_id
    return json.dumps(data)


def reader(logs: object, calls: ApiCaller) -> LogReader:
    return LogReader(
        logs,
        calls,
        lambda service: [("/ecs/orders", "orders"), ("/ecs/billing", "billing")][: 1 if service else 2],
        now=lambda: END,
    )


def runner(logs: object, config: AwsBackendConfig, clock: FakeClock) -> InsightsRunner:
    calls = caller(config, clock)
    return InsightsRunner(logs, calls, pacer(calls))


def test_insights_results_are_polled_until_complete_without_real_sleeps() -> None:
    logs = client("logs")
    clock = FakeClock()
    insights = runner(logs, AwsBackendConfig(insights_poll_seconds=2), clock)
    row = [
        {"field": "@timestamp", "value": "2026-03-10 17:59:00.000"},
        {"field": "@message", "value": "boom"},
    ]
    with Stubber(logs) as stub:
        stub.add_response("start_query", {"queryId": "q1"}, None)
        stub.add_response("get_query_results", {"status": "Scheduled", "results": []}, {"queryId": "q1"})
        stub.add_response("get_query_results", {"status": "Running", "results": []}, {"queryId": "q1"})
        stub.add_response("get_query_results", {"status": "Complete", "results": [row]}, {"queryId": "q1"})
        rows = insights.run("fields @timestamp, @message", ["/ecs/orders"], window(1), 100)

    assert rows == [{"@timestamp": "2026-03-10 17:59:00.000", "@message": "boom"}]
    assert clock.sleeps == [2.0, 2.0]


def test_a_query_that_outlives_its_timeout_is_stopped_and_reported() -> None:
    logs = client("logs")
    clock = FakeClock()
    insights = runner(logs, AwsBackendConfig(insights_timeout_seconds=3, insights_poll_seconds=1), clock)
    with Stubber(logs) as stub:
        stub.add_response("start_query", {"queryId": "q1"}, None)
        for _ in range(4):
            stub.add_response("get_query_results", {"status": "Running", "results": []}, {"queryId": "q1"})
        stub.add_response("stop_query", {"success": True}, {"queryId": "q1"})
        with pytest.raises(
            AwsApiUnavailableError, match="did not finish within its 3s timeout and was stopped"
        ):
            insights.run("fields @message", ["/ecs/orders"], window(1), 100)
        stub.assert_no_pending_responses()


def test_a_failed_query_is_reported_as_unavailable() -> None:
    logs = client("logs")
    clock = FakeClock()
    insights = runner(logs, AwsBackendConfig(), clock)
    with Stubber(logs) as stub:
        stub.add_response("start_query", {"queryId": "q1"}, None)
        stub.add_response("get_query_results", {"status": "Failed", "results": []}, {"queryId": "q1"})
        with pytest.raises(AwsApiUnavailableError, match="ended Failed"):
            insights.run("fields @message", ["/ecs/orders"], window(1), 100)


def test_wide_windows_are_capped_split_into_chunks_and_the_cut_is_noted() -> None:
    logs = client("logs")
    fake = FakeInsights(running_polls=0)
    for group in ("/ecs/orders", "/ecs/billing"):
        fake.add(group, int((END - timedelta(minutes=30)).timestamp() * 1000), json_line("disk full"))
    fake.attach(Responders(logs))
    calls = caller(
        AwsBackendConfig(
            insights_max_window_seconds=3 * 3600, insights_chunk_seconds=3600, insights_max_log_groups=1
        )
    )
    notes = calls.notes

    found = reader(logs, calls).query(LogQuery(window=window(12), min_severity=Severity.ERROR, limit=10))

    assert [r.body for r in found] == ["disk full"]
    assert [(q["startTime"], q["logGroupNames"]) for q in fake.started] == [
        (int((END - timedelta(hours=h)).timestamp()), ["/ecs/orders"]) for h in (3, 2, 1)
    ]
    messages = " ".join(n.message for n in notes.all())
    assert "cut to its last 3h" in messages and "read 1 of 2 log groups" in messages


def test_a_newest_first_search_stops_at_the_first_chunk_that_fills_the_limit() -> None:
    logs = client("logs")
    fake = FakeInsights(running_polls=0)
    for minutes in (5, 10, 100):
        fake.add(
            "/ecs/orders",
            int((END - timedelta(minutes=minutes)).timestamp() * 1000),
            json_line(f"fail {minutes}"),
        )
    fake.events["/ecs/billing"] = []
    fake.attach(Responders(logs))

    found = reader(logs, caller()).query(LogQuery(window=window(3), text="FAIL", order="desc", limit=2))

    assert [r.body for r in found] == ["fail 5", "fail 10"]
    assert len(fake.started) == 1
    assert "filter @message like /(?i)FAIL/" in fake.started[0]["queryString"]


def test_insights_queries_pre_filter_text_regex_trace_and_severity() -> None:
    query = LogQuery(
        text="a/b", regex="timeout \\d+", trace_id="ABC123", min_severity=Severity.WARN, order="desc", limit=5
    )

    text = search_query(query, 5)

    assert text.startswith("fields @timestamp, @message, @log, @ptr | filter @message like /(?i)a\\/b/")
    assert "filter @message like /timeout \\d+/" in text and "filter @message like /abc123/" in text
    assert (
        "severity_number >= 13 or @message like /(?i)\\b(WARN|WARNING|ERROR|ERR|FATAL|CRITICAL|CRIT|PANIC)\\b/"
        in text
    )
    assert text.endswith("sort @timestamp desc | limit 5")


@mock_aws
def test_short_plain_reads_use_filter_log_events_and_parse_both_message_shapes() -> None:
    logs = client("logs")
    logs.create_log_group(logGroupName="/ecs/orders")  # type: ignore[attr-defined]
    logs.create_log_stream(logGroupName="/ecs/orders", logStreamName="task-1")  # type: ignore[attr-defined]
    base = int((END - timedelta(minutes=4)).timestamp() * 1000)
    with moto_logs_clock(END):  # moto refuses events older than 14 days
        logs.put_log_events(  # type: ignore[attr-defined]
            logGroupName="/ecs/orders",
            logStreamName="task-1",
            logEvents=[
                {"timestamp": base, "message": "2026-03-10 17:56:00 WARN pool nearly exhausted (48/50)"},
                {
                    "timestamp": base + 1,
                    "message": json_line("Payment FAILED", trace_id="ABCDEF0123456789ABCDEF0123456789"),
                },
                {"timestamp": base + 2, "message": json_line("all good", "INFO", 9)},
            ],
        )
    calls = caller()
    notes = calls.notes
    logs_reader = reader(logs, calls)

    found = logs_reader.query(
        LogQuery(window=TimeWindow(start=END - timedelta(minutes=10), end=END), service="orders", text="fail")
    )
    everything = logs_reader.query(
        LogQuery(window=TimeWindow(start=END - timedelta(minutes=10), end=END), service="orders")
    )

    assert [(r.body, r.severity, r.trace_id) for r in found] == [
        ("Payment FAILED", Severity.ERROR, "abcdef0123456789abcdef0123456789")
    ]
    assert [r.severity for r in everything] == [Severity.WARN, Severity.ERROR, Severity.INFO]
    assert not notes.all()


def test_plain_text_messages_take_their_severity_from_a_level_word() -> None:
    record = parse_event("E0310 17:59:00 [error] upstream timed out", 1_773_165_540_000, "nginx")

    assert (record.severity, record.service, record.time_unix_nano) == (
        Severity.ERROR,
        "nginx",
        1_773_165_540_000_000_000,
    )
    assert parse_event("just words", 0, "x").severity == Severity.UNSPECIFIED


def test_log_counts_come_from_an_insights_stats_query_per_bucket_and_severity() -> None:
    logs = client("logs")
    fake = FakeInsights()
    at = int((END - timedelta(minutes=3)).timestamp() * 1000)
    for offset, (severity, number) in enumerate([("ERROR", 17), ("ERROR", 17), ("INFO", 9)]):
        fake.add("/ecs/orders", at + offset, json_line("x", severity, number))
    fake.events["/ecs/billing"] = []
    fake.attach(Responders(logs))

    counts = reader(logs, caller()).counts(window(1), 60, None)

    assert [(b.service, b.severity, b.count) for b in counts] == [
        ("orders", Severity.INFO, 1),
        ("orders", Severity.ERROR, 2),
    ]
    assert "stats count(*) as n by bin(60s)" in fake.started[0]["queryString"]
