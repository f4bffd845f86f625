"""Write one scenario directory: run the engine minute by minute and add the definitions around it.

The output follows the contract in :mod:`mcp_server.scenario`. The same plan gives the same bytes:
one ``random.Random(seed)`` drives every draw, in a fixed order, and nothing reads the clock.
"""

from __future__ import annotations

import os
import random
import shutil
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

from evals.simulator.alarms import (
    AlarmSpec,
    MinuteCounts,
    alarm_specs,
    burn_alert,
    evaluate_alarm,
    slo_definitions,
)
from evals.simulator.background import BatchJob, UnrelatedDeployment
from evals.simulator.carried import scenario_texts
from evals.simulator.definitions import Incident, choose_trigger, ground_truth, write_definitions
from evals.simulator.engine import Engine
from evals.simulator.faults import FAULT_CLASSES, Fault, FaultSetupError, FaultSpec, fault_class
from evals.simulator.faults.base import NS_PER_MIN, NS_PER_S, HostEvent
from evals.simulator.metrics import METRIC_INFO, MetricRecorder
from evals.simulator.observation import Observation
from evals.simulator.otlp import JsonlWriter
from evals.simulator.periods import PeriodWriter, bucket_values
from evals.simulator.quirks import Quirks
from evals.simulator.records import Resources
from evals.simulator.topology import Topology, load_topology
from evals.simulator.traffic import diurnal, poisson
from evals.simulator.trouble import Trouble
from evals.simulator.truth import correctness_truth
from mcp_server.scenario import LOGS_FILE, METRICS_FILE, TRACES_FILE, ScenarioSpec
from mcp_server.taxonomy import FaultType
from mcp_server.telemetry import Alarm, from_nanos, to_nanos

# entry requests per minute; spans per request average about 11
SIZES: dict[str, dict[str, float]] = {
    "tiny": {"rate": 20, "minutes": 20},
    "default": {"rate": 45, "minutes": 30},
    "S": {"rate": 240, "minutes": 30},
    "L": {"rate": 2400, "minutes": 30},
}
EPOCH = datetime(2026, 3, 10, 8, 0, tzinfo=UTC)


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
    quirks: Quirks = field(default_factory=Quirks)  # what makes real telemetry harder (all off)


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
    variant: str = "",
    host_index: int | None = None,
    quirks: Quirks | None = None,
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
        faults=(FaultSpec(fault_type, service, host_index=host_index, variant=variant),),
        seed=seed,
        size=size,
        minutes=minutes,
        red_herrings=red_herrings,
        trigger=trigger,
        rename=dict(rename or {}),
        quirks=quirks or Quirks(),
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
        try:
            cls = fault_class(spec)
        except FaultSetupError as exc:
            raise ScenarioGenerationError(str(exc)) from None
        return cls(
            spec=replace(spec, service=service),
            topology=self.topology,
            rng=self.rng,
            window_start_ns=self.start_ns,
            window_end_ns=self.end_ns,
            onset_ns=onset_ns,
        )

    # ------------------------------------------------------------------------------ run
    def run(self) -> None:
        plan, topology, rng, quirks = self.plan, self.topology, self.rng, self.plan.quirks
        # per-process scratch directory: two processes may generate the same (identical) scenario at once
        tmp = self.out.with_name(f"{self.out.name}.partial-{os.getpid()}")
        if tmp.exists():
            shutil.rmtree(tmp)
        tmp.mkdir(parents=True)
        propagation = self._propagation()
        deployment = self._unrelated_deployment(propagation) if plan.red_herrings else None
        batch = BatchJob(topology, self.start_ns, noisy=plan.red_herrings, rng=rng)
        resources = Resources(topology)
        # quirks draw from streams of their own: the traffic's stream stays as it is without them
        trouble = Trouble(
            quirks,
            topology,
            self.faults,
            propagation,
            random.Random(plan.seed * 7919 + 1),
            (self.start_ns, self.end_ns),
            self.rate,
        )
        hooks = [*self.faults, *trouble.hooks]
        engine = Engine(topology, hooks, rng, resources)
        engine.version_overrides = [*self.faults]
        if deployment is not None:
            engine.version_overrides.append(deployment)
        engine.version_overrides.extend(trouble.releases)
        events: list[HostEvent] = [e for f in self.faults for e in f.host_events()]
        if deployment is not None:
            events.extend(deployment.host_events())
        events.extend(trouble.host_events())
        events_by_minute: dict[int, list[HostEvent]] = {}
        for event in events:
            if self.start_ns <= event.time_ns < self.end_ns:
                events_by_minute.setdefault((event.time_ns - self.start_ns) // NS_PER_MIN, []).append(event)

        observed = Observation(
            quirks,
            topology,
            random.Random(plan.seed * 7919 + 2),
            self.first_onset,
            (self.start_ns, self.end_ns),
        )
        traces = JsonlWriter(tmp / TRACES_FILE, "traces")
        logs = JsonlWriter(tmp / LOGS_FILE, "logs")
        metrics = JsonlWriter(tmp / METRICS_FILE, "metrics")
        period_minutes = quirks.metric_period_s // 60
        periods = (
            PeriodWriter(metrics, period_minutes, self.start_ns, {v: k for k, v in self.metric_names.items()})
            if period_minutes > 1
            else None
        )
        recorder = MetricRecorder(
            topology, resources, periods or metrics, hooks, rng, self.first_onset, self.metric_names
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
            traces.write_sorted(observed.spans(spans))
            logs.write_sorted(observed.logs(log_items))
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
        if periods is not None:
            periods.flush()
        traces.close()
        logs.close()
        metrics.close()
        self.counts = {"spans": traces.records_written, "logs": logs.records_written}

        onset_minute = (self.first_onset - self.start_ns) // NS_PER_MIN
        baseline = set(range(max(1, onset_minute))) - trouble.disturbed_minutes(self.start_ns)
        if len(baseline) < 2:
            baseline = set(range(max(1, onset_minute)))
        slos = slo_definitions(topology, slo_minutes, baseline)
        alarms, specs = self._alarms(recorder.values, baseline, period_minutes)
        changes = sorted([c for f in self.faults for c in f.changes()], key=lambda c: c.time)
        if deployment is not None:
            changes = sorted([*changes, deployment.change(rng)], key=lambda c: c.time)
        if trouble.releases:
            changes = sorted([*changes, *trouble.changes()], key=lambda c: c.time)
        incident = Incident(
            topology=topology,
            faults=self.faults,
            propagation=propagation,
            start_ns=self.start_ns,
            first_onset=self.first_onset,
            seed=plan.seed,
            trigger=plan.trigger,
            trigger_scope=plan.trigger_scope,
            question=plan.question,
        )
        trigger, alarm_used = choose_trigger(incident, alarms, specs, slos, slo_minutes)
        truth = ground_truth(
            incident, deployment, batch, plan.red_herrings, alarms, alarm_used, trigger, trouble.labels()
        )
        truth = truth.model_copy(
            update=correctness_truth(
                incident,
                trigger,
                alarms,
                specs,
                slos,
                slo_minutes,
                self.metric_names,
                scenario_texts(tmp, changes),
            )
        )
        start, end = observed.window_edges(self.start_ns, self.end_ns, random.Random(plan.seed * 7919 + 3))
        spec = ScenarioSpec(
            name=plan.name,
            description=f"Simulated {topology.name} production telemetry ({self.minutes} minutes, seed {plan.seed})",
            window={"start": from_nanos(start), "end": from_nanos(end)},  # type: ignore[arg-type]
            trigger=trigger,
            tags=["simulated", plan.size, *plan.tags, *quirks.tags()],
        )
        burn_alerts = [
            burn_alert(s, slo_minutes.get(s.service, {}), self.start_ns, self.minutes) for s in slos
        ]
        write_definitions(tmp, spec, truth, changes, slos, [*alarms, *burn_alerts])
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

    def _alarms(
        self, values: dict[tuple[str, str], dict[int, list[float]]], baseline: set[int], period_minutes: int
    ) -> tuple[list[Alarm], list[AlarmSpec]]:
        """The alarms' definitions and histories, evaluated at the metrics' own period."""
        red_herrings = self.plan.red_herrings
        if period_minutes == 1:
            specs = alarm_specs(self.topology, values, baseline, self.metric_names, red_herrings)
            return [
                evaluate_alarm(s, values.get((s.service, s.metric), {}), self.start_ns, self.minutes)
                for s in specs
            ], specs
        coarse = bucket_values(values, period_minutes)
        quiet = {m // period_minutes for m in baseline if (m + 1) % period_minutes == 0} or {0}
        specs = alarm_specs(self.topology, coarse, quiet, self.metric_names, red_herrings, period_minutes)
        periods = -(-self.minutes // period_minutes)
        return [
            evaluate_alarm(
                s, coarse.get((s.service, s.metric), {}), self.start_ns, periods, 60 * period_minutes
            )
            for s in specs
        ], specs

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
