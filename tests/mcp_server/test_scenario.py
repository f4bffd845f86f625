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
