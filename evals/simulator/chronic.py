"""Chronic errors: services that log errors all day, at about the same rate before and after the onset.

Every production system has them (a header some clients send malformed, a feature-flag refresh
that times out) and an investigator that counts error lines blames them. On the held-out sets
of issue 14 two such services took the top rank in 26 of 45 incidents; they logged 1-4 errors a
minute before the fault and 3-4 after.

Each chosen service gets a steady Poisson stream of error events (1-4 a minute, drawn once). An
event lands on the next request the service serves: about a third fail (500, exception event,
ERROR log with stack trace), the rest are caught and logged while the request succeeds.
"""

from __future__ import annotations

import random
from collections import deque

from evals.simulator.faults.base import NS_PER_MIN, ServerEffect, TrafficHooks
from evals.simulator.messages import Failure, stacktrace
from evals.simulator.topology import Host, Operation, Service, Step, Topology
from evals.simulator.traffic import poisson

FAILING_SHARE = 0.35
MIN_REQUESTS_PER_EVENT = 3.0  # at most one request in three carries a chronic error event

# per runtime: (exception type, message); a client header some old app versions send malformed
MALFORMED_HEADER = {
    "java": ("java.lang.NumberFormatException", 'For input string: "v2.14-beta"'),
    "python": ("ValueError", "invalid literal for int() with base 10: 'v2.14-beta'"),
    "go": ("strconv.NumError", 'strconv.Atoi: parsing "v2.14-beta": invalid syntax'),
    "nodejs": ("RangeError", "Invalid client version: v2.14-beta"),
}


def expected_requests(topology: Topology) -> dict[str, float]:
    """Server spans per service for one average entry request (steps' odds and cache misses included)."""
    totals = {name: 0.0 for name in topology.services}
    weights = sum(op.entry_weight for _, op in topology.entry_operations()) or 1.0
    consumers = {op.consumer_of: (s, op) for s in topology.services.values() for op in s.operations.values()}

    def visit(service: Service, op: Operation, share: float, depth: int) -> None:
        totals[service.name] += share
        if depth < 12:
            walk(op.steps, share, depth)

    def walk(steps: list[Step], share: float, depth: int) -> None:
        for step in steps:
            odds = share * step.p
            if step.kind == "call":
                callee = topology.services[step.service]
                visit(callee, callee.operations[step.op], odds, depth + 1)
            elif step.kind == "cache":
                walk(step.miss, odds * (1.0 - step.hit_ratio), depth)
            elif step.kind == "publish" and step.dep in consumers:
                consumer, op = consumers[step.dep]
                visit(consumer, op, odds, depth + 1)

    for service, op in topology.entry_operations():
        visit(service, op, op.entry_weight / weights, 0)
    return totals


def chronic_candidates(topology: Topology, rate_per_min: float) -> list[str]:
    """Services busy enough that 1-4 errors a minute stay a small share of their requests."""
    return [
        name
        for name, share in expected_requests(topology).items()
        if share * rate_per_min >= 4.0 * MIN_REQUESTS_PER_EVENT and not topology.services[name].batch
    ]


class ChronicErrors(TrafficHooks):
    """A steady stream of errors in a few services, whatever the incident does."""

    def __init__(
        self,
        topology: Topology,
        services: list[str],
        rng: random.Random,
        start_ns: int,
        end_ns: int,
        requests_per_min: dict[str, float],
    ) -> None:
        self.rates: dict[str, float] = {}
        self.failures: dict[str, Failure] = {}
        self._due: dict[str, deque[tuple[int, bool]]] = {}
        minutes = (end_ns - start_ns) // NS_PER_MIN
        for name in services:
            service = topology.services[name]
            busiest = requests_per_min.get(name, 0.0) / MIN_REQUESTS_PER_EVENT
            rate = min(max(1.0, busiest), 1.0 + 3.0 * rng.random())
            self.rates[name] = rate
            exc, msg = MALFORMED_HEADER.get(service.runtime, MALFORMED_HEADER["java"])
            msg = f"Cannot parse header X-Client-Version: {msg}"
            self.failures[name] = Failure(
                exc, msg, status=500, stack=stacktrace(service.runtime, name, exc, msg, "clientVersion")
            )
            due: list[tuple[int, bool]] = []
            for minute in range(minutes):
                t0 = start_ns + minute * NS_PER_MIN
                for _ in range(poisson(rng, rate)):
                    due.append((t0 + rng.randrange(NS_PER_MIN), rng.random() < FAILING_SHARE))
            self._due[name] = deque(sorted(due))

    def server(self, service: Service, op: Operation, host: Host, t: int) -> ServerEffect | None:
        due = self._due.get(service.name)
        if not due or due[0][0] > t:
            return None
        _, fails = due.popleft()
        failure = self.failures[service.name]
        return ServerEffect(failure=failure) if fails else ServerEffect(logged=failure)

    def labels(self) -> list[str]:
        """Red-herring labels for the ground truth."""
        return [
            f"chronic errors in {name}: {self.failures[name].exception_type} about {rate:.1f} times a minute "
            "before and after the onset (unrelated)"
            for name, rate in self.rates.items()
        ]
