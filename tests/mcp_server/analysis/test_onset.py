"""Onset votes and where an episode of votes begins."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np

from mcp_server.analysis.onset import (
    SPARSE_PREFIX,
    OnsetCandidate,
    _Series,
    _vote,
    pick_onset,
    span_series,
    sparse_counts,
)
from mcp_server.backends.base import SpanBucket, SpanStatsQuery
from mcp_server.telemetry import TimeWindow

T0 = datetime(2026, 3, 24, 10, 0, tzinfo=UTC)


def _series(values: list[float], label: str = "metric:cpu@host") -> _Series:
    return _Series("svc", label, np.arange(len(values)) * 60.0, np.array(values, dtype=float), T0)


def test_a_batch_run_that_is_over_by_the_window_end_casts_no_vote():
    run = [0.13, 0.14, 0.12, 0.13, 0.14, 0.13, 0.12, 0.55, 0.5, 0.58, 0.14, 0.13]
    assert _vote(_series(run), None) is None


def test_a_rise_still_in_force_at_the_window_end_votes_for_its_start():
    rise = [0.13, 0.14, 0.12, 0.13, 0.14, 0.13, 0.12, 0.55, 0.5, 0.58, 0.6, 0.57]
    vote = _vote(_series(rise), None)
    assert vote is not None and vote.time == T0 + timedelta(minutes=7) and vote.direction == 1


def test_chronic_errors_at_one_a_minute_falling_to_zero_by_chance_cast_no_vote():
    counts = [1, 2, 1, 1, 0, 1, 0, 0, 0, 0, 0, 0, 0]
    rates = [c / 60 for c in counts]
    assert sparse_counts(rates, 60) == [float(c) for c in counts]
    assert _vote(_series(rates, SPARSE_PREFIX + "errors@host"), None) is None


def test_a_busy_counter_is_not_sparse():
    assert sparse_counts([120 / 60, 130 / 60, 118 / 60], 60) is None
    assert sparse_counts([0.5 / 60, 1 / 60, 0.0], 60) is None  # not whole events


def _cand(service: str, minute: float, score: float, series: str = "metric:m@h") -> OnsetCandidate:
    return OnsetCandidate(service, series, T0 + timedelta(minutes=minute), score)


def test_a_lone_witness_minutes_before_the_bulk_of_an_episode_is_not_its_start():
    votes = [
        _cand("quiet-pod", 8, 9.5),  # its memory settling three minutes before anything else
        _cand("a", 11, 14.0),
        _cand("b", 11, 10.0),
        _cand("c", 12, 10.0),
        _cand("d", 12, 6.0),
    ]
    picked = pick_onset(votes, timedelta(minutes=3))
    assert picked is not None and picked.time == T0 + timedelta(minutes=11)


def test_the_cause_a_minute_before_its_symptoms_still_starts_the_episode():
    votes = [_cand("cause", 10, 12.0), _cand("a", 11, 14.0), _cand("b", 11, 10.0), _cand("c", 12, 9.0)]
    picked = pick_onset(votes, timedelta(minutes=3))
    assert picked is not None and picked.time == T0 + timedelta(minutes=10)


def test_two_services_error_logs_turning_together_start_the_episode_before_a_stronger_lone_witness():
    votes = [
        _cand("gateway", 10.33, 5.1, "error_logs"),
        _cand("booking", 10.67, 5.3, "error_logs"),
        _cand("booking", 11.33, 14.9, "self_time"),
    ]
    picked = pick_onset(votes, timedelta(minutes=3))
    assert picked is not None and picked.time == T0 + timedelta(minutes=10.33)


def test_with_metrics_alone_symptoms_piling_up_a_minute_later_do_not_outvote_the_cause():
    votes = [
        _cand("cause", 11, 14.0),
        _cand("cause", 12, 15.8),
        _cand("caller-a", 12, 10.0),
        _cand("caller-b", 12, 5.9),
        _cand("edge", 12, 5.7),
    ]
    picked = pick_onset(votes, timedelta(minutes=3))
    assert picked is not None and picked.time == T0 + timedelta(minutes=11)


def test_a_leaking_gauge_votes_where_it_crossed_but_says_where_its_ramp_began():
    # memory flat near 1.2 GB, then +0.13 GB a minute from minute 8 (crossing a wide band later)
    flat = [1.20, 1.22, 1.19, 1.21, 1.18, 1.23, 1.20, 1.21]
    ramp = [1.21 + 0.13 * i for i in range(1, 7)]
    vote = _vote(_series(flat + ramp, "metric:memory@host"), None)
    assert vote is not None and vote.direction == 1
    assert vote.departed is not None and vote.departed < vote.time
    assert T0 + timedelta(minutes=7) <= vote.departed <= T0 + timedelta(minutes=8, seconds=30)


def test_each_service_starts_where_its_own_witnesses_of_the_episode_began():
    leak = OnsetCandidate(
        "cause", "metric:memory@h", T0 + timedelta(minutes=11), 9.0, 1, T0 + timedelta(minutes=8)
    )
    votes = [
        leak,
        _cand("caller", 12, 7.0, "error_rate"),
        _cand("cause", 12, 6.0, "error_rate"),
        _cand("gateway", 12, 7.0, "error_logs"),
    ]
    picked = pick_onset(votes, timedelta(minutes=3))
    assert picked is not None and picked.time == T0 + timedelta(minutes=12)  # the onset stays the symptoms'
    assert picked.service_starts["cause"] == T0 + timedelta(minutes=8)
    assert picked.service_starts["caller"] == T0 + timedelta(minutes=12)


def test_sparse_failures_date_their_step_before_the_first_bucket_that_caught_one():
    # one request in sixteen fails from 10:10:00 (bucket 40); the first failure lands in bucket 42
    errors = [0.0] * 42 + [1, 2, 1, 0, 1, 1, 2, 1, 1, 2] * 3
    spans = np.full(len(errors), 16.0)
    series = _Series("svc", "error_rate", np.arange(len(errors)) * 15.0, np.array(errors), T0, spans)

    vote = _vote(series, None)

    assert vote is not None
    assert T0 + timedelta(seconds=34 * 15) <= vote.time < T0 + timedelta(seconds=42 * 15)
    assert (vote.time - T0).total_seconds() % 15 == 0  # on the series' bucket grid


class _OneServiceSpans:
    """Span statistics of one service: 30 spans of 10 requests a minute; from minute 20 one
    request a minute fails, leaving six failed spans (its server span, client spans, retries)."""

    def __init__(self, *, traced: bool) -> None:
        self.traced = traced

    def span_stats(self, query: SpanStatsQuery) -> list[SpanBucket]:
        if query.group_by != ["service"]:
            return []
        return [
            SpanBucket(
                bucket_start=T0 + timedelta(minutes=i),
                group={"service": "svc"},
                count=30,
                errors=6 if i >= 20 else 0,
                duration_ms_sum=300.0,
                self_ms_sum=100.0,
                traces=10 if self.traced else None,
                error_traces=(1 if i >= 20 else 0) if self.traced else None,
            )
            for i in range(24)
        ]


def test_one_failed_request_a_minute_is_no_stronger_for_the_spans_it_left():
    window = TimeWindow(start=T0, end=T0 + timedelta(minutes=24))

    def error_vote(traced: bool) -> OnsetCandidate | None:
        points = span_series(_OneServiceSpans(traced=traced), window, 60)[("svc", "error_rate")]  # type: ignore[arg-type]
        times = np.array([(p[0] - T0).total_seconds() for p in points])
        counts = np.array([p[1] for p in points])
        exposure = np.array([p[2] for p in points])  # type: ignore[misc]
        return _vote(_Series("svc", "error_rate", times, counts, T0, exposure, 60.0), None)

    assert error_vote(traced=True) is None  # four failures in 240 requests after 2,000 clean ones
    spans_only = error_vote(traced=False)  # a backend that cannot count requests falls back to spans
    assert spans_only is not None and spans_only.time == T0 + timedelta(minutes=20)
