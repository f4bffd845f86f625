"""Counter points put back on the minutes they counted."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from agent.report.counter_periods import counted_period, spread_counts
from mcp_server.telemetry import TimeWindow

T0 = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
WINDOW = TimeWindow(start=T0, end=T0 + timedelta(minutes=15))


def _at(minute: int) -> datetime:
    return T0 + timedelta(minutes=minute)


def test_five_minute_points_are_spread_over_the_five_minutes_before_their_stamp_keeping_whole_counts():
    spread = spread_counts({_at(5): 0, _at(10): 3, _at(15): 10}, WINDOW, 60, whole=True)
    assert [spread[_at(m)] for m in range(5, 10)] == [1, 0, 1, 0, 1]
    assert sum(spread[_at(m)] for m in range(10, 15)) == 10


def test_a_counter_reporting_only_minutes_with_events_keeps_each_count_in_its_own_minute():
    # one-minute points, sent only when something happened: the gaps between them were not counted
    stamped = {_at(3): 2.0, _at(9): 4.0, _at(12): 1.0}
    counted = dict.fromkeys(stamped, 60.0)
    assert spread_counts(stamped, WINDOW, 60, counted=counted) == {_at(2): 2.0, _at(8): 4.0, _at(11): 1.0}
    assert counted_period(list(stamped), 60, counted) == 60.0


def test_without_what_the_points_counted_the_smallest_gap_between_stamps_is_their_period():
    stamped = {_at(5): 5.0, _at(10): 10.0}
    assert counted_period(list(stamped), 60) == 300.0
    assert spread_counts(stamped, WINDOW, 60)[_at(0)] == 1.0
