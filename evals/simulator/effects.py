"""What one step of a request produced, and how the effects of several faults add up.

Shared by the traffic engine's parts (:mod:`evals.simulator.engine`, :mod:`.service_calls`,
:mod:`.dependency_calls`): span kinds, HTTP reason phrases, step and server results.
"""

from __future__ import annotations

from dataclasses import dataclass

from evals.simulator.faults.base import DepEffect, ServerEffect
from evals.simulator.messages import Failure

# OTLP SpanKind values
SERVER, CLIENT, PRODUCER, CONSUMER, INTERNAL = 2, 3, 4, 5, 1
NS_PER_MS = 1_000_000

REASONS = {
    200: "OK",
    201: "Created",
    400: "Bad Request",
    404: "Not Found",
    500: "Internal Server Error",
    502: "Bad Gateway",
    503: "Service Unavailable",
    504: "Gateway Timeout",
}


@dataclass
class StepResult:
    end_ns: int
    failure: Failure | None = None
    status: int = 0  # the status a failing server answers with because of this step
    timed_out: bool = False


@dataclass
class ServerResult:
    end_ns: int
    status: int
    failure: Failure | None


def combine_server(effects: list[ServerEffect]) -> ServerEffect:
    out = ServerEffect()
    for e in effects:
        out.latency_mult *= e.latency_mult
        out.extra_ms += e.extra_ms
        out.failure = out.failure or e.failure
        out.status = out.status or e.status
        out.queue_ms += e.queue_ms
        out.egress_ms += e.egress_ms
        out.logged = out.logged or e.logged
    return out


def combine_dep(effects: list[DepEffect]) -> DepEffect:
    out = DepEffect()
    for e in effects:
        out.latency_mult *= e.latency_mult
        out.extra_ms += e.extra_ms
        out.failure = out.failure or e.failure
        if e.timeout_ms is not None:
            out.timeout_ms = e.timeout_ms if out.timeout_ms is None else min(out.timeout_ms, e.timeout_ms)
    return out
