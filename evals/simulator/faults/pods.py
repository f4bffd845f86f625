"""Faults as fault-injection tools cause them in a pod: a CPU hog beside the service, a netem delay.

Shapes and magnitudes follow real fault-injection incidents (OnlineBoutique on Kubernetes, the
project's development set), not what would be easy to find:

- **CPU contention** (``cpu_saturation``, variant ``contention``): the pod's CPU jumps to 85-98%
  of its limit. Nothing fails. Most requests are only a little slower (Go and Java: own work
  ×1.3-2 at the median); the CFS quota pauses 30% of them for part of a 100 ms period or two,
  either before the server span starts (the caller's span grows, the gap between the two grows)
  or in the middle of it. Single-threaded runtimes (Python, Node.js) suffer more: ×2-4 and half
  of the requests paused, up to four periods.
- **Network delay** (``network_delay``, variant ``inbound``): every answer from the pod leaves
  100, 200 or 500 ms late (±2%). The pod's own spans do not change and nothing fails; its
  callers' client spans grow by the delay, and so does the gap between a caller's span and the
  callee's server span. The pod's own outgoing calls are not delayed.

Both hit every pod of the service, or one pod when ``FaultSpec.host_index`` is set.
"""

from __future__ import annotations

from evals.simulator.faults.base import Fault, FaultSetupError, HostResources, ServerEffect
from evals.simulator.topology import Host, Operation, Service
from mcp_server.taxonomy import FaultType

CFS_PERIOD_MS = 100.0
HEAVY_RUNTIMES = ("python", "nodejs")  # one interpreter lock or event loop: every request queues
NETEM_DELAYS_MS = (100.0, 200.0, 500.0)


class _PodFault(Fault):
    """A fault on every pod of the service, or on the one ``spec.host_index`` names."""

    def _choose_pods(self) -> None:
        hosts = self.target.hosts
        if self.spec.host_index is not None:
            self.host = hosts[self.spec.host_index % len(hosts)]
        self.pods = {self.host.index} if self.host is not None else {h.index for h in hosts}

    def _where(self) -> str:
        if self.host is not None:
            return f"pod {self.host.pod} of {self.target.name}"
        return f"every {self.target.name} pod"

    def _hits(self, service: Service, host: Host) -> bool:
        return service is self.target and host.index in self.pods


class CpuContention(_PodFault):
    """A CPU hog in the pod: CPU near the limit, requests wait for CPU time, nothing fails."""

    fault_type = FaultType.CPU_SATURATION

    def setup(self) -> None:
        if self.target.batch:
            raise FaultSetupError(
                f"cpu_saturation (contention) needs a service that serves requests; {self.target.name} "
                "is a batch job"
            )
        self._choose_pods()
        self.ramp_s = 20.0
        rng = self.rng
        heavy = self.target.runtime in HEAVY_RUNTIMES
        self.median_mult = 2.0 + 2.0 * rng.random() if heavy else 1.3 + 0.7 * rng.random()
        self.paused_share = 0.5 if heavy else 0.3
        self.max_periods = 4 if heavy else 2
        self.cpu_target = {index: 0.86 + 0.12 * rng.random() for index in sorted(self.pods)}
        self.detail = (
            f"A CPU-bound process beside the service used the CPU quota of {self._where()}: CPU near the "
            "limit, requests waited for CPU time (throttled), none failed"
        )
        self.factors = [
            "the pod's CPU limit left no headroom for a second busy process",
            "no alarm on CPU throttling; latency alarms watch the p99 over three minutes",
        ]

    def server(self, service: Service, op: Operation, host: Host, t: int) -> ServerEffect | None:
        if not self._hits(service, host):
            return None
        level = self.level(t)
        if level <= 0:
            return None
        rng = self.rng
        effect = ServerEffect(latency_mult=1.0 + (self.median_mult - 1.0) * level)
        if rng.random() < self.paused_share * level:
            periods = 1 + min(self.max_periods - 1, int(rng.expovariate(1.2)))
            pause = CFS_PERIOD_MS * (periods - 1 + 0.3 + 0.7 * rng.random())
            if rng.random() < 0.5:
                effect.queue_ms = pause  # paused before the server picked the request up
            else:
                effect.extra_ms = pause
        return effect

    def resources(self, service: Service, host: Host, t: int, res: HostResources) -> None:
        if not self._hits(service, host):
            return
        level = self.level(t + 30 * 1_000_000_000)  # the minute's average, read at its middle
        if level > 0:
            target = self.cpu_target[host.index]
            res.cpu = res.cpu + (target - res.cpu) * min(1.0, level) + self.rng.gauss(0, 0.012)


class NetworkDelayInbound(_PodFault):
    """netem on the pod's interface: every answer leaves late; no errors, the pod's spans unchanged."""

    fault_type = FaultType.NETWORK_DELAY

    def setup(self) -> None:
        if not self.topology.callers_of(self.target.name):
            raise FaultSetupError(
                f"network_delay (inbound) needs a service with callers; nothing calls {self.target.name}"
            )
        self._choose_pods()
        self.ramp_s = 1.0
        self.delay_ms = NETEM_DELAYS_MS[self.rng.randrange(len(NETEM_DELAYS_MS))] * self.spec.intensity
        self.detail = (
            f"Network delay of {self.delay_ms:.0f} ms on {self._where()} (tc netem on its interface): answers "
            "reached callers late; nothing failed"
        )
        self.factors = [
            "callers' timeouts are longer than the delay, so nothing failed and no error alarm fired",
            "no alarm on client-side latency to the service",
        ]

    def server(self, service: Service, op: Operation, host: Host, t: int) -> ServerEffect | None:
        if not self._hits(service, host) or self.level(t) <= 0:
            return None
        return ServerEffect(egress_ms=self.delay_ms * (0.98 + 0.04 * self.rng.random()))
