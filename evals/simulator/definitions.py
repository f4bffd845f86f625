"""What a scenario says about itself once the telemetry is written: trigger, ground truth, definitions.

The trigger is what an on-call engineer would have received (the first symptom alarm to fire
after the onset, else a fast-burning SLO, else a vague question). The ground truth names the root
cause and everything that is not it but looks like it (red herrings).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from evals.simulator.alarms import AlarmSpec, MinuteCounts, first_alarm_time, slo_breach_time
from evals.simulator.background import BatchJob, UnrelatedDeployment
from evals.simulator.faults.base import NS_PER_MIN, Fault
from evals.simulator.topology import Topology
from mcp_server.scenario import (
    ALARMS_FILE,
    CHANGES_FILE,
    SCENARIO_FILE,
    SLOS_FILE,
    GroundTruth,
    ScenarioSpec,
    Trigger,
    TriggerKind,
)
from mcp_server.telemetry import Alarm, ChangeEvent, SloDefinition, from_nanos, to_nanos

VAGUE_QUESTIONS = [
    "Users report errors on the booking site. What is going on?",
    "Support says the pet clinic app has been flaky for the last few minutes. Can you take a look?",
    "Something seems wrong with the site right now; customers are complaining on social media.",
    "Why is the vet booking app slow and failing for some users?",
]


@dataclass
class Incident:
    """The facts of one simulated incident the definitions are written from."""

    topology: Topology
    faults: list[Fault]
    propagation: list[str]
    start_ns: int
    first_onset: int
    seed: int
    trigger: str  # alarm | slo | question
    trigger_scope: str  # edge | root
    question: str | None


def _scope(incident: Incident) -> list[str]:
    """The services whose symptoms page first: the user-facing edge, or the faulty service itself."""
    root = incident.faults[0].target.name
    propagation = incident.propagation
    edges = [s.name for s in incident.topology.services.values() if s.passthrough]
    if incident.trigger_scope == "root":
        return [root, *[p for p in propagation if p != root]]
    return [*edges, root, *[p for p in propagation if p not in edges and p != root]]


def choose_trigger(
    incident: Incident,
    alarms: list[Alarm],
    specs: list[AlarmSpec],
    slos: list[SloDefinition],
    slo_minutes: dict[str, dict[int, MinuteCounts]],
) -> tuple[Trigger, Alarm | None]:
    scope = _scope(incident)
    question = incident.question or VAGUE_QUESTIONS[incident.seed % len(VAGUE_QUESTIONS)]
    if incident.trigger == "question":
        return Trigger(kind=TriggerKind.QUESTION, text=question), None
    if incident.trigger == "alarm":
        symptom = {s.name for s in specs if s.symptom}
        for service in scope:
            fired = [
                (t, a)
                for a in alarms
                if a.service == service
                and a.name in symptom
                and (t := first_alarm_time(a, incident.first_onset)) is not None
            ]
            if fired:
                t, alarm = min(fired, key=lambda pair: pair[0])
                moment = from_nanos(t)
                reason = next(h.reason for h in alarm.history if h.time == moment)
                text = f'ALARM: "{alarm.name}" in US East (N. Virginia). {reason}'
                return Trigger(
                    kind=TriggerKind.ALARM, text=text, service=service, time=moment, alarm=alarm.name
                ), alarm
    if incident.trigger in ("alarm", "slo"):
        onset_minute = (incident.first_onset - incident.start_ns) // NS_PER_MIN
        for service in scope:
            for slo in slos:
                if slo.service != service:
                    continue
                minute = slo_breach_time(slo, slo_minutes.get(service, {}), int(onset_minute))
                if minute is not None:
                    moment = from_nanos(incident.start_ns + (minute + 1) * NS_PER_MIN)
                    text = f"SLO {slo.name} is burning its error budget fast (goal {slo.goal:.1%})"
                    return Trigger(
                        kind=TriggerKind.SLO, text=text, service=service, time=moment, slo=slo.name
                    ), None
    return Trigger(kind=TriggerKind.QUESTION, text=question), None


def ground_truth(
    incident: Incident,
    deployment: UnrelatedDeployment | None,
    batch: BatchJob,
    red_herrings: bool,
    alarms: list[Alarm],
    alarm_used: Alarm | None,
    trigger: Trigger,
    other_herrings: list[str],
) -> GroundTruth:
    primary, *others = incident.faults
    factors = list(primary.factors)
    if trigger.time is not None:
        delay = (to_nanos(trigger.time) - incident.first_onset) / NS_PER_MIN
        if delay >= 4:
            how = f"alarm {alarm_used.name}" if alarm_used else f"the {trigger.kind.value} trigger"
            factors.append(
                f"detection delay: {how} fired {math.floor(delay)} minutes after onset "
                "(3-of-3 datapoint alarms with a lax threshold)"
            )
    herrings: list[str] = []
    if deployment is not None:
        herrings.append(deployment.description)
    if red_herrings and batch.service is not None:
        herrings.append(batch.description)
        for alarm in alarms:
            flips = sum(1 for h in alarm.history if h.new_state == "ALARM")
            if flips >= 2 and alarm.name.endswith("queue-depth"):
                herrings.append(f"flapping alarm {alarm.name} ({flips} ALARM transitions in the window)")
    herrings.extend(other_herrings)
    return GroundTruth(
        root_cause=primary.root_cause(),
        contributing_factors=factors,
        secondary_root_causes=[f.root_cause() for f in others],
        red_herrings=herrings,
        propagation=incident.propagation,
        onset=from_nanos(incident.first_onset),
    )


def write_definitions(
    directory: Path,
    spec: ScenarioSpec,
    truth: GroundTruth,
    changes: list[ChangeEvent],
    slos: list[SloDefinition],
    alarms: list[Alarm],
) -> None:
    doc: dict[str, Any] = spec.model_dump(mode="json", exclude_none=True)
    doc["ground_truth"] = truth.model_dump(mode="json", exclude_none=True)
    (directory / SCENARIO_FILE).write_text(yaml.safe_dump(doc, sort_keys=False, width=110), encoding="utf-8")
    with (directory / CHANGES_FILE).open("w", encoding="utf-8") as handle:
        for change in changes:
            handle.write(change.model_dump_json(exclude_none=True) + "\n")
    (directory / SLOS_FILE).write_text(
        yaml.safe_dump(
            {"slos": [s.model_dump(mode="json", exclude_none=True) for s in slos]}, sort_keys=False
        ),
        encoding="utf-8",
    )
    (directory / ALARMS_FILE).write_text(
        yaml.safe_dump(
            {"alarms": [a.model_dump(mode="json", exclude_none=True) for a in alarms]}, sort_keys=False
        ),
        encoding="utf-8",
    )
