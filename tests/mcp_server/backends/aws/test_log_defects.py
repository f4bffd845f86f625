"""Logs read right: through the template everywhere, representatively, with level words counted,
escaped, once per event, and with malformed answers reported as errors."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from mcp_server.analysis import engine
from mcp_server.backends.aws import AwsBackendConfig
from mcp_server.backends.aws.testing.insights import FakeInsights
from mcp_server.backends.aws.testing.insights_query import split_commands
from mcp_server.backends.aws.testing.responders import AwsErrorResponse
from mcp_server.backends.base import LogQuery
from mcp_server.errors import QueryError
from mcp_server.scenario import Trigger
from mcp_server.telemetry import Severity, TimeWindow

from .helpers import logs_backend

END = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)
HOUR = TimeWindow(start=END - timedelta(hours=1), end=END)
TEMPLATE = AwsBackendConfig(log_group_template="/ecs/{service}", metric_namespaces=["Shop"], max_attempts=1)


def ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


def json_line(body: str, severity: str, number: int) -> str:
    return json.dumps({"body": body, "severity_number": number, "severity_text": severity})


# --------------------------------------------------------------------------------- template


def test_a_service_less_read_expands_the_template_over_every_known_service() -> None:
    fake = FakeInsights(running_polls=0)
    fake.add("/ecs/orders", ms(END - timedelta(minutes=5)), json_line("card declined", "ERROR", 17))
    fake.add("/ecs/billing", ms(END - timedelta(minutes=4)), json_line("ledger locked", "ERROR", 17))
    backend, _ = logs_backend(TEMPLATE, fake, ["/ecs/orders", "/ecs/billing"], ["orders", "billing"])

    found = backend.query_logs(LogQuery(window=HOUR, min_severity=Severity.ERROR))
    groups = backend.log_groups(HOUR)

    assert [(r.service, r.body) for r in found] == [("orders", "card declined"), ("billing", "ledger locked")]
    assert {(g.service, g.pattern) for g in groups} == {
        ("orders", "card declined"),
        ("billing", "ledger locked"),
    }


def test_a_template_group_that_does_not_exist_is_skipped_with_a_note() -> None:
    fake = FakeInsights(running_polls=0)
    fake.add("/ecs/orders", ms(END - timedelta(minutes=5)), json_line("card declined", "ERROR", 17))
    backend, _ = logs_backend(TEMPLATE, fake, ["/ecs/orders"], ["orders", "billing"])

    found = backend.query_logs(LogQuery(window=HOUR, min_severity=Severity.ERROR))

    assert [r.service for r in found] == ["orders"]
    assert any("/ecs/billing" in n.message and "does not exist" in n.message for n in backend.notes)


def test_logs_that_cannot_be_read_make_the_logs_step_degraded_not_quiet() -> None:
    fake = FakeInsights(running_polls=0)
    backend, logs = logs_backend(TEMPLATE, fake, ["/ecs/orders"], ["orders"])

    def throttled(_params: dict[str, Any]) -> dict[str, Any]:
        raise AwsErrorResponse("ThrottlingException", "Rate exceeded", 400)

    logs.on("StartQuery", throttled)
    scope = engine.scope(backend, window=HOUR, trigger=Trigger())

    step = engine.gather_logs(backend, scope)

    assert any("degraded" in n and "throttled" in n for n in step.notes), step.notes


# --------------------------------------------------------------------------- representative


def busy_hour(fake: FakeInsights) -> None:
    """20 INFO lines a second all hour; from 11:45 an ERROR line a second as well."""
    for second in range(3600):
        at = HOUR.start + timedelta(seconds=second)
        for i in range(20):
            fake.add("/ecs/orders", ms(at) + i, json_line(f"request {second * 20 + i} served", "INFO", 9))
        if at >= END - timedelta(minutes=15):
            fake.add(
                "/ecs/orders", ms(at) + 500, json_line(f"gateway timeout after {second} ms", "ERROR", 17)
            )


@pytest.mark.parametrize("pattern_command", [True, False], ids=["insights-pattern", "spread-samples"])
def test_log_groups_count_the_whole_window_and_time_the_late_onset(pattern_command: bool) -> None:
    fake = FakeInsights(running_polls=0)
    busy_hour(fake)
    if not pattern_command:
        fake.unsupported.add("pattern")  # an Infrequent Access log group
    backend, _ = logs_backend(TEMPLATE, fake, ["/ecs/orders"], ["orders"])

    groups = {g.severity: g for g in backend.log_groups(HOUR, "orders")}

    error = groups[Severity.ERROR]
    assert error.pattern == "gateway timeout after <*> ms"
    assert error.count == 900 and error.first_seen == END - timedelta(minutes=15, seconds=-0.5)
    assert groups[Severity.INFO].count == 72_000
    assert len(fake.started) == (2 if pattern_command else 1)  # samples, and pattern where supported


# -------------------------------------------------------------------------------- level words


def test_plain_text_level_words_are_counted_as_their_severity() -> None:
    fake = FakeInsights(running_polls=0)
    at = ms(END - timedelta(minutes=3))
    for i, line in enumerate(
        ["2026-03-10 11:57:00 ERROR db down", "E0310 [error] db down", "WARN slow", "hello"]
    ):
        fake.add("/ecs/orders", at + i, line)
    backend, _ = logs_backend(TEMPLATE, fake, ["/ecs/orders"], ["orders"])

    counts = {b.severity: b.count for b in backend.log_counts(HOUR, 3600, "orders")}

    assert counts == {Severity.ERROR: 2, Severity.WARN: 1, Severity.UNSPECIFIED: 1}


# ---------------------------------------------------------------------------------- escaping

HOSTILE_REGEXES = [
    r"a\/b",
    "a/b",
    r"x\/ | stats count() as n by @logStream #",
    r"/ | stats count\(\*\) as n by @log",
    r"timeout \d+ ms",
    r"\\/",
    "(?i)error|fatal",
    r"[/|#]",
    "a\nb",
    "\"quoted\" and 'single'",
]


@pytest.mark.parametrize("regex", HOSTILE_REGEXES)
def test_a_regex_stays_inside_its_literal_whatever_it_holds(regex: str) -> None:
    from mcp_server.backends.aws.insights import search_query

    commands = split_commands(search_query(LogQuery(window=HOUR, regex=regex, limit=5), 5))

    assert [c.split(" ", 1)[0] for c in commands] == ["fields", "filter", "sort", "limit"]
    literal = commands[1].removeprefix("filter @message like ")
    decoded = re.compile(literal[1:-1].replace("\\/", "/"))
    for sample in ("a/b", "x/ | stats count() as n by @logStream #", "timeout 30 ms", "\\/", "ERROR", "a\nb"):
        assert bool(decoded.search(sample)) == bool(re.search(regex, sample)), sample


def test_a_regex_with_an_escaped_slash_finds_its_lines() -> None:
    fake = FakeInsights(running_polls=0)
    fake.add("/ecs/orders", ms(END - timedelta(minutes=30)), "GET /a/b failed")
    fake.add("/ecs/orders", ms(END - timedelta(minutes=29)), "GET /a/c failed")
    backend, _ = logs_backend(TEMPLATE, fake, ["/ecs/orders"], ["orders"])

    found = backend.query_logs(LogQuery(window=HOUR, service="orders", regex=r"a\/b"))

    assert [r.body for r in found] == ["GET /a/b failed"]


@pytest.mark.parametrize("service", ['a" OR service("b', "../etc", "x y", "{service}", "naïve", "a|b", "*"])
def test_a_hostile_service_name_reads_nothing_and_breaks_nothing(service: str) -> None:
    fake = FakeInsights(running_polls=0)
    fake.events["/ecs/orders"] = []
    backend, logs = logs_backend(TEMPLATE, fake, ["/ecs/orders"], ["orders", service])

    found = backend.query_logs(LogQuery(window=HOUR, service=service))
    everything = backend.query_logs(LogQuery(window=HOUR, min_severity=Severity.ERROR))

    assert found == [] and everything == []
    assert all(g == ["/ecs/orders"] for g in (q["logGroupNames"] for q in fake.started))
    assert not [c for c in logs.calls if c[0] == "DescribeLogGroups" and service in str(c[1])]


# ------------------------------------------------------------------------------ chunk edges


def test_an_event_in_the_second_two_chunks_share_is_returned_once() -> None:
    fake = FakeInsights(running_polls=0)
    edge = datetime(2026, 3, 10, 11, 0, 0, 700_000, tzinfo=UTC)
    fake.add("/ecs/orders", ms(edge), "ERROR at the edge")
    config = TEMPLATE.model_copy(update={"insights_chunk_seconds": 3600})
    backend, _ = logs_backend(config, fake, ["/ecs/orders"], ["orders"])
    window = TimeWindow(
        start=datetime(2026, 3, 10, 10, 0, 0, 500_000, tzinfo=UTC), end=edge + timedelta(hours=1)
    )

    found = backend.query_logs(
        LogQuery(window=window, service="orders", min_severity=Severity.ERROR, limit=50)
    )
    counts = backend.log_counts(window, 60, "orders")

    assert [r.body for r in found] == ["ERROR at the edge"]
    assert sum(b.count for b in counts) == 1


# ---------------------------------------------------------------------------- malformed rows


@pytest.mark.parametrize(
    "row",
    [
        [{"field": "@message", "value": "no time"}],
        [{"field": "@timestamp", "value": "yesterday"}, {"field": "@message", "value": "x"}],
        [{"value": "no field name"}],
    ],
    ids=["missing-timestamp", "bad-timestamp", "nameless-field"],
)
def test_a_malformed_insights_row_is_a_query_error(row: list[dict[str, str]]) -> None:
    fake = FakeInsights(running_polls=0)
    backend, logs = logs_backend(TEMPLATE, fake, ["/ecs/orders"], ["orders"])
    logs.on("StartQuery", lambda _p: {"queryId": "q1"})
    logs.on("GetQueryResults", lambda _p: {"status": "Complete", "results": [row]})

    with pytest.raises(QueryError, match="Logs Insights returned"):
        backend.query_logs(LogQuery(window=HOUR, service="orders", min_severity=Severity.ERROR))


def test_a_count_row_whose_count_is_not_a_number_is_a_query_error() -> None:
    fake = FakeInsights(running_polls=0)
    backend, logs = logs_backend(TEMPLATE, fake, ["/ecs/orders"], ["orders"])
    row = [{"field": "bin(60s)", "value": "2026-03-10 11:00:00.000"}, {"field": "n", "value": "many"}]
    logs.on("StartQuery", lambda _p: {"queryId": "q1"})
    logs.on("GetQueryResults", lambda _p: {"status": "Complete", "results": [row]})

    with pytest.raises(QueryError, match="not a number"):
        backend.log_counts(HOUR, 60, "orders")
