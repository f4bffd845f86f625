"""The shape of the load: Poisson arrivals around a daily curve."""

from __future__ import annotations

import math
import random

from evals.simulator.faults.base import NS_PER_S


def poisson(rng: random.Random, lam: float) -> int:
    if lam <= 0:
        return 0
    if lam > 30:
        return max(0, round(rng.gauss(lam, math.sqrt(lam))))
    threshold, k, p = math.exp(-lam), 0, 1.0
    while True:
        p *= rng.random()
        if p <= threshold:
            return k
        k += 1


def diurnal(t_ns: int) -> float:
    hour = (t_ns / NS_PER_S / 3600.0) % 24.0
    return 1.0 + 0.3 * math.sin(2 * math.pi * (hour - 10.0) / 24.0)
