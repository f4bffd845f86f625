"""Simulated alarm histories: evaluated as CloudWatch does, inside the exported window."""

from __future__ import annotations

from datetime import UTC, datetime

from evals.simulator.alarms import AlarmSpec, evaluate_alarm
from mcp_server.telemetry import AlarmState

START = datetime(2026, 3, 24, 16, 0, tzinfo=UTC)
START_NS = int(START.timestamp()) * 1_000_000_000


def spec(periods: int = 1) -> AlarmSpec:
    return AlarmSpec(
        name="frontend-p99-latency",
        service="frontend",
        metric="http.server.request.duration.p99",
        statistic="max",
        comparison=">",
        threshold=1000.0,
        evaluation_periods=periods,
        description="p99 latency",
        dimensions={"service": "frontend"},
    )


def test_a_breach_in_the_window_s_last_minute_is_not_a_transition_after_the_window() -> None:
    values = {minute: [200.0] for minute in range(19)} | {19: [2000.0]}

    alarm = evaluate_alarm(spec(), values, START_NS, periods=20)

    assert all(h.new_state != AlarmState.ALARM for h in alarm.history)
    assert all(h.time <= datetime(2026, 3, 24, 16, 20, tzinfo=UTC) for h in alarm.history)


def test_a_breach_before_the_last_minute_fires_20_seconds_after_its_period_closes() -> None:
    values = {minute: [200.0] for minute in range(15)} | {m: [2000.0] for m in range(15, 20)}

    alarm = evaluate_alarm(spec(periods=3), values, START_NS, periods=20)

    fired = [h.time for h in alarm.history if h.new_state == AlarmState.ALARM]
    assert fired == [datetime(2026, 3, 24, 16, 18, 20, tzinfo=UTC)]
    assert alarm.state == AlarmState.ALARM
