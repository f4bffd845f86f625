from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta

from mcp_server.analysis.anomalies import detect_metric_anomalies, metric_signals, score_series, shared_series
from mcp_server.analysis.changes import proximity
from mcp_server.backends.base import MetricBucket
from mcp_server.telemetry import (
    ChangeEvent,
    ChangeKind,
    MetricDescriptor,
    MetricKind,
    MetricSeries,
    SeriesPoint,
    TimeWindow,
)
from tests.mcp_server.analysis.scopes import ONSET, T0, twenty_minutes


def _series(values: Sequence[float], name: str = "q7.zz_unknown_gauge") -> MetricSeries:
    points = [SeriesPoint(time=T0 + timedelta(minutes=i), value=v) for i, v in enumerate(values)]
    return MetricSeries(name=name, service="svc", points=points)


def test_a_metric_with_an_unknown_name_that_leaves_its_baseline_is_an_anomaly_with_its_onset():
    baseline = [10, 11, 9, 10, 10, 11, 9, 10, 10, 11]
    values = [*baseline, 10, 30, 31, 29, 32, 30, 31, 30, 29, 31]
    anomaly = score_series(_series(values), ONSET)
    assert anomaly is not None
    assert anomaly.direction == 1
    assert anomaly.onset == T0 + timedelta(minutes=11)
    assert 0.2 < anomaly.score <= 1.0


def test_a_sparse_counter_that_blipped_as_high_before_onset_is_not_an_anomaly():
    values = [0, 0, 2, 0, 0, 0, 2, 0, 0, 0, 0, 2, 0, 0, 2, 0, 0, 2, 0, 2]  # onset at index 10
    assert score_series(_series(values), ONSET) is None


def test_noise_around_a_steady_level_is_not_an_anomaly():
    values = [50, 52, 49, 51, 50, 48, 52, 50, 49, 51, 51, 49, 50, 52, 48, 50, 51, 49, 50, 52]
    assert score_series(_series(values), ONSET) is None


def test_a_drop_is_reported_as_a_fall():
    values = [0.9, 0.91, 0.9, 0.92, 0.9, 0.89, 0.9, 0.91, 0.9, 0.9, *([0.3] * 10)]
    anomaly = score_series(_series(values, "hit_ratio"), ONSET)
    assert anomaly is not None and anomaly.direction == -1


def test_changes_count_more_the_closer_they_came_before_onset():
    scope = twenty_minutes()

    def change(minutes_before: float) -> ChangeEvent:
        return ChangeEvent(
            time=ONSET - timedelta(minutes=minutes_before), service="svc", kind=ChangeKind.DEPLOYMENT
        )

    assert proximity(change(1), scope) > 0.7
    assert proximity(change(10), scope) < 0.1
    assert proximity(change(-10), scope) == 0.0


def test_a_bucket_that_holds_the_onset_goes_with_the_side_that_fills_most_of_it():
    from mcp_server.analysis.buckets import before_onset

    points = _series(list(range(12))).points
    base, inc = before_onset(points, ONSET + timedelta(seconds=20))
    assert inc[0].time == ONSET  # 12:10-12:11 holds forty seconds of the incident
    base, inc = before_onset(points, ONSET + timedelta(seconds=40))
    assert base[-1].time == ONSET  # twenty seconds of it: the minute is still mostly normal


def test_a_rise_after_a_previous_incident_on_the_same_series_is_measured_against_the_quiet_between():
    # a hog two to six minutes before, recovered, then the same pod saturates again at the onset
    values = [2.3, 87, 100.8, 101, 100, 69.5, 3.0, 3.5, 2.8, 3.1, 80.6, 88.6]
    anomaly = score_series(_series(values, "pod cpu"), ONSET)
    assert anomaly is not None and anomaly.direction == 1
    assert anomaly.baseline < 5


def test_series_that_sat_still_at_the_same_value_on_several_services_are_not_shared():
    still = [MetricSeries(name="errors", service=s, points=_series([0, 0, 0]).points) for s in ("a", "b")]
    node_cpu = [
        MetricSeries(name="cpu", service=s, points=_series([0.2, 0.5, 0.4]).points) for s in ("a", "b")
    ]
    assert shared_series([*still, *node_cpu]) == {2, 3}


class _FiveMinutePoints:
    """Five-minute points of five services, each stamped at the end of its interval and read in
    one-minute buckets (a counter's as a rate over that minute, as backends bucket them); the
    last service's leapt in the last interval, whose point sits exactly at the window's end."""

    def __init__(self, kind: MetricKind = MetricKind.GAUGE, scale: float = 1.0) -> None:
        self.kind, self.scale = kind, scale

    def metric_buckets(self, window: TimeWindow, bucket_seconds: int, *, by_host: bool) -> list[MetricBucket]:
        rows = {f"s{i}": [0.30, 0.31 + i / 100, 0.30 - i / 100] for i in range(4)} | {
            "hot": [0.29, 0.30, 0.92]
        }
        counter = self.kind == MetricKind.SUM
        return [
            MetricBucket(
                name="busy",
                service=svc,
                kind=self.kind,
                bucket_start=at,
                value=v * self.scale,
                counted_seconds=300.0 if counter else None,
            )
            for svc, values in rows.items()
            for i, v in enumerate(values)
            if window.contains(at := T0 + timedelta(minutes=5 * (i + 1)))
        ]

    def list_metrics(self) -> list[MetricDescriptor]:
        return []


def _fifteen_minutes():  # type: ignore[no-untyped-def]
    end = T0 + timedelta(minutes=15)
    onset = T0 + timedelta(minutes=7, seconds=30)
    return twenty_minutes().model_copy(
        update={
            "window": TimeWindow(start=T0, end=end),
            "onset": onset,
            "incident": TimeWindow(start=onset, end=end),
        }
    )


def test_a_short_series_is_judged_with_its_point_stamped_at_the_window_end():
    found = detect_metric_anomalies(_FiveMinutePoints(), _fifteen_minutes())  # type: ignore[arg-type]
    assert [(a.service, a.sparse, a.direction) for a in found] == [("hot", True, 1)]


def test_a_five_minute_counter_is_stated_at_its_rate_over_the_five_minutes_each_point_counted():
    # "hot" counted 29, 30 and then 92 events in its five-minute intervals: 6 a minute before the
    # onset, (30 + 92) / 10 = 12.2 a minute after; read per one-minute bucket they would be five
    # times as many
    backend = _FiveMinutePoints(MetricKind.SUM, scale=100 / 60)
    scope = _fifteen_minutes()
    found = detect_metric_anomalies(backend, scope)  # type: ignore[arg-type]
    [hot] = [a for a in found if a.service == "hot"]
    assert (round(hot.baseline * 60, 3), round(hot.incident * 60, 3)) == (5.8, 12.2)
    [signal] = [s for s in metric_signals([hot], scope)]
    assert signal.evidence.description.startswith("busy rose from 5.8 to 12.2 a minute ")
