"""Faults in a service's own hosts: one bad host, one bad zone, CPU, memory, connection pool."""

from __future__ import annotations

from evals.simulator.faults.base import (
    NS_PER_S,
    DepEffect,
    Fault,
    FaultSetupError,
    HostEvent,
    HostResources,
    ServerEffect,
    first_dependency,
)
from evals.simulator.messages import (
    CONNECT_TIMEOUT,
    DISK_FULL,
    OOM,
    OVERLOAD,
    POOL_TIMEOUT,
    Failure,
    spelled,
    stacktrace,
)
from evals.simulator.topology import Dependency, Host, Operation, Service, Step
from mcp_server.taxonomy import FaultType


class SingleHostFailure(Fault):
    """One of N hosts fails fast with 500s; least-outstanding-requests routing sends it more traffic."""

    fault_type = FaultType.SINGLE_HOST_FAILURE

    def setup(self) -> None:
        hosts = self.target.hosts
        if len(hosts) < 2:
            raise FaultSetupError(
                f"single_host_failure needs a service with 2+ hosts; {self.target.name} has 1"
            )
        index = self.spec.host_index if self.spec.host_index is not None else self.rng.randrange(len(hosts))
        self.host = hosts[index % len(hosts)]
        self.ramp_s = 10.0
        runtime = self.target.runtime
        exc, msg = spelled(DISK_FULL, runtime)
        self.failure = Failure(
            exc,
            msg,
            status=500,
            at_start=True,
            duration_ms=1.0,
            stack=stacktrace(runtime, self.target.name, exc, msg, "store"),
        )
        self.detail = (
            f"{self.host.name} ({self.host.pod}, {self.host.az}) ran out of disk space and failed every request "
            f"that buffers to disk; the other {len(hosts) - 1} hosts were healthy"
        )
        self.factors = [
            "the load balancer health check (GET /health) does not touch the disk, so it did not remove the host",
            "least-outstanding-requests routing sent the fast-failing host more traffic than its share",
        ]

    def host_weights(self, service: Service, t: int, weights: list[float]) -> None:
        if service is self.target and self.host is not None and t >= self.onset_ns:
            weights[self.host.index] *= 2.4

    def server(self, service: Service, op: Operation, host: Host, t: int) -> ServerEffect | None:
        if host is self.host and self.rng.random() < 0.92 * self.level(t):
            return ServerEffect(failure=self.failure)
        return None

    def resources(self, service: Service, host: Host, t: int, res: HostResources) -> None:
        if host is self.host and t >= self.onset_ns:
            res.cpu *= 0.8  # failing fast is cheap


class AzImpairment(Fault):
    """The service's hosts in one availability zone lose their network path: errors only there."""

    fault_type = FaultType.AZ_IMPAIRMENT

    def setup(self) -> None:
        zones = [h.az for h in self.target.hosts]
        zone = self.spec.zone or zones[self.rng.randrange(len(zones))]
        if zone not in zones:
            raise FaultSetupError(f"{self.target.name} has no host in {zone}; its zones: {', '.join(zones)}")
        self.zone = zone
        self.ramp_s = 30.0
        self.dep = first_dependency(
            self.topology, self.target, ("postgresql", "dynamodb", "redis", "external")
        )
        runtime = self.target.runtime
        address = (self.dep.address or self.dep.name) if self.dep else "upstream"
        exc, msg = spelled(CONNECT_TIMEOUT, runtime, address=address)
        self.failure = Failure(
            exc,
            msg,
            status=500,
            duration_ms=1000.0,
            retryable=False,
            stack=stacktrace(runtime, self.target.name, exc, msg),
        )
        self.server_failure = Failure(
            exc,
            msg,
            status=500,
            at_start=True,
            duration_ms=1000.0,
            stack=stacktrace(runtime, self.target.name, exc, msg),
        )
        self.detail = (
            f"Network impairment in {zone}: {self.target.name}'s hosts there could not reach "
            f"{self.dep.name if self.dep else 'their dependencies'}; hosts in other zones were healthy"
        )
        self.factors = [
            "cross-zone load balancing kept sending a third of the traffic to the impaired zone",
            "zonal shift was not automated",
        ]

    def _impaired(self, service: Service, host: Host, t: int) -> bool:
        return service is self.target and host.az == self.zone and self.rng.random() < 0.8 * self.level(t)

    def server(self, service: Service, op: Operation, host: Host, t: int) -> ServerEffect | None:
        if host.az != self.zone or t < self.onset_ns:
            return None
        if service is not self.target:
            return ServerEffect(latency_mult=1.15)  # neighbours in the zone are a little slower, no errors
        if self.dep is None and self._impaired(service, host, t):
            return ServerEffect(failure=self.server_failure)
        return None

    def dependency_call(
        self, service: Service, host: Host, step: Step, dep: Dependency, t: int
    ) -> DepEffect | None:
        if dep is self.dep and self._impaired(service, host, t):
            return DepEffect(failure=self.failure)
        return None


class CpuSaturation(Fault):
    """CPU on every host of the service saturates: self time grows, then the thread pool sheds load."""

    fault_type = FaultType.CPU_SATURATION

    def setup(self) -> None:
        self.ramp_s = 150.0
        runtime = self.target.runtime
        exc, msg = spelled(OVERLOAD, runtime)
        self.failure = Failure(
            exc,
            msg,
            status=503,
            at_start=True,
            duration_ms=3.0,
            stack=stacktrace(runtime, self.target.name, exc, msg),
        )
        self.detail = (
            f"CPU on all {self.target.name} hosts saturated (a catastrophic-backtracking regex in request "
            "validation); request handling slowed and the server started rejecting work"
        )
        self.factors = ["autoscaling was capped at the current host count", "no CPU alarm on the service"]

    def server(self, service: Service, op: Operation, host: Host, t: int) -> ServerEffect | None:
        if service is not self.target:
            return None
        level = self.level(t)
        if level <= 0:
            return None
        if self.rng.random() < 0.12 * level:
            return ServerEffect(failure=self.failure)
        return ServerEffect(latency_mult=1.0 + 9.0 * level, extra_ms=40.0 * level * self.rng.random())

    def resources(self, service: Service, host: Host, t: int, res: HostResources) -> None:
        if service is self.target:
            level = self.level(t)
            if level > 0:
                res.cpu = res.cpu + (0.97 - res.cpu) * level + self.rng.gauss(0, 0.01)


class MemoryLeak(Fault):
    """Memory grows from onset; GC pauses lengthen; each host is OOM-killed and restarts."""

    fault_type = FaultType.MEMORY_LEAK

    def setup(self) -> None:
        runtime = self.target.runtime
        exc, msg = spelled(OOM, runtime)
        self.failure = Failure(
            exc,
            msg or "out of memory",
            status=500,
            stack=stacktrace(runtime, self.target.name, exc, msg or "out of memory"),
        )
        # each host leaks at its own pace; the first OOM comes 4.5-9.5 minutes after onset
        self.ooms: dict[int, list[int]] = {}
        self.period_ns: dict[int, int] = {}
        for host in self.target.hosts:
            period = int((4.5 + 3.0 * self.rng.random() + 1.0 * host.index) * 60 * NS_PER_S)
            self.period_ns[host.index] = period
            times = []
            t = self.onset_ns + period
            while t < self.window_end_ns:
                times.append(t)
                t += period + 30 * NS_PER_S
            self.ooms[host.index] = times
        self.detail = (
            f"{self.target.name} leaks memory (an unbounded in-process cache); heap grew until the containers "
            "were OOM-killed and restarted"
        )
        self.factors = [
            "container memory limit alarms were not configured",
            "restarts hid the leak between deploys",
        ]

    def _fill(self, host: Host, t: int) -> tuple[float, bool]:
        """Fraction of the way from baseline to the limit, and whether the host is restarting."""
        if t < self.onset_ns:
            return 0.0, False
        start = self.onset_ns
        for oom in self.ooms.get(host.index, []):
            if t < oom:
                break
            if t < oom + 30 * NS_PER_S:
                return 0.0, True
            start = oom + 30 * NS_PER_S
        return min(1.0, (t - start) / self.period_ns[host.index]), False

    def host_weights(self, service: Service, t: int, weights: list[float]) -> None:
        if service is self.target:
            for host in service.hosts:
                if self._fill(host, t)[1]:
                    weights[host.index] = 0.0

    def server(self, service: Service, op: Operation, host: Host, t: int) -> ServerEffect | None:
        if service is not self.target:
            return None
        fill, _ = self._fill(host, t)
        if fill <= 0.7:
            return None
        pressure = (fill - 0.7) / 0.3
        if fill > 0.85 and self.rng.random() < 0.7 * pressure:
            return ServerEffect(failure=self.failure, latency_mult=1.0 + 6.0 * pressure)
        return ServerEffect(latency_mult=1.0 + 5.0 * pressure)

    def resources(self, service: Service, host: Host, t: int, res: HostResources) -> None:
        if service is not self.target:
            return
        minute_end = t + 60 * NS_PER_S
        res.restarts += sum(1 for oom in self.ooms.get(host.index, []) if t <= oom < minute_end)
        fill, _restarting = self._fill(host, t + 30 * NS_PER_S)
        if fill > 0:
            res.memory_bytes = res.memory_bytes + (0.985 * res.memory_limit - res.memory_bytes) * fill
            res.gc_ms = res.gc_ms * (1.0 + 40.0 * max(0.0, fill - 0.5) ** 2 * 4)
            res.cpu += 0.25 * max(0.0, fill - 0.6)

    def host_events(self) -> list[HostEvent]:
        events = []
        runtime = self.target.runtime
        for host in self.target.hosts:
            for oom in self.ooms.get(host.index, []):
                events.append(
                    HostEvent(
                        oom - 2 * NS_PER_S,
                        self.target.name,
                        host,
                        "ERROR",
                        f"{self.failure.text} (heap usage 98%, full GC could not reclaim memory)",
                    )
                )
                events.append(
                    HostEvent(
                        oom + 25 * NS_PER_S,
                        self.target.name,
                        host,
                        "INFO",
                        f"Started {self.target.name} {runtime} process (restart after OOMKilled, exit code 137)",
                    )
                )
        return events


class ConnectionPoolExhaustion(Fault):
    """The database connection pool is exhausted: requests wait, then fail to get a connection."""

    fault_type = FaultType.CONNECTION_POOL_EXHAUSTION

    def setup(self) -> None:
        dep = first_dependency(self.topology, self.target, ("postgresql",))
        if dep is None:
            users = ", ".join(self.topology.services_using("postgresql"))
            raise FaultSetupError(
                f"connection_pool_exhaustion needs a service with a database pool; {self.target.name} has none "
                f"(try: {users})"
            )
        self.dependency = dep.name
        self.ramp_s = 60.0
        runtime = self.target.runtime
        exc, msg = spelled(POOL_TIMEOUT, runtime, ms=700, secs=0.7)
        self.failure = Failure(
            exc,
            msg,
            status=500,
            at_start=True,
            duration_ms=700.0,
            stack=stacktrace(runtime, self.target.name, exc, msg, "findById"),
        )
        self.detail = (
            f"{self.target.name}'s PostgreSQL connection pool (max 10) was exhausted: connections leaked on an "
            "error path were never returned"
        )
        self.factors = [
            "pool connectionTimeout (700 ms) fails requests fast instead of queueing them",
            "no alarm on pending connection requests",
        ]

    def server(self, service: Service, op: Operation, host: Host, t: int) -> ServerEffect | None:
        if service is not self.target:
            return None
        level = self.level(t)
        if level <= 0:
            return None
        if self.rng.random() < 0.45 * level:
            return ServerEffect(failure=self.failure)
        return ServerEffect(extra_ms=level * 500.0 * self.rng.random())  # waited for a connection

    def resources(self, service: Service, host: Host, t: int, res: HostResources) -> None:
        if service is self.target:
            level = self.level(t)
            if level > 0:
                res.pool_used = res.pool_used + (res.pool_max - res.pool_used) * level
                res.pool_pending = 25.0 * level + self.rng.random() * 8
                res.pool_wait_ms = 650.0 * level + self.rng.random() * 50
