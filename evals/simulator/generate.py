"""Write one scenario directory: run the engine minute by minute and add the definitions around it.

The output follows the contract in :mod:`mcp_server.scenario`. The same plan gives the same bytes:
one ``random.Random(seed)`` drives every draw, in a fixed order, and nothing reads the clock.
"""

from __future__ import annotations

import math
import os
import random
import shutil
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import yaml

from evals.simulator.alarms import (
    AlarmSpec,
    MinuteCounts,
    alarm_specs,
    evaluate_alarm,
    first_alarm_time,
    slo_breach_time,
    slo_definitions,
)
from evals.simulator.background import BatchJob, UnrelatedDeployment
from evals.simulator.engine import Engine, diurnal, poisson
from evals.simulator.faults import FAULT_CLASSES, Fault, FaultSetupError, FaultSpec
from evals.simulator.faults.base import NS_PER_MIN, NS_PER_S, HostEvent
from evals.simulator.metrics import METRIC_INFO, MetricRecorder
from evals.simulator.otlp import JsonlWriter
from evals.simulator.records import Resources
from evals.simulator.topology import Topology, load_topology
from mcp_server.scenario import (
    ALARMS_FILE,
    CHANGES_FILE,
    LOGS_FILE,
    METRICS_FILE,
    SCENARIO_FILE,
    SLOS_FILE,
    TRACES_FILE,
    GroundTruth,
    ScenarioSpec,
    Trigger,
    TriggerKind,
)
from mcp_server.taxonomy import FaultType
from mcp_server.telemetry import Alarm, ChangeEvent, SloDefinition, from_nanos, to_nanos

# entry requests per minute; spans per request average about 11
SIZES: dict[str, dict[str, float]] = {
    "tiny": {"rate": 20, "minutes": 20},
    "default": {"rate": 45, "minutes": 30},
    "S": {"rate": 240, "minutes": 30},
    "L": {"rate": 2400, "minutes": 30},
}
EPOCH = datetime(2026, 3, 10, 8, 0, tzinfo=UTC)

VAGUE_QUESTIONS = [
    "Users report errors on the booking site. What is going on?",
    "Support says the pet clinic app has been flaky for the last few minutes. Can you take a look?",
    "Something seems wrong with the site right now; customers are complaining on social media.",
    "Why is the vet booking app slow and failing for some users?",
]


@dataclass(frozen=True)
class ScenarioPlan:
    """Everything that decides a scenario's bytes."""

    name: str
    faults: tuple[FaultSpec, ...]
    seed: int = 1
    size: str = "default"
    minutes: int | None = None
    red_herrings: bool = True
    trigger: str = "alarm"  # alarm | slo | question
    trigger_scope: str = "edge"  # edge: the user-facing service that noticed; root: the faulty one
    question: str | None = None
    herring_service: str | None = None
    herring_minutes_before: float = 10.0
    rename: dict[str, str] = field(default_factory=dict)  # old -> new, services and metric names
    tags: tuple[str, ...] = ()


class ScenarioGenerationError(FaultSetupError):
    """A plan that cannot be simulated (unknown service, size, rename target...)."""


def _split_rename(
    topology_services: list[str], rename: dict[str, str]
) -> tuple[dict[str, str], dict[str, str]]:
    services, metrics = {}, {}
    for old, new in rename.items():
        if old in topology_services:
            services[old] = new
        elif old in METRIC_INFO:
            metrics[old] = new
        else:
            raise ScenarioGenerationError(
                f"rename: {old!r} is neither a service ({', '.join(topology_services)}) nor a metric name"
            )
    return services, metrics


def write_scenario(plan: ScenarioPlan, out: Path, topology_path: Path | None = None) -> Path:
    """Simulate ``plan`` into the directory ``out`` (replaced if it exists); return ``out``."""
    if plan.size not in SIZES:
        raise ScenarioGenerationError(f"unknown size {plan.size!r}; use one of {', '.join(SIZES)}")
    if not plan.faults:
        raise ScenarioGenerationError("a scenario needs at least one fault")
    base = load_topology(topology_path)
    service_renames, metric_renames = _split_rename(list(base.services), plan.rename)
    topology = load_topology(topology_path, service_renames) if service_renames else base
    sim = _Simulation(plan, topology, metric_renames, Path(out))
    sim.run()
    return Path(out)


def generate_scenario(
    fault: FaultType | str,
    service: str,
    seed: int,
    out: Path,
    size: str = "default",
    minutes: int | None = None,
    red_herrings: bool = True,
    trigger: str = "alarm",
    rename: dict[str, str] | None = None,
    name: str | None = None,
) -> Path:
    """One fault on one service: the ``sleuth simulate`` entry point."""
    try:
        fault_type = FaultType(fault)
    except ValueError:
        known = ", ".join(f.value for f in FAULT_CLASSES)
        raise ScenarioGenerationError(f"unknown fault type {fault!r}; use one of {known}") from None
    if fault_type not in FAULT_CLASSES:
        raise ScenarioGenerationError(f"the simulator has no fault {fault_type.value!r}")
    plan = ScenarioPlan(
        name=name or f"simulated-incident-{seed}",
        faults=(FaultSpec(fault_type, service),),
        seed=seed,
        size=size,
        minutes=minutes,
        red_herrings=red_herrings,
        trigger=trigger,
        rename=dict(rename or {}),
    )
    return write_scenario(plan, out)


class _Simulation:
    def __init__(
        self, plan: ScenarioPlan, topology: Topology, metric_names: dict[str, str], out: Path
    ) -> None:
        self.plan = plan
        self.topology = topology
        self.metric_names = metric_names
        self.out = out
        self.rng = random.Random(plan.seed)
        size = SIZES[plan.size]
        self.minutes = int(plan.minutes or size["minutes"])
        if self.minutes < 6:
            raise ScenarioGenerationError("a scenario needs at least 6 minutes")
        self.rate = size["rate"]
        start = EPOCH + timedelta(days=(plan.seed // 9) % 20, hours=plan.seed % 9)
        self.start_ns = to_nanos(start)
        self.end_ns = self.start_ns + self.minutes * NS_PER_MIN
        renames = {**{k: v for k, v in plan.rename.items()}}
        self.faults = [self._fault(spec, renames) for spec in plan.faults]
        self.first_onset = min(f.onset_ns for f in self.faults)

    def _fault(self, spec: FaultSpec, renames: dict[str, str]) -> Fault:
        service = renames.get(spec.service, spec.service)
        if service not in self.topology.services:
            known = ", ".join(self.topology.services)
            raise ScenarioGenerationError(f"unknown service {spec.service!r}; known services: {known}")
        onset_minute = max(4, min(self.minutes - 3, round(self.minutes * spec.onset_fraction)))
        onset_ns = self.start_ns + onset_minute * NS_PER_MIN + self.rng.randrange(0, 50) * NS_PER_S
        cls = FAULT_CLASSES[spec.fault]
        return cls(
            spec=FaultSpec(
                spec.fault,
                service,
                spec.onset_fraction,
                spec.intensity,
                spec.host_index,
                spec.zone,
                spec.dependency,
            ),
            topology=self.topology,
            rng=self.rng,
            window_start_ns=self.start_ns,
            window_end_ns=self.end_ns,
            onset_ns=onset_ns,
        )

    # ------------------------------------------------------------------------------ run
    def run(self) -> None:
        plan, topology, rng = self.plan, self.topology, self.rng
        # per-process scratch directory: two processes may generate the same (identical) scenario at once
        tmp = self.out.with_name(f"{self.out.name}.partial-{os.getpid()}")
        if tmp.exists():
            shutil.rmtree(tmp)
        tmp.mkdir(parents=True)
        propagation = self._propagation()
        deployment = self._unrelated_deployment(propagation) if plan.red_herrings else None
        batch = BatchJob(topology, self.start_ns, noisy=plan.red_herrings, rng=rng)
        resources = Resources(topology)
        engine = Engine(topology, self.faults, rng, resources)
        engine.version_overrides = [*self.faults]
        if deployment is not None:
            engine.version_overrides.append(deployment)
        events: list[HostEvent] = [e for f in self.faults for e in f.host_events()]
        if deployment is not None:
            events.extend(deployment.host_events())
        events_by_minute: dict[int, list[HostEvent]] = {}
        for event in events:
            if self.start_ns <= event.time_ns < self.end_ns:
                events_by_minute.setdefault((event.time_ns - self.start_ns) // NS_PER_MIN, []).append(event)

        traces = JsonlWriter(tmp / TRACES_FILE, "traces")
        logs = JsonlWriter(tmp / LOGS_FILE, "logs")
        metrics = JsonlWriter(tmp / METRICS_FILE, "metrics")
        recorder = MetricRecorder(
            topology, resources, metrics, self.faults, rng, self.first_onset, self.metric_names
        )
        slo_minutes: dict[str, dict[int, MinuteCounts]] = {}
        for minute in range(self.minutes):
            t0 = self.start_ns + minute * NS_PER_MIN
            # the daily curve shapes the window; the size tier fixes its volume whatever the hour
            count = poisson(rng, self.rate * diurnal(t0) / diurnal(self.start_ns))
            for t in sorted(t0 + rng.randrange(NS_PER_MIN) for _ in range(count)):
                engine.request(t)
            for host, t, failed in batch.runs(minute):
                assert batch.service is not None
                op = next(iter(batch.service.operations.values()))
                engine.run_batch(batch.service, host, op, t, batch.failure if failed else None)
                key = (batch.service.name, host.index)
                engine.agg.batch_cpu[key] = min(0.55, engine.agg.batch_cpu.get(key, 0.0) + 0.05)
            for service in topology.services.values():
                for host in service.hosts:
                    engine.log_background(service, host, t0)
            for event in events_by_minute.get(minute, []):
                service = topology.services[event.service]
                engine._log(
                    service,
                    event.host,
                    event.time_ns,
                    event.severity,
                    event.message,
                    engine._logger(service, "lifecycle"),
                )
            spans, log_items, agg = engine.take_minute()
            traces.write_sorted(spans)
            logs.write_sorted(log_items)
            for (service_name, _host, _op), (n, errors, durations) in agg.server.items():
                counts = slo_minutes.setdefault(service_name, {}).setdefault(minute, MinuteCounts(0, 0, []))
                counts.total += n
                counts.errors += errors
                counts.durations.extend(durations)
            versions = {
                (s.name, h.index): engine.version_of(s, h, t0 + NS_PER_MIN)
                for s in topology.services.values()
                for h in s.hosts
            }
            recorder.record_minute(minute, t0, agg, versions)
        traces.close()
        logs.close()
        metrics.close()
        self.counts = {"spans": traces.records_written, "logs": logs.records_written}

        baseline_minutes = max(1, (self.first_onset - self.start_ns) // NS_PER_MIN)
        slos = slo_definitions(topology, slo_minutes, baseline_minutes)
        specs = alarm_specs(topology, recorder.values, baseline_minutes, self.metric_names, plan.red_herrings)
        alarms = [
            evaluate_alarm(s, recorder.values.get((s.service, s.metric), {}), self.start_ns, self.minutes)
            for s in specs
        ]
        changes = sorted([c for f in self.faults for c in f.changes()], key=lambda c: c.time)
        if deployment is not None:
            changes = sorted([*changes, deployment.change(rng)], key=lambda c: c.time)
        trigger, alarm_used = self._trigger(alarms, specs, slos, slo_minutes, propagation)
        truth = self._ground_truth(propagation, deployment, batch, alarms, alarm_used, trigger)
        self._write_definitions(tmp, trigger, truth, changes, slos, alarms)
        if self.out.exists():
            if not (self.out / "scenario.yaml").exists() and any(self.out.iterdir()):
                raise ScenarioGenerationError(
                    f"{self.out} exists and is not a scenario directory; not overwriting it"
                )
            shutil.rmtree(self.out, ignore_errors=True)
        try:
            tmp.rename(self.out)
        except OSError:
            if not self.out.is_dir():
                raise
            shutil.rmtree(tmp, ignore_errors=True)  # another process wrote the same bytes first

    # ------------------------------------------------------------------------ helpers
    def _propagation(self) -> list[str]:
        order: list[str] = []
        for fault in self.faults:
            for name in [fault.target.name, *self.topology.upstream_of(fault.target.name)]:
                if name not in order:
                    order.append(name)
        return order

    def _unrelated_deployment(self, propagation: list[str]) -> UnrelatedDeployment | None:
        plan = self.plan
        name = self.plan.rename.get(plan.herring_service or "", plan.herring_service)
        if name is None:
            fault_services = {f.target.name for f in self.faults}
            candidates = [
                s.name
                for s in self.topology.services.values()
                if not s.batch and s.name not in fault_services and s.name not in propagation
            ] or [
                s.name
                for s in self.topology.services.values()
                if not s.batch and s.name not in fault_services
            ]
            name = candidates[self.rng.randrange(len(candidates))]
        if name not in self.topology.services:
            raise ScenarioGenerationError(f"unknown herring service {name!r}")
        at = max(
            self.start_ns + 60 * NS_PER_S,
            self.first_onset
            - int(plan.herring_minutes_before * NS_PER_MIN)
            - self.rng.randrange(0, 40) * NS_PER_S,
        )
        return UnrelatedDeployment(self.topology.services[name], at)

    def _scope(self, propagation: list[str]) -> list[str]:
        root = self.faults[0].target.name
        edges = [s.name for s in self.topology.services.values() if s.passthrough]
        if self.plan.trigger_scope == "root":
            return [root, *[p for p in propagation if p != root]]
        return [*edges, root, *[p for p in propagation if p not in edges and p != root]]

    def _trigger(
        self,
        alarms: list[Alarm],
        specs: list[AlarmSpec],
        slos: list[SloDefinition],
        slo_minutes: dict[str, dict[int, MinuteCounts]],
        propagation: list[str],
    ) -> tuple[Trigger, Alarm | None]:
        plan = self.plan
        scope = self._scope(propagation)
        if plan.trigger == "question":
            text = plan.question or VAGUE_QUESTIONS[plan.seed % len(VAGUE_QUESTIONS)]
            return Trigger(kind=TriggerKind.QUESTION, text=text), None
        if plan.trigger == "alarm":
            symptom = {s.name for s in specs if s.symptom}
            for service in scope:
                fired = [
                    (t, a)
                    for a in alarms
                    if a.service == service
                    and a.name in symptom
                    and (t := first_alarm_time(a, self.first_onset)) is not None
                ]
                if fired:
                    t, alarm = min(fired, key=lambda pair: pair[0])
                    moment = from_nanos(t)
                    reason = next(h.reason for h in alarm.history if h.time == moment)
                    text = f'ALARM: "{alarm.name}" in US East (N. Virginia). {reason}'
                    return Trigger(
                        kind=TriggerKind.ALARM, text=text, service=service, time=moment, alarm=alarm.name
                    ), alarm
        if plan.trigger in ("alarm", "slo"):
            onset_minute = (self.first_onset - self.start_ns) // NS_PER_MIN
            for service in scope:
                for slo in slos:
                    if slo.service != service:
                        continue
                    minute = slo_breach_time(slo, slo_minutes.get(service, {}), int(onset_minute))
                    if minute is not None:
                        moment = from_nanos(self.start_ns + (minute + 1) * NS_PER_MIN)
                        text = f"SLO {slo.name} is burning its error budget fast (goal {slo.goal:.1%})"
                        return Trigger(
                            kind=TriggerKind.SLO, text=text, service=service, time=moment, slo=slo.name
                        ), None
        text = plan.question or VAGUE_QUESTIONS[plan.seed % len(VAGUE_QUESTIONS)]
        return Trigger(kind=TriggerKind.QUESTION, text=text), None

    def _ground_truth(
        self,
        propagation: list[str],
        deployment: UnrelatedDeployment | None,
        batch: BatchJob,
        alarms: list[Alarm],
        alarm_used: Alarm | None,
        trigger: Trigger,
    ) -> GroundTruth:
        primary, *others = self.faults
        factors = list(primary.factors)
        if trigger.time is not None:
            delay = (to_nanos(trigger.time) - self.first_onset) / NS_PER_MIN
            if delay >= 4:
                how = f"alarm {alarm_used.name}" if alarm_used else f"the {trigger.kind.value} trigger"
                factors.append(
                    f"detection delay: {how} fired {math.floor(delay)} minutes after onset "
                    "(3-of-3 datapoint alarms with a lax threshold)"
                )
        herrings: list[str] = []
        if deployment is not None:
            herrings.append(deployment.description)
        if self.plan.red_herrings and batch.service is not None:
            herrings.append(batch.description)
            for alarm in alarms:
                flips = sum(1 for h in alarm.history if h.new_state == "ALARM")
                if flips >= 2 and alarm.name.endswith("queue-depth"):
                    herrings.append(f"flapping alarm {alarm.name} ({flips} ALARM transitions in the window)")
        return GroundTruth(
            root_cause=primary.root_cause(),
            contributing_factors=factors,
            secondary_root_causes=[f.root_cause() for f in others],
            red_herrings=herrings,
            propagation=propagation,
            onset=from_nanos(self.first_onset),
        )

    def _write_definitions(
        self,
        tmp: Path,
        trigger: Trigger,
        truth: GroundTruth,
        changes: list[ChangeEvent],
        slos: list[SloDefinition],
        alarms: list[Alarm],
    ) -> None:
        window = {"start": from_nanos(self.start_ns), "end": from_nanos(self.end_ns)}
        spec = ScenarioSpec(
            name=self.plan.name,
            description=f"Simulated {self.topology.name} production telemetry ({self.minutes} minutes, seed {self.plan.seed})",
            window=window,  # type: ignore[arg-type]
            trigger=trigger,
            tags=["simulated", self.plan.size, *self.plan.tags],
        )
        doc: dict[str, Any] = spec.model_dump(mode="json", exclude_none=True)
        doc["ground_truth"] = truth.model_dump(mode="json", exclude_none=True)
        (tmp / SCENARIO_FILE).write_text(yaml.safe_dump(doc, sort_keys=False, width=110), encoding="utf-8")
        with (tmp / CHANGES_FILE).open("w", encoding="utf-8") as handle:
            for change in changes:
                handle.write(change.model_dump_json(exclude_none=True) + "\n")
        (tmp / SLOS_FILE).write_text(
            yaml.safe_dump(
                {"slos": [s.model_dump(mode="json", exclude_none=True) for s in slos]}, sort_keys=False
            ),
            encoding="utf-8",
        )
        (tmp / ALARMS_FILE).write_text(
            yaml.safe_dump(
                {"alarms": [a.model_dump(mode="json", exclude_none=True) for a in alarms]}, sort_keys=False
            ),
            encoding="utf-8",
        )
