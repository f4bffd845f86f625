"""When a count series' rate stepped up: the expected step time given every bucket's count.

A change point test on bucketed counts says *that* errors rose and in which bucket the first
surplus landed. With sparse errors that bucket comes late: at one error in eight requests, the
first failure follows the fault's start by eight requests on average, and the buckets in between
hold none by chance. Under a step model (rate ``before`` until ``t0``, ``after`` from then on;
each bucket's exposure spread evenly over it) every candidate ``t0`` has a likelihood, and the
posterior mean under a flat prior weighs each one by how well the buckets around it fit. A clean
stretch long enough that the new rate would surely have shown errors in it pushes the estimate
past it; a short clean stretch does not.

Every other witness dates a change by the start of the bucket that holds it, and what reads the
onset counts whole buckets before and after it, so the expected time is reported the same way
(:func:`step_bucket_start`).
"""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt

GRID_PER_BUCKET = 6  # candidate step times per bucket width
LOOKBACK_BUCKETS = 8  # how far before the first surplus bucket the step may lie


def count_step_time(
    times: npt.ArrayLike,
    events: npt.ArrayLike,
    exposure: npt.ArrayLike,
    width: float,
    index: int,
) -> float:
    """The expected time (same units as ``times``, bucket starts) at which the rate stepped up,
    given the first bucket of the new rate at ``index``. Never before the lookback, never after
    the end of bucket ``index``."""
    t = np.asarray(times, dtype=float)
    e = np.asarray(events, dtype=float)
    x = np.asarray(exposure, dtype=float)
    if index <= 0 or index >= len(t) or width <= 0:
        return float(t[min(max(index, 0), len(t) - 1)])
    before_x, after_x = float(x[:index].sum()), float(x[index:].sum())
    if before_x <= 0 or after_x <= 0:
        return float(t[index])
    rate_before = (float(e[:index].sum()) + 0.5) / before_x
    rate_after = float(e[index:].sum()) / after_x
    if rate_after <= rate_before:
        return float(t[index])
    lo = t[max(0, index - LOOKBACK_BUCKETS)]
    hi = t[index] + width
    grid = np.linspace(lo, hi, max(2, round(float(hi - lo) / width * GRID_PER_BUCKET) + 1))
    # only buckets that some candidate splits differ between candidates; the rest add a constant
    near = (t + width >= lo) & (t < hi)
    tb, eb, xb = t[near], e[near], x[near]
    # share of each bucket after each candidate: rows candidates, columns buckets
    share = np.clip((tb[None, :] + width - grid[:, None]) / width, 0.0, 1.0)
    mean = xb[None, :] * (rate_before + (rate_after - rate_before) * share)
    loglik = (eb[None, :] * np.log(np.maximum(mean, 1e-300)) - mean).sum(axis=1)
    weight = np.exp(loglik - loglik.max())
    return float((grid * weight).sum() / weight.sum())


def step_bucket_start(
    times: npt.ArrayLike, events: npt.ArrayLike, exposure: npt.ArrayLike, width: float, index: int
) -> float:
    """The start of the bucket (on the series' grid of ``width`` from its first point) holding
    :func:`count_step_time`."""
    origin = float(np.asarray(times, dtype=float)[0])
    at = count_step_time(times, events, exposure, width, index)
    return origin + math.floor((at - origin) / width + 1e-9) * width
