"""What a fault can do to the simulated system: the hooks the traffic engine consults.

A fault never writes telemetry itself. The engine asks it, at each decision point (which host the
load balancer picks, how long a server takes, whether a dependency call fails, what a host's CPU
reads), and the fault answers from its own state. Every answer depends only on the fault's
parameters, the time and the shared random stream, so a seed gives the same bytes.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import datetime
from typing import ClassVar

from evals.simulator.messages import Failure
from evals.simulator.topology import Dependency, Host, Operation, Service, Step, Topology
from mcp_server.errors import SleuthError
from mcp_server.scenario import RootCause
from mcp_server.taxonomy import FaultType
from mcp_server.telemetry import ChangeEvent, from_nanos

NS_PER_S = 1_000_000_000
NS_PER_MIN = 60 * NS_PER_S


class FaultSetupError(SleuthError):
    """A fault cannot be placed as asked (e.g. dependency throttling on a service without DynamoDB)."""


@dataclass(frozen=True)
class FaultSpec:
    """What to inject: a fault type on a service, optionally pinned to a host, zone or dependency.

    ``host_index`` pins faults that can hit one pod (a CPU hog, a network delay, an exception
    injected in one replica) to that pod; ``variant`` picks another shape of the same fault type.
    """

    fault: FaultType
    service: str
    onset_fraction: float = 0.55  # where in the window the fault starts
    intensity: float = 1.0
    host_index: int | None = None
    zone: str | None = None
    dependency: str | None = None
    variant: str = ""  # "" is the classic shape; see FAULT_VARIANTS for the others


@dataclass
class ServerEffect:
    latency_mult: float = 1.0
    extra_ms: float = 0.0
    failure: Failure | None = None
    status: int | None = None  # a non-error status the server answers with (incorrect_response)
    queue_ms: float = 0.0  # waited before the server span starts (CPU throttling, a full worker queue)
    egress_ms: float = 0.0  # the answer reaches the caller this much later (delayed outbound packets)
    logged: Failure | None = None  # an error the server logs and handles: the request still succeeds


@dataclass
class DepEffect:
    latency_mult: float = 1.0
    extra_ms: float = 0.0
    failure: Failure | None = None
    timeout_ms: float | None = None  # a client timeout that now applies to the call


@dataclass
class HostResources:
    """One host's resource readings for one minute (the engine fills the baseline)."""

    cpu: float
    memory_bytes: float
    memory_limit: float
    gc_ms: float
    restarts: int
    pool_used: float = 0.0
    pool_max: float = 0.0
    pool_pending: float = 0.0
    pool_wait_ms: float = 0.0


@dataclass
class HostEvent:
    """A log line a fault causes outside any request (an OOM kill, a restart, a TLS alert)."""

    time_ns: int
    service: str
    host: Host
    severity: str
    message: str


class TrafficHooks:
    """The questions the traffic engine asks at each decision point; the default answer is "no effect".

    Faults answer them, and so does background trouble that is not the incident (a service that
    logs errors all day, the previous incident's tail).
    """

    def host_weights(self, service: Service, t: int, weights: list[float]) -> None:
        """Adjust the load balancer's weights for ``service``'s hosts in place."""

    def version(self, host: Host, t: int) -> str | None:
        """The version a host runs at ``t`` when a fault changes it (a deployment)."""
        return None

    def server(self, service: Service, op: Operation, host: Host, t: int) -> ServerEffect | None:
        return None

    def dependency_call(
        self, service: Service, host: Host, step: Step, dep: Dependency, t: int
    ) -> DepEffect | None:
        return None

    def call(
        self, caller: Service, caller_host: Host, callee: Service, step: Step, t: int
    ) -> DepEffect | None:
        """A call between two instrumented services (network, TLS, client timeouts)."""
        return None

    def resources(self, service: Service, host: Host, t: int, res: HostResources) -> None:
        """Adjust one host's resource readings for the minute starting at ``t``."""


@dataclass
class Fault(TrafficHooks):
    spec: FaultSpec
    topology: Topology
    rng: random.Random
    window_start_ns: int
    window_end_ns: int
    onset_ns: int
    ramp_s: float = 60.0
    host: Host | None = None
    zone: str | None = None
    dependency: str | None = None
    detail: str = ""
    factors: list[str] = field(default_factory=list)

    fault_type: ClassVar[FaultType] = FaultType.UNKNOWN

    def __post_init__(self) -> None:
        self.target: Service = self.topology.service(self.spec.service)
        self.setup()

    # ---------------------------------------------------------------- set-up and ground truth
    def setup(self) -> None:
        """Choose hosts/dependencies and fill ``detail`` and ``factors``; raise FaultSetupError."""

    def level(self, t: int) -> float:
        if t < self.onset_ns:
            return 0.0
        return min(1.0, (t - self.onset_ns) / (self.ramp_s * NS_PER_S)) * self.spec.intensity

    def root_cause(self) -> RootCause:
        return RootCause(
            service=self.target.name,
            fault_type=self.fault_type,
            detail=self.detail,
            host=self.host.name if self.host else None,
            availability_zone=self.zone,
            dependency=self.dependency,
        )

    def changes(self) -> list[ChangeEvent]:
        return []

    def host_events(self) -> list[HostEvent]:
        return []

    @property
    def onset(self) -> datetime:
        return from_nanos(self.onset_ns)


def first_dependency(topology: Topology, service: Service, kinds: tuple[str, ...]) -> Dependency | None:
    for name in service.dependencies():
        dep = topology.dependencies[name]
        if dep.kind in kinds:
            return dep
    return None
