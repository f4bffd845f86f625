from __future__ import annotations

import math

from mcp_server.analysis.stats import (
    first_persistent_exceedance,
    poisson_tail,
    robust_baseline,
    shift,
    step_fit,
)


def test_step_fit_finds_where_a_noisy_series_jumps():
    values = [1.0, 1.2, 0.9, 1.1, 1.0, 0.95, 5.0, 5.2, 4.9, 5.1, 5.0]
    fit = step_fit(values, min_segment=3)
    assert fit is not None
    assert fit.index == 6
    assert fit.r2 > 0.95
    assert fit.before < 1.2 < 4.9 < fit.after


def test_step_fit_explains_little_of_a_flat_noisy_series():
    values = [1.0, 1.1, 0.9, 1.05, 0.95, 1.0, 1.1, 0.9, 1.0, 1.02]
    fit = step_fit(values, min_segment=3)
    assert fit is not None
    assert fit.r2 < 0.5


def test_a_flat_baseline_does_not_make_the_robust_scale_zero():
    base = robust_baseline([2.0, 2.0, 2.0, 2.0])
    assert base.median == 2.0
    assert base.scale > 0


def test_shift_reports_direction_and_relative_change():
    s = shift([10, 11, 9, 10, 10], [30, 31, 29])
    assert s.direction == 1
    assert s.z > 4
    assert abs(s.relative - 2.0) < 0.01


def test_a_single_spike_is_not_an_onset_but_a_sustained_rise_is():
    values = [1, 1, 9, 1, 1, 1, 9, 9, 8, 9]
    assert first_persistent_exceedance(values, threshold=5, direction=1) == 6


def test_a_ramp_that_crossed_its_noise_band_late_is_traced_back_to_where_it_left_its_level():
    from mcp_server.analysis.stats import ramp_start

    times = [60.0 * i for i in range(10)]
    # flat at 100 until minute 5, then +10 a minute: a 3-sigma band of 25 is crossed at minute 8
    values = [100.0, 101.0, 99.0, 100.0, 100.0, 110.0, 120.0, 130.0, 140.0, 150.0]
    start = ramp_start(times, values, 7, 100.0, 1, noise=1.0)
    assert start is not None and abs(start - 240.0) <= 1.0  # the line through the ramp meets 100 at minute 4


def test_a_step_is_not_a_ramp():
    from mcp_server.analysis.stats import ramp_start

    times = [60.0 * i for i in range(10)]
    values = [100.0, 101.0, 99.0, 100.0, 100.0, 150.0, 151.0, 149.0, 152.0, 150.0]
    assert ramp_start(times, values, 5, 100.0, 1, noise=1.0) is None


def test_a_ramp_is_never_traced_back_past_a_point_still_at_its_level():
    from mcp_server.analysis.stats import ramp_start

    times = [60.0 * i for i in range(9)]
    # a jump then a slow climb: its line meets the level minutes before the point that still sat there
    values = [100.0, 100.0, 99.0, 100.0, 100.0, 150.0, 170.0, 190.0, 210.0]
    start = ramp_start(times, values, 5, 100.0, 1, noise=1.0)
    assert start == 240.0


def test_a_point_above_the_level_but_within_its_noise_has_not_left_it_yet():
    from mcp_server.analysis.stats import ramp_start

    times = [60.0 * i for i in range(9)]
    # a step to 400 with a slow climb after: its line meets the level long before; the baseline
    # wobbles by +-3 around 12, so the last wobble before the step (15) still sits within it
    values = [12.0, 10.0, 14.0, 11.0, 15.0, 400.0, 540.0, 700.0, 700.0]
    assert ramp_start(times, values, 5, 12.0, 1, noise=2.0) == 240.0


def test_poisson_tail_is_exact_at_small_counts_and_stays_finite_at_large_ones():
    assert poisson_tail(0, 3.0) == 1.0 and poisson_tail(4, 0.0) == 0.0
    assert math.isclose(poisson_tail(1, 0.025), 1 - math.exp(-0.025))
    # two failures where 0.05 are expected: about 1 in 800; three: about 1 in 50,000
    assert math.isclose(poisson_tail(2, 0.05), 1 - math.exp(-0.05) * 1.05, rel_tol=1e-9)
    assert poisson_tail(3, 0.05) < 1e-4
    assert 0.45 < poisson_tail(4000, 4000.0) < 0.55 and poisson_tail(5000, 4000.0) < 1e-9
