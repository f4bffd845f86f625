"""Background realism that is not the incident: a noisy batch job and an unrelated deployment.

Both are red herrings a careless investigator blames. The batch job is noisy before and after the
onset and touches nothing the incident touches; the deployment lands on a service that shows no
anomaly after it.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from evals.simulator.faults.base import NS_PER_MIN, NS_PER_S, HostEvent
from evals.simulator.faults.code import bump_minor
from evals.simulator.messages import Failure, stacktrace
from evals.simulator.topology import Host, Service, Topology
from mcp_server.telemetry import ChangeEvent, ChangeKind, from_nanos

LOCK_ERROR = (
    "org.postgresql.util.PSQLException",
    'ERROR: could not obtain lock on row in relation "invoices"',
)


def _bump_patch(version: str) -> str:
    parts = version.split(".")
    if len(parts) == 3 and parts[2].isdigit():
        return f"{parts[0]}.{parts[1]}.{int(parts[2]) + 1}"
    return version + ".1"


@dataclass
class UnrelatedDeployment:
    """A routine deployment of a healthy service some minutes before the incident.

    ``release``: one service of a release train, described and rolled out exactly like the train's
    other deployments (a defective one included), so that nothing but the telemetry tells them apart.
    """

    service: Service
    time_ns: int
    actor: str = "codepipeline/petclinic-release"
    release: bool = False

    def __post_init__(self) -> None:
        if self.release:
            self.new_version = bump_minor(self.service.version)
            self.switch_ns = {
                h.index: self.time_ns + (75 + 40 * i) * NS_PER_S for i, h in enumerate(self.service.hosts)
            }
        else:
            self.new_version = _bump_patch(self.service.version)
            self.switch_ns = {
                h.index: self.time_ns + (i + 1) * 35 * NS_PER_S for i, h in enumerate(self.service.hosts)
            }

    def version(self, host: Host, t: int) -> str | None:
        if host.service != self.service.name:
            return None
        return self.new_version if t >= self.switch_ns[host.index] else None

    def change(self, rng: random.Random) -> ChangeEvent:
        return ChangeEvent(
            time=from_nanos(self.time_ns),
            service=self.service.name,
            kind=ChangeKind.DEPLOYMENT,
            version=self.new_version,
            previous_version=self.service.version,
            description=(
                f"Deploy {self.service.name} {self.new_version} (rolling, {len(self.service.hosts)} hosts)"
                if self.release
                else f"Deploy {self.service.name} {self.new_version} (rolling): dependency upgrades"
            ),
            actor=self.actor,
            id=f"deploy-{rng.randrange(100_000, 999_999)}",
        )

    def host_events(self) -> list[HostEvent]:
        return startup_events(self.service, self.new_version, self.switch_ns)

    @property
    def description(self) -> str:
        if self.release:
            return (
                f"deployment of {self.service.name} {self.new_version} at {from_nanos(self.time_ns):%H:%M} UTC "
                "(released together with the others; healthy)"
            )
        return (
            f"deployment of {self.service.name} {self.new_version} at {from_nanos(self.time_ns):%H:%M} UTC "
            "(no anomaly on that service afterwards)"
        )


def startup_events(service: Service, version: str, switch_ns: dict[int, int]) -> list[HostEvent]:
    """The line each host logs when it starts the new version."""
    return [
        HostEvent(
            switch_ns[h.index] + 12 * NS_PER_S,
            service.name,
            h,
            "INFO",
            f"Started {service.name} {version} in 11.{h.index + 2} seconds",
        )
        for h in service.hosts
    ]


class BatchJob:
    """``reports-batch`` runs every ten minutes for three minutes; when noisy, about 30% of runs fail."""

    def __init__(self, topology: Topology, start_ns: int, noisy: bool, rng: random.Random) -> None:
        self.service = next((s for s in topology.services.values() if s.batch), None)
        self.noisy = noisy
        self.phase_min = rng.randrange(0, 10)
        self.start_ns = start_ns
        self.rng = rng
        if self.service is not None:
            exc, msg = LOCK_ERROR
            self.failure = Failure(
                exc, msg, status=500, stack=stacktrace("java", self.service.name, exc, msg, "reconcile")
            )

    def running(self, minute: int) -> bool:
        return (minute + self.phase_min) % 10 < 3

    def runs(self, minute: int) -> list[tuple[Host, int, bool]]:
        """(host, start, failed) for this minute's job executions."""
        if self.service is None or not self.running(minute):
            return []
        out = []
        t0 = self.start_ns + minute * NS_PER_MIN
        for host in self.service.hosts:
            for _ in range(self.rng.randrange(6, 11)):
                failed = self.noisy and self.rng.random() < 0.3
                out.append((host, t0 + self.rng.randrange(0, NS_PER_MIN), failed))
        return out

    @property
    def description(self) -> str:
        name = self.service.name if self.service else "batch job"
        return (
            f"{name} errors (invoice reconciliation runs every 10 minutes and fails on row locks, unrelated)"
        )
