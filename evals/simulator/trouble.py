"""Trouble that is not the incident, switched on by a plan's quirks, and what the ground truth says of it.

Chronic errors (:mod:`.chronic`), the previous incident's tail (:mod:`.previous`) and a release
train of healthy deployments around this incident's own change. Everything here draws from a
random stream of its own, never from the traffic's, and is labelled as a red herring.
"""

from __future__ import annotations

import random

from evals.simulator.background import UnrelatedDeployment, startup_events
from evals.simulator.chronic import ChronicErrors, chronic_candidates, expected_requests
from evals.simulator.faults.base import NS_PER_MIN, NS_PER_S, Fault, HostEvent, TrafficHooks
from evals.simulator.faults.code import BadDeployment
from evals.simulator.previous import Recovered, earlier_incident
from evals.simulator.quirks import Quirks
from evals.simulator.topology import Topology
from mcp_server.telemetry import ChangeEvent


class Trouble:
    def __init__(
        self,
        quirks: Quirks,
        topology: Topology,
        faults: list[Fault],
        propagation: list[str],
        rng: random.Random,
        window: tuple[int, int],
        rate_per_min: float,
    ) -> None:
        self.rng = rng
        self.faults = faults
        self.chronic: ChronicErrors | None = None
        self.previous: Recovered | None = None
        self.releases: list[UnrelatedDeployment] = []
        onset = min(f.onset_ns for f in faults)
        targets = {f.target.name for f in faults}
        if quirks.chronic_errors:
            candidates = [name for name in chronic_candidates(topology, rate_per_min) if name not in targets]
            rng.shuffle(candidates)
            candidates.sort(key=lambda name: name in propagation)  # unrelated services first
            chosen = sorted(candidates[: quirks.chronic_errors], key=list(topology.services).index)
            per_min = {name: share * rate_per_min for name, share in expected_requests(topology).items()}
            self.chronic = ChronicErrors(topology, chosen, rng, window[0], window[1], per_min)
        if quirks.previous_incident:
            avoid = targets | set(self.chronic.rates if self.chronic else ())
            self.previous = earlier_incident(topology, rng, avoid, window[0], window[1], onset)
        if quirks.extra_deployments:
            self.releases = self._release_train(
                quirks.extra_deployments, topology, targets, propagation, onset
            )

    def _release_train(
        self, count: int, topology: Topology, targets: set[str], propagation: list[str], onset: int
    ) -> list[UnrelatedDeployment]:
        """Healthy deployments released with this incident's change (or a few minutes before its onset)."""
        rng = self.rng
        changes = [c.time for f in self.faults for c in f.changes()]
        around = min(changes) if changes else None
        train_ns = (
            int(around.timestamp()) * NS_PER_S
            if around is not None
            else onset - int((60 + 180 * rng.random()) * NS_PER_S)
        )
        others = [s.name for s in topology.services.values() if not s.batch and s.name not in targets]
        rng.shuffle(others)
        near = [name for name in others if name in propagation][:1]  # a caller: it will show symptoms
        picked = (near + [name for name in others if name not in near])[:count]
        return [
            UnrelatedDeployment(
                topology.services[name], train_ns + rng.randrange(-60, 61) * NS_PER_S, release=True
            )
            for name in picked
        ]

    @property
    def hooks(self) -> list[TrafficHooks]:
        return [h for h in (self.chronic, self.previous) if h is not None]

    def host_events(self) -> list[HostEvent]:
        events = self.previous.host_events() if self.previous else []
        for deployment in self.releases:
            events.extend(deployment.host_events())
        if self.releases:  # the defective release starts up like the others
            for fault in self.faults:
                if isinstance(fault, BadDeployment):
                    events.extend(startup_events(fault.target, fault.new_version, fault.switch_ns))
        return events

    def changes(self) -> list[ChangeEvent]:
        return [deployment.change(self.rng) for deployment in self.releases]

    def disturbed_minutes(self, start_ns: int) -> set[int]:
        """Minutes the previous incident touched (kept out of alarm and SLO baselines)."""
        if self.previous is None:
            return set()
        first = (self.previous.fault.onset_ns - start_ns) // NS_PER_MIN
        last = (self.previous.end_ns - start_ns) // NS_PER_MIN + 1
        return set(range(max(0, first), last + 1))

    def labels(self) -> list[str]:
        labels = self.chronic.labels() if self.chronic else []
        if self.previous is not None:
            labels.append(self.previous.label())
        labels.extend(deployment.description for deployment in self.releases)
        return labels
