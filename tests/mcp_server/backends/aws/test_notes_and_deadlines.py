"""Notes reach every answer; every call stops at its deadline and says precisely why; failing APIs
are remembered; Insights queries are paced."""

from __future__ import annotations

import itertools
import threading
from datetime import UTC, datetime, timedelta
from typing import Any

import anyio
import pytest

from agent.wiring import investigate_engine_only
from mcp_server.backends.aws import AwsBackend, AwsBackendConfig
from mcp_server.backends.aws.errors import AwsApiUnavailableError
from mcp_server.backends.aws.testing.clock import FakeClock
from mcp_server.backends.aws.testing.insights import FakeInsights
from mcp_server.backends.aws.testing.responders import AwsErrorResponse, Responders
from mcp_server.backends.base import LogQuery
from mcp_server.backends.deadline import deadline
from mcp_server.deps import ServerDeps, ServerLimits
from mcp_server.scenario import Trigger
from mcp_server.server import build_server
from mcp_server.telemetry import Severity, TimeWindow
from tests.mcp_server.tools.calls import call, data, text

from .helpers import END, clients, logs_backend

TEMPLATE = AwsBackendConfig(log_group_template="/ecs/{service}", metric_namespaces=["Shop"], max_attempts=1)
SIX_HOURS = TimeWindow(start=END - timedelta(hours=6), end=END)


def ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


def throttled(_params: dict[str, Any]) -> dict[str, Any]:
    raise AwsErrorResponse("ThrottlingException", "Rate exceeded", 400)


# ------------------------------------------------------------------------------------ notes


def test_a_tool_answer_says_the_window_was_cut_to_six_hours() -> None:
    now = datetime.now(UTC).replace(microsecond=0)
    fake = FakeInsights(running_polls=0)
    for hours in (20, 1):
        fake.add("/ecs/orders", ms(now - timedelta(hours=hours)), f"ERROR {hours}h ago")
    backend, _ = logs_backend(TEMPLATE, fake, ["/ecs/orders"], ["orders"], now=now)
    server = build_server(ServerDeps(backend=backend, clock="wall", knowledge=None))

    answer = data(anyio.run(lambda: call(server, "query_logs", start="-24h", min_severity="ERROR")))

    assert [r["body"] for r in answer["records"]] == ["ERROR 1h ago"]
    assert (
        "backend notes: logs: log window" in answer["message"] and "cut to its last 6h" in answer["message"]
    )


def test_an_investigation_notes_what_the_backend_could_not_read() -> None:
    fake = FakeInsights(running_polls=0)
    fake.add("/ecs/orders", ms(END - timedelta(minutes=5)), "ERROR card declined")
    backend, _ = logs_backend(TEMPLATE, fake, ["/ecs/orders"], ["orders", "billing"])

    result = investigate_engine_only(
        backend, trigger=Trigger(), window=TimeWindow(start=END - timedelta(hours=1), end=END)
    )

    assert any("/ecs/billing" in n and "does not exist" in n for n in result.notes), result.notes


# -------------------------------------------------------------------------------- deadlines


def test_persistent_throttling_stops_within_the_deadline_and_says_throttled() -> None:
    fake = FakeInsights(running_polls=0)
    clock = FakeClock()
    config = TEMPLATE.model_copy(
        # attempts enough that the deadline, not the attempt count, always ends it: the backoff is
        # jittered, and eight jittered sleeps can add up to under twenty seconds
        update={"max_attempts": 40, "retry_base_seconds": 0.5, "retry_max_seconds": 8}
    )
    backend, logs = logs_backend(config, fake, ["/ecs/orders"], ["orders"], clock=clock)
    logs.on("StartQuery", throttled)

    with deadline(20), pytest.raises(AwsApiUnavailableError) as caught:
        backend.log_counts(SIX_HOURS, 60, "orders")

    assert caught.value.reason == "throttled"
    assert "deadline" in str(caught.value) and "narrow" not in str(caught.value)
    assert sum(clock.sleeps) < 20 and len([c for c in logs.calls if c[0] == "StartQuery"]) < 40


def test_a_tool_over_a_throttled_api_answers_throttled_not_narrow_the_range() -> None:
    fake = FakeInsights(running_polls=0)
    config = TEMPLATE.model_copy(update={"max_attempts": 8})
    backend, logs = logs_backend(config, fake, ["/ecs/orders"], ["orders"], now=datetime.now(UTC))
    logs.on("StartQuery", throttled)
    server = build_server(
        ServerDeps(backend=backend, clock="wall", limits=ServerLimits(call_timeout_seconds=20.0))
    )

    result = anyio.run(lambda: call(server, "query_logs", service="orders", min_severity="ERROR"))

    assert result.is_error and "throttled" in text(result)
    assert "took longer than" not in text(result) and "narrow" not in text(result)


def test_a_query_still_running_at_the_deadline_is_stopped_and_no_further_chunk_starts() -> None:
    fake = FakeInsights()
    fake.never_finish = True
    fake.events["/ecs/orders"] = []
    backend, _ = logs_backend(TEMPLATE, fake, ["/ecs/orders"], ["orders"])

    with (
        deadline(5),
        pytest.raises(AwsApiUnavailableError, match="still running at the 5s deadline") as caught,
    ):
        backend.query_logs(LogQuery(window=SIX_HOURS, min_severity=Severity.ERROR, order="desc"))

    assert caught.value.reason == "timeout"
    assert len(fake.started) == 1 and fake.stopped == ["q-1"]


def test_a_search_that_runs_out_of_time_returns_what_it_found_and_says_how_far_it_got() -> None:
    fake = FakeInsights(running_polls=0)
    fake.add("/ecs/orders", ms(END - timedelta(minutes=10)), "ERROR recent")
    backend, logs = logs_backend(TEMPLATE, fake, ["/ecs/orders"], ["orders"])
    logs.on(
        "GetQueryResults",
        lambda p: fake._results(p) if p["queryId"] == "q-1" else {"status": "Running", "results": []},
    )

    with deadline(5):
        found = backend.query_logs(
            LogQuery(window=SIX_HOURS, min_severity=Severity.ERROR, order="desc", limit=10)
        )

    assert [r.body for r in found] == ["ERROR recent"]
    assert any("timed out after 1 of 6 chunks" in n.message for n in backend.notes)
    assert len(fake.started) == 2 and fake.stopped == ["q-2"]


def test_a_denied_api_is_not_asked_again_until_its_failure_is_forgotten() -> None:
    aws = clients()
    clock = FakeClock()

    def denied(_params: dict[str, Any]) -> dict[str, Any]:
        raise AwsErrorResponse("AccessDeniedException", "not authorized to perform cloudwatch:DescribeAlarms")

    cloudwatch = Responders(aws.cloudwatch).on("DescribeAlarms", denied)
    backend = AwsBackend(
        aws, AwsBackendConfig(failure_memory_seconds=120), now=lambda: END, clock=clock, sleep=clock.sleep
    )

    with pytest.raises(AwsApiUnavailableError, match="denied"):
        backend.list_alarms()
    with pytest.raises(AwsApiUnavailableError, match="not asked again"):
        backend.list_alarms()
    asked = len(cloudwatch.calls)
    clock.now += 121
    with pytest.raises(AwsApiUnavailableError, match="denied"):
        backend.list_alarms()

    assert asked == 1 and len(cloudwatch.calls) == 2


# ---------------------------------------------------------------------------------- pacing


def test_insights_starts_are_spaced_to_the_configured_share_of_the_account_rate() -> None:
    fake = FakeInsights(running_polls=0)
    fake.events["/ecs/orders"] = []
    clock = FakeClock()
    config = TEMPLATE.model_copy(update={"insights_account_start_rate": 4.0, "insights_account_share": 0.5})
    backend, logs = logs_backend(config, fake, ["/ecs/orders"], ["orders"], clock=clock)
    started_at: list[float] = []
    logs.on("StartQuery", lambda p: (started_at.append(clock.now), fake._start(p))[1])

    backend.query_logs(LogQuery(window=SIX_HOURS, min_severity=Severity.ERROR))

    assert len(started_at) == 6
    assert all(b - a >= 0.5 for a, b in itertools.pairwise(started_at))


def test_no_more_insights_queries_run_at_once_than_the_share_allows() -> None:
    fake = FakeInsights(running_polls=2)
    fake.events["/ecs/orders"] = []
    config = TEMPLATE.model_copy(
        update={
            "insights_account_concurrency": 2,
            "insights_account_share": 0.5,
            "insights_poll_seconds": 0.001,
        }
    )
    backend, _ = logs_backend(config, fake, ["/ecs/orders"], ["orders"])
    failures: list[BaseException] = []

    def search() -> None:
        try:
            backend.query_logs(LogQuery(window=SIX_HOURS, min_severity=Severity.ERROR))
        except BaseException as exc:  # collected for the assertion below
            failures.append(exc)

    threads = [threading.Thread(target=search) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    assert not failures and len(fake.started) == 18
    assert fake.most_running == 1 and backend.pacer.most_running == 1
