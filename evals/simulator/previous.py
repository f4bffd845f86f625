"""The previous incident's tail: another fault on another service, fixed a few minutes before this onset.

In the real fault-injection data faults came every 4-8 minutes, so most windows also hold the end
of the previous one: a service whose CPU or latency was up when the window opened and recovered
before the incident under investigation began. An investigator that looks for "the biggest
change in the window" without an onset blames it.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from evals.simulator.faults import FaultSetupError, FaultSpec, fault_class
from evals.simulator.faults.base import (
    NS_PER_MIN,
    NS_PER_S,
    DepEffect,
    Fault,
    HostEvent,
    HostResources,
    ServerEffect,
    TrafficHooks,
)
from evals.simulator.topology import Dependency, Host, Operation, Service, Step, Topology
from mcp_server.taxonomy import FaultType
from mcp_server.telemetry import from_nanos

# what the earlier incident was; the shapes fault injection leaves (see faults/pods.py)
EARLIER_FAULTS: tuple[tuple[FaultType, str], ...] = (
    (FaultType.CPU_SATURATION, "contention"),
    (FaultType.NETWORK_DELAY, "inbound"),
    (FaultType.ERROR_EXCEPTION, ""),
)


@dataclass
class Recovered(TrafficHooks):
    """A fault whose hooks stop answering at ``end_ns``: it was fixed (or its injection ended)."""

    fault: Fault
    end_ns: int

    def host_weights(self, service: Service, t: int, weights: list[float]) -> None:
        if t < self.end_ns:
            self.fault.host_weights(service, t, weights)

    def server(self, service: Service, op: Operation, host: Host, t: int) -> ServerEffect | None:
        return self.fault.server(service, op, host, t) if t < self.end_ns else None

    def dependency_call(
        self, service: Service, host: Host, step: Step, dep: Dependency, t: int
    ) -> DepEffect | None:
        return self.fault.dependency_call(service, host, step, dep, t) if t < self.end_ns else None

    def call(
        self, caller: Service, caller_host: Host, callee: Service, step: Step, t: int
    ) -> DepEffect | None:
        return self.fault.call(caller, caller_host, callee, step, t) if t < self.end_ns else None

    def resources(self, service: Service, host: Host, t: int, res: HostResources) -> None:
        if t < self.end_ns:
            self.fault.resources(service, host, t, res)

    def host_events(self) -> list[HostEvent]:
        return [e for e in self.fault.host_events() if e.time_ns < self.end_ns]

    def label(self) -> str:
        cause = self.fault.root_cause()
        return (
            f"recovery of {cause.service} from an earlier incident ({cause.fault_type.value}, "
            f"{from_nanos(self.fault.onset_ns):%H:%M:%S}-{from_nanos(self.end_ns):%H:%M:%S} UTC), "
            "before this incident's onset"
        )


def earlier_incident(
    topology: Topology,
    rng: random.Random,
    avoid: set[str],
    window_start_ns: int,
    window_end_ns: int,
    onset_ns: int,
) -> Recovered:
    """A fault on a service outside ``avoid`` that began 6-9 minutes before ``onset_ns`` and ended 2.5-4 before."""
    end_ns = onset_ns - int((2.5 + 1.5 * rng.random()) * NS_PER_MIN)
    start_ns = max(window_start_ns - 3 * NS_PER_MIN, onset_ns - int((6.0 + 3.0 * rng.random()) * NS_PER_MIN))
    start_ns = min(start_ns, end_ns - 90 * NS_PER_S)
    candidates = [s.name for s in topology.services.values() if not s.batch and s.name not in avoid]
    kinds = list(EARLIER_FAULTS)
    rng.shuffle(kinds)
    for fault, variant in kinds:
        rng.shuffle(candidates)
        for name in candidates:
            spec = FaultSpec(fault, name, variant=variant)
            try:
                earlier = fault_class(spec)(
                    spec=spec,
                    topology=topology,
                    rng=rng,
                    window_start_ns=window_start_ns,
                    window_end_ns=window_end_ns,
                    onset_ns=start_ns,
                )
            except FaultSetupError:
                continue
            return Recovered(earlier, end_ns)
    raise FaultSetupError("no service can host an earlier incident outside this one's propagation path")
