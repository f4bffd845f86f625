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
