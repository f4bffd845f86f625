"""The ground truth a correct COE is scored against, derived from what the simulator wrote."""

from __future__ import annotations

from pathlib import Path

import yaml

from mcp_server.scenario import load_ground_truth
from mcp_server.telemetry import Alarm, AlarmState
from tests.evals.simulator.conftest import ScenarioFactory


def _alarm(directory: Path, name: str) -> Alarm:
    raw = yaml.safe_load((directory / "alarms.yaml").read_text(encoding="utf-8"))["alarms"]
    return Alarm.model_validate(next(a for a in raw if a["name"] == name))


def test_an_alarm_triggered_scenario_was_detected_when_its_trigger_alarm_fired(simulated: ScenarioFactory):
    directory = simulated("bad_deployment", "customers", red_herrings=True)
    truth = load_ground_truth(directory)
    trigger = yaml.safe_load((directory / "scenario.yaml").read_text(encoding="utf-8"))["trigger"]

    assert truth is not None and truth.onset is not None and truth.detected_at is not None
    assert truth.detected_by == trigger["alarm"]
    assert truth.detected_at.isoformat().replace("+00:00", "Z") == trigger["time"].replace("+00:00", "Z")
    assert truth.detected_at > truth.onset
    assert truth.customer_facing_service == "frontend"
    assert truth.key_metric == "http.server.request.errors" and truth.key_terms  # the new version


def test_a_question_scenario_is_detected_by_the_first_paging_alarm_on_the_customer_facing_service(
    simulated: ScenarioFactory,
):
    directory = simulated("bad_deployment", "customers", trigger="question")
    truth = load_ground_truth(directory)

    assert truth is not None and truth.onset is not None and truth.detected_by == "frontend-5xx-errors"
    fired = [
        t.time
        for t in _alarm(directory, "frontend-5xx-errors").history
        if t.new_state == AlarmState.ALARM and t.time >= truth.onset
    ]
    assert truth.detected_at == fired[0]


def test_a_question_scenario_without_a_paging_alarm_is_detected_when_the_entry_slo_burns(
    simulated: ScenarioFactory,
):
    truth = load_ground_truth(simulated("error_exception", "visits", trigger="question"))

    assert truth is not None and truth.onset is not None and truth.detected_at is not None
    assert truth.detected_by == "frontend-availability"
    assert truth.detected_at > truth.onset and truth.detected_at.second == 0  # the end of a burning minute


def test_az_and_memory_faults_name_their_zone_and_their_metric(simulated: ScenarioFactory):
    az = load_ground_truth(simulated("az_impairment", "appointments"))
    leak = load_ground_truth(simulated("memory_leak", "visits"))
    renamed = load_ground_truth(
        simulated("memory_leak", "visits", rename=(("process.memory.usage", "mem.rss"),))
    )

    assert az is not None and az.affected_zone is not None and az.key_terms == [az.affected_zone]
    assert az.affected_zone == az.root_cause.availability_zone
    assert leak is not None and leak.key_metric == "process.memory.usage" and leak.affected_zone is None
    assert renamed is not None and renamed.key_metric == "mem.rss"
