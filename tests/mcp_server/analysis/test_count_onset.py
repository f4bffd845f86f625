from __future__ import annotations

from mcp_server.analysis.count_onset import count_step_time, step_bucket_start

WIDTH = 15.0


def _buckets(counts: list[float], spans: float = 30.0) -> tuple[list[float], list[float], list[float]]:
    return [i * WIDTH for i in range(len(counts))], counts, [spans] * len(counts)


def test_sparse_errors_date_the_step_before_the_first_failing_bucket() -> None:
    # one failure in twenty requests from 120 s on: the first two buckets after it hold none by
    # chance, as a rate of 1.5 per bucket often does
    counts = [0.0] * 8 + [0.0, 0.0, 2.0, 1.0, 2.0, 1.0, 2.0, 1.0, 2.0, 2.0]
    times, events, exposure = _buckets(counts)

    at = count_step_time(times, events, exposure, WIDTH, index=10)

    assert at < times[10]
    assert at > times[10] - 4 * WIDTH


def test_a_clean_stretch_the_new_rate_would_have_filled_is_not_the_step() -> None:
    # ten failures a bucket from 150 s on: a bucket of thirty clean requests just before cannot
    # be part of the new rate
    counts = [0.0] * 10 + [10.0, 9.0, 11.0, 10.0, 10.0]
    times, events, exposure = _buckets(counts)

    at = count_step_time(times, events, exposure, WIDTH, index=10)

    assert times[10] - 1.0 <= at <= times[10] + WIDTH


def test_the_step_is_never_dated_after_the_first_failing_bucket_ends() -> None:
    counts = [0.0] * 10 + [1.0, 10.0, 10.0, 10.0]
    times, events, exposure = _buckets(counts)

    at = count_step_time(times, events, exposure, WIDTH, index=10)

    assert at <= times[10] + WIDTH


def test_no_rise_leaves_the_bucket_start() -> None:
    counts = [2.0] * 10 + [2.0, 2.0, 2.0]
    times, events, exposure = _buckets(counts)

    assert count_step_time(times, events, exposure, WIDTH, index=10) == times[10]


def test_the_step_is_reported_as_the_start_of_the_bucket_that_holds_it() -> None:
    counts = [0.0] * 8 + [0.0, 0.0, 2.0, 1.0, 2.0, 1.0, 2.0, 1.0, 2.0, 2.0]
    times, events, exposure = _buckets(counts)

    expected = count_step_time(times, events, exposure, WIDTH, index=10)
    start = step_bucket_start(times, events, exposure, WIDTH, index=10)

    assert start in times
    assert start <= expected < start + WIDTH
