"""Changes in series too short to test on their own: judged against their peers' moves."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta

from mcp_server.analysis.signals import Scope
from mcp_server.analysis.sparse_metrics import closed_window, sparse_changes
from mcp_server.telemetry import MetricKind, MetricSeries, SeriesPoint, TimeWindow
from tests.mcp_server.analysis.scopes import T0

FIVE = timedelta(minutes=5)
END = T0 + 3 * FIVE
ONSET = T0 + timedelta(minutes=7, seconds=30)
SCOPE = Scope(
    window=TimeWindow(start=T0, end=END),
    onset=ONSET,
    onset_source="default",
    baseline=TimeWindow(start=T0, end=ONSET),
    incident=TimeWindow(start=ONSET, end=END),
    bucket_seconds=60,
    services=["gateway", "orders", "stock", "users"],
)


def _series(
    service: str,
    values: Sequence[float],
    name: str = "q7.busy",
    kind: MetricKind = MetricKind.GAUGE,
    unit: str = "",
    **attributes: str,
) -> MetricSeries:
    # five-minute points, each stamped at the end of its interval
    points = [SeriesPoint(time=T0 + (i + 1) * FIVE, value=v) for i, v in enumerate(values)]
    return MetricSeries(
        name=name, service=service, kind=kind, unit=unit, points=points, attributes=attributes
    )


QUIET = [[0.30, 0.31, 0.29], [0.32, 0.30, 0.31], [0.29, 0.30, 0.30], [0.31, 0.29, 0.32], [0.30, 0.32, 0.31]]


def test_a_series_that_moved_far_more_than_its_peers_is_a_change():
    peers = [_series(f"s{i}", v) for i, v in enumerate(QUIET)]
    found = sparse_changes([*peers, _series("hot", [0.30, 0.45, 0.92])], ONSET)
    assert [(s.service, round(b, 2)) for s, b, _, _ in found] == [("hot", 0.30)]
    assert found[0][3] > 3


def test_a_counter_that_moved_by_a_handful_of_events_is_no_change_however_far_its_ratio_went():
    # rates per second over sixty-second buckets: 1/60 is one event
    still = [_series(f"s{i}", [0, 0, 0], name="errors", kind=MetricKind.SUM) for i in range(5)]
    one_event = _series("noisy", [0, 0, 1 / 60], name="errors", kind=MetricKind.SUM)
    many = _series("failing", [0, 0, 12 / 60], name="errors", kind=MetricKind.SUM)
    found = sparse_changes([*still, one_event, many], ONSET, seconds_per_value=60)
    assert [s.service for s, *_ in found] == ["failing"]


def test_a_counter_with_too_few_peers_that_leapt_from_zero_is_a_change_by_its_own_count_test():
    leapt = _series("orders", [0, 3 / 60, 132 / 60], name="throttled", kind=MetricKind.SUM)
    stayed = _series("stock", [0, 0, 0], name="throttled", kind=MetricKind.SUM)
    found = sparse_changes([leapt, stayed], ONSET, seconds_per_value=60)
    assert [s.service for s, *_ in found] == ["orders"]
    assert found[0][3] > 10


def test_a_gauge_with_too_few_peers_is_never_a_change():
    found = sparse_changes([_series("orders", [1, 1, 50]), _series("stock", [1, 1, 1])], ONSET)
    assert found == []


def test_the_closed_window_keeps_the_point_stamped_at_the_window_end_and_nothing_later():
    window = closed_window(SCOPE.window)
    assert window.contains(END)
    assert not window.contains(END + FIVE)
