"""Robust statistics shared by the analyses: median/MAD baselines, step fits and onsets.

Pure functions over plain sequences of floats so each can be tested with a handful of numbers.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

MAD_TO_SIGMA = 1.4826


@dataclass(frozen=True)
class Baseline:
    median: float
    scale: float  # robust standard deviation (1.4826 * MAD), floored so it is never zero


def robust_baseline(values: Sequence[float], *, rel_floor: float = 0.05, abs_floor: float = 1e-9) -> Baseline:
    """Median and a floored robust scale: a flat baseline must not make every wiggle infinite."""
    if len(values) == 0:
        return Baseline(0.0, abs_floor)
    med = float(statistics.median(values))  # stdlib: far cheaper than numpy on short series
    mad = float(statistics.median([abs(v - med) for v in values])) * MAD_TO_SIGMA
    return Baseline(med, max(mad, rel_floor * abs(med), abs_floor))


@dataclass(frozen=True)
class Shift:
    direction: int  # +1 up, -1 down, 0 none
    z: float  # robust z of the incident median against the baseline
    baseline: float
    incident: float
    relative: float  # (incident - baseline) / |baseline|, inf when the baseline is zero


def shift(baseline: Sequence[float], incident: Sequence[float], *, abs_floor: float = 1e-9) -> Shift:
    """How far the incident level moved from the baseline, in robust standard deviations."""
    base = robust_baseline(baseline, abs_floor=abs_floor)
    if len(incident) == 0:
        return Shift(0, 0.0, base.median, base.median, 0.0)
    inc = float(statistics.median(incident))
    z = (inc - base.median) / base.scale
    if base.median != 0:
        rel = (inc - base.median) / abs(base.median)
    else:
        rel = math.inf if inc > 0 else (-math.inf if inc < 0 else 0.0)
    return Shift(1 if z > 0 else (-1 if z < 0 else 0), z, base.median, inc, rel)


@dataclass(frozen=True)
class StepFit:
    index: int  # first index of the second segment
    r2: float  # share of the variance the step explains (0..1)
    before: float
    after: float


def step_fit(values: Sequence[float], min_segment: int = 3) -> StepFit | None:
    """The single mean shift that best explains a series (least squares), or None if too short."""
    n = len(values)
    if n < 2 * min_segment:
        return None
    x = np.asarray(values, dtype=float)
    total = float(np.sum((x - x.mean()) ** 2))
    csum = np.cumsum(x)
    csq = np.cumsum(x * x)
    best: StepFit | None = None
    best_sse = math.inf
    for k in range(min_segment, n - min_segment + 1):
        s1, q1 = csum[k - 1], csq[k - 1]
        s2, q2 = csum[-1] - s1, csq[-1] - q1
        sse = (q1 - s1 * s1 / k) + (q2 - s2 * s2 / (n - k))
        if sse < best_sse - 1e-12:
            best_sse = sse
            best = StepFit(k, 0.0, float(s1 / k), float(s2 / (n - k)))
    if best is None:
        return None
    r2 = 0.0 if total <= 1e-12 else max(0.0, 1.0 - best_sse / total)
    return StepFit(best.index, r2, best.before, best.after)


def first_persistent_exceedance(
    values: Sequence[float], threshold: float, direction: int, start: int = 0, *, need: int = 2, look: int = 3
) -> int | None:
    """First index ≥ start whose value is beyond ``threshold`` (in ``direction``) and stays beyond it
    in at least ``need`` of the ``look`` values from there (a single spike is not an onset)."""
    n = len(values)
    beyond = [(v - threshold) * direction > 0 for v in values]
    for i in range(max(0, start), n):
        if not beyond[i]:
            continue
        window = beyond[i : i + look]
        if sum(window) >= min(need, len(window)):
            return i
    return None


# ----------------------------------------------------------------------- significance tests


def count_surprise(observed: float, expected: float) -> float:
    """How many standard deviations ``observed`` events sit above a Poisson count with mean
    ``expected``, on the variance-stabilised (Anscombe) scale: honest at small counts, where a
    plain (o - e) / sqrt(e) calls 3 events against 0.2 expected a 6-sigma surprise."""
    return 2.0 * (math.sqrt(max(observed, 0.0) + 0.375) - math.sqrt(max(expected, 0.0) + 0.375))


def poisson_tail(observed: int, expected: float) -> float:
    """P(X >= ``observed``) for X ~ Poisson(``expected``), exact (summed in log space): the small
    counts where one failure against an expected 0.03 is a 3% chance, not a 1-sigma shrug or a
    6-sigma alarm."""
    if observed <= 0:
        return 1.0
    if expected <= 0:
        return 0.0
    logs = [-expected + i * math.log(expected) - math.lgamma(i + 1) for i in range(observed)]
    top = max(logs)
    below = math.exp(top) * sum(math.exp(v - top) for v in logs)
    return max(0.0, 1.0 - below)


def rate_surprise(
    incident: float, incident_exposure: float, baseline: float, baseline_exposure: float
) -> float:
    """Surprise (see :func:`count_surprise`) of ``incident`` events over ``incident_exposure``
    (seconds, or calls) against the baseline rate, which is itself an estimate: a baseline of
    zero events over a short exposure is weak evidence of a zero rate, so one pseudo-event's
    worth of doubt is added to it."""
    if incident_exposure <= 0:
        return 0.0
    if baseline_exposure <= 0:
        return 0.0
    expected = (baseline + 0.5) / baseline_exposure * incident_exposure
    return count_surprise(incident, expected)


RECENT = 6  # baseline points a change must leave the range of
SE_MEDIAN = 1.2533  # standard error of a median = 1.2533 sigma / sqrt(n) for normal data


def median_shift_z(
    before: float,
    before_scale: float,
    n_before: int,
    after: float,
    after_scale: float,
    n_after: int,
    floor: float,
) -> float:
    """Shift of a median between two samples, in standard errors of the difference. Scales are
    robust standard deviations (1.4826 MAD), floored at ``floor`` so a flat sample is not exact."""
    if n_before <= 0 or n_after <= 0:
        return 0.0
    sb, sa = max(before_scale, floor), max(after_scale, floor)
    se = SE_MEDIAN * math.sqrt(sb * sb / n_before + sa * sa / n_after)
    return (after - before) / se


@dataclass(frozen=True)
class ChangePoint:
    index: int  # first index of the changed segment
    z: float  # signed: the shift of the segment after against the local baseline before
    before: float  # median before
    after: float  # median after
    scale: float  # robust scale of the baseline


def last_change_point(
    values: Sequence[float],
    *,
    min_before: int = 3,
    min_after: int = 2,
    latest: int | None = None,
    local: int | None = None,
    rel_floor: float = 0.05,
    abs_floor: float = 1e-9,
) -> ChangePoint | None:
    """The split that best separates a series' end from what came just before it.

    Every split ``k`` (``min_before`` <= k <= len - ``min_after``, and k <= ``latest``) compares the
    median of ``values[k:]`` with the median and robust scale of the ``local`` values before it (all of
    them when None): a local baseline, so an older incident that ended earlier in the window does
    not count as "before". The largest |z| wins; near-ties (within 10%) go to the later split,
    the change nearest the end (the trigger) being the incident asked about.
    """
    n = len(values)
    hi = n - min_after if latest is None else min(n - min_after, latest)
    found: list[ChangePoint] = []
    for k in range(min_before, hi + 1):
        base = values[0 if local is None else max(0, k - local) : k]
        after = values[k:]
        if len(base) < min_before or len(after) < min_after:
            continue
        b = robust_baseline(base, rel_floor=rel_floor, abs_floor=abs_floor)
        med_after = float(statistics.median(after))
        # under "no change" the end is drawn like the baseline: its scale is the baseline's (the
        # end's own spread, from two or three points of a ramp, would only blur the test)
        z = median_shift_z(b.median, b.scale, len(base), med_after, b.scale, len(after), b.scale)
        # the end must leave the range the recent baseline visited: a series that blipped to the
        # same level a few points before has not changed now (a rank test on small samples)
        recent = base[-RECENT:]
        if (z > 0 and med_after <= max(recent)) or (z < 0 and med_after >= min(recent)):
            z = 0.0
        found.append(ChangePoint(k, z, b.median, med_after, b.scale))
    if not found:
        return None
    best = max(found, key=lambda c: (abs(c.z), c.index))
    if best.z == 0:
        return best
    # the best split by medians can sit a little early (a long changed segment keeps its median
    # with a few baseline points in it) or late (a ramp splits best where fully developed): move
    # to the first point beyond the baseline's noise band (3 robust sigma) from there, then back
    # while the points before it are beyond too
    sign = 1 if best.z > 0 else -1
    threshold = best.before + 3.0 * sign * best.scale
    start = best.index
    while start < len(values) - 1 and (values[start] - threshold) * sign <= 0:
        start += 1
    while start - 1 >= min_before and (values[start - 1] - threshold) * sign > 0:
        start -= 1
    return ChangePoint(start, best.z, best.before, best.after, best.scale)


RAMP_POINTS = 4  # points after the crossing that a ramp's slope is read from
RAMP_GROWTH = 0.5  # a ramp keeps rising by at least this share of its height at the crossing


def wiggle(values: Sequence[float]) -> float:
    """Short-term noise of a series: the robust sigma of its point-to-point differences over sqrt 2
    (slow drift and level shifts barely move it; 0 for fewer than two points)."""
    diffs = np.abs(np.diff(np.asarray(values, dtype=float)))
    return float(np.median(diffs)) * MAD_TO_SIGMA / math.sqrt(2.0) if len(diffs) else 0.0


def ramp_start(
    times: Sequence[float], values: Sequence[float], index: int, level: float, direction: int, noise: float
) -> float | None:
    """When a series that crossed its noise band at ``index`` began to leave ``level``, if it is
    ramping: the line through the crossing and the points after it (while they keep moving the
    same way), extended back to ``level``. A leak or a slowly filling queue crosses a 3-sigma
    band minutes after it starts; a step crosses at once and has no steady run after it (None).
    Never earlier than the last point still within 3 ``noise`` of ``level``: it had not left yet."""
    run = [index]
    while (
        run[-1] + 1 < len(values)
        and len(run) < RAMP_POINTS
        and (values[run[-1] + 1] - values[run[-1]]) * direction > 0
    ):
        run.append(run[-1] + 1)
    height = (values[index] - level) * direction
    if len(run) < 3 or height <= 0 or (values[run[-1]] - values[index]) * direction < RAMP_GROWTH * height:
        return None
    slopes = [
        (values[j] - values[i]) / (times[j] - times[i])
        for a, i in enumerate(run)
        for j in run[a + 1 :]
        if times[j] > times[i]
    ]
    slope = float(statistics.median(slopes)) * direction if slopes else 0.0
    if slope <= 0:
        return None
    still = [i for i in range(index) if (values[i] - level) * direction <= 3.0 * noise]
    floor = times[still[-1]] if still else times[0]
    return max(times[index] - height / slope, floor)


def last_count_change(
    events: Sequence[float],
    exposure: Sequence[float],
    *,
    min_before: int = 3,
    min_after: int = 2,
    latest: int | None = None,
) -> ChangePoint | None:
    """The split where a count series' rate (events per unit of exposure: per span, per second)
    rose or fell most significantly, by the Poisson surprise of the events after it.

    Errors are sparse: most buckets hold none, so a median (the level tests) stays at zero until
    errors fill half the buckets. Summed counts see the first few; a conditional binomial test
    weighs them against a baseline that is itself only a few buckets long. The onset returned is the first
    bucket at or after the best split that holds more events than the old rate predicts.
    """
    n = len(events)
    hi = n - min_after if latest is None else min(n - min_after, latest)
    total_e = float(sum(events))
    total_x = float(sum(exposure))
    best: ChangePoint | None = None
    before_e = before_x = 0.0
    for k in range(n):
        if k >= min_before and k <= hi:
            after_e, after_x = total_e - before_e, total_x - before_x
            if before_x > 0 and after_x > 0 and total_e > 0:
                # both rates are estimates: given all the events, how surprising is the share that
                # fell after the split (a conditional binomial test, normal approximation)?
                share = after_x / total_x
                spread = math.sqrt(total_e * share * (1.0 - share)) + 0.5
                z = (after_e - total_e * share) / spread
                rate = (before_e + 0.5) / before_x
                if best is None or abs(z) > abs(best.z):
                    best = ChangePoint(k, z, before_e / before_x, after_e / after_x, rate)
        before_e += events[k]
        before_x += exposure[k]
    if best is None or best.z <= 0:
        return best
    start = best.index
    while start < n - 1 and events[start] <= best.scale * exposure[start]:
        start += 1
    return ChangePoint(start, best.z, best.before, best.after, best.scale)
