from __future__ import annotations

from mcp_server.analysis.stats import first_persistent_exceedance, robust_baseline, shift, step_fit


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
