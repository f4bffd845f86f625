from __future__ import annotations

from pathlib import Path

import pytest

from mcp_server.errors import InputFileError
from mcp_server.scenario import load_ground_truth, load_scenario_spec

SCENARIO = """
name: visits-throttling
window: {start: '2026-01-01T10:00:00+00:00', end: '2026-01-01T10:30:00+00:00'}
trigger: {kind: slo, text: visits availability SLO breached, service: visits, time: '2026-01-01T10:20:00Z'}
ground_truth:
  root_cause: {service: visits, fault_type: dependency_throttling}
  contributing_factors: [retries amplified load]
"""


def test_the_investigation_view_of_a_scenario_never_holds_ground_truth(tmp_path: Path) -> None:
    (tmp_path / "scenario.yaml").write_text(SCENARIO)

    spec = load_scenario_spec(tmp_path)

    assert "ground_truth" not in spec.model_dump()
    assert spec.trigger.service == "visits"
    assert load_ground_truth(tmp_path).root_cause.fault_type == "dependency_throttling"  # type: ignore[union-attr]


def test_scenario_json_is_accepted_as_yaml(tmp_path: Path) -> None:
    (tmp_path / "scenario.yaml").write_text(
        '{"name": "j", "window": {"start": "2026-01-01T10:00:00Z", "end": "2026-01-01T11:00:00Z"}}'
    )

    assert load_scenario_spec(tmp_path).name == "j"


def test_a_window_in_the_wrong_order_names_the_field(tmp_path: Path) -> None:
    (tmp_path / "scenario.yaml").write_text(
        "name: x\nwindow: {start: '2026-01-01T11:00:00Z', end: '2026-01-01T10:00:00Z'}\n"
    )

    with pytest.raises(InputFileError) as caught:
        load_scenario_spec(tmp_path)

    assert caught.value.field == "window" and "not after its start" in caught.value.problem


def test_a_time_without_offset_is_rejected(tmp_path: Path) -> None:
    (tmp_path / "scenario.yaml").write_text(
        "name: x\nwindow: {start: '2026-01-01T10:00:00', end: '2026-01-01T11:00:00'}\n"
    )

    with pytest.raises(InputFileError, match="UTC offset"):
        load_scenario_spec(tmp_path)


def test_a_character_yaml_refuses_is_reported_on_one_line_with_its_line(tmp_path: Path) -> None:
    (tmp_path / "scenario.yaml").write_text("name: x\ndescription: bell\x07\n")

    with pytest.raises(InputFileError) as caught:
        load_scenario_spec(tmp_path)

    assert caught.value.line == 2 and "\n" not in str(caught.value)
    assert caught.value.problem == "not valid YAML: unacceptable character #x0007"


def test_a_trigger_outside_the_window_is_loaded_with_a_warning(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    (tmp_path / "scenario.yaml").write_text(SCENARIO.replace("10:20:00Z", "12:20:00Z"))

    spec = load_scenario_spec(tmp_path)

    assert spec.trigger.time is not None and spec.trigger.time.hour == 12
    assert [r.getMessage() for r in caplog.records] == [
        f"warning: {tmp_path / 'scenario.yaml'} field 'trigger.time': 2026-01-01T12:20:00+00:00 is outside the "
        "window 2026-01-01T10:00:00+00:00 to 2026-01-01T10:30:00+00:00; is the trigger time or the window wrong?"
    ]


def test_an_alarm_firing_seconds_after_the_data_ends_is_no_mistake_and_loads_quietly(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    # the alarm evaluated the data's last minute and fired 20 s after the export ended on the minute
    (tmp_path / "scenario.yaml").write_text(SCENARIO.replace("10:20:00Z", "10:30:20Z"))

    spec = load_scenario_spec(tmp_path)

    assert spec.trigger.time is not None and spec.trigger.time.minute == 30
    assert caplog.records == []


def test_a_secret_in_the_trigger_or_description_is_redacted_when_the_scenario_loads(tmp_path: Path) -> None:
    (tmp_path / "scenario.yaml").write_text(
        SCENARIO.replace(
            "visits availability SLO breached", "'visits down, DSN postgres://app:hunter2xyz@db/v'"
        )
        + "description: rotated key AKIAIOSFODNN7EXAMPLE\n"
    )

    spec = load_scenario_spec(tmp_path)

    assert spec.trigger.text == "visits down, DSN postgres://app:[REDACTED:password]@db/v"
    assert spec.description == "rotated key [REDACTED:aws_access_key]"
