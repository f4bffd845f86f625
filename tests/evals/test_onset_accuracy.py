from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest
import yaml

from evals.onset_accuracy import main, onset_error, summarize
from tests.evals.scenario_fixtures import ONSET_MINUTE, START, write_scenario


def _dated(directory: Path, minute: float) -> Path:
    path = directory / "scenario.yaml"
    spec = yaml.safe_load(path.read_text(encoding="utf-8"))
    spec["ground_truth"]["onset"] = (START + timedelta(minutes=minute)).isoformat()
    path.write_text(yaml.safe_dump(spec, sort_keys=False), encoding="utf-8")
    return directory


def test_the_engine_onset_of_a_clear_step_lands_within_a_minute_of_its_label(tmp_path: Path) -> None:
    scenario = _dated(write_scenario(tmp_path / "a"), ONSET_MINUTE)

    error = onset_error(scenario)

    assert error is not None and abs(error) <= 60


def test_a_late_label_shows_as_an_early_engine_onset(tmp_path: Path) -> None:
    on_time = onset_error(_dated(write_scenario(tmp_path / "a"), ONSET_MINUTE))
    late = onset_error(_dated(write_scenario(tmp_path / "b"), ONSET_MINUTE + 5))

    assert on_time is not None and late is not None
    assert late == pytest.approx(on_time - 300)


def test_the_summary_counts_medians_and_scenarios_within_a_minute() -> None:
    summary = summarize([-90.0, -10.0, 5.0, 30.0, 200.0])

    assert summary is not None
    assert (summary.n, summary.median_error, summary.median_abs_error, summary.within) == (5, 5.0, 30.0, 3)
    assert summarize([]) is None


def test_the_command_skips_unlabelled_scenarios_and_writes_each_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    suite = tmp_path / "suite"
    _dated(write_scenario(suite / "dated"), ONSET_MINUTE)
    write_scenario(suite / "undated")
    out = tmp_path / "errors.json"

    assert main([str(suite), "--json", str(out)]) == 0

    printed = capsys.readouterr().out
    assert "undated: skipped (its ground truth dates no onset)" in printed
    assert "n=1 " in printed and "within 60 s: 1/1" in printed
    assert list(json.loads(out.read_text(encoding="utf-8"))) == ["dated"]


def test_a_missing_suite_is_one_line_naming_it(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main([str(tmp_path / "nope")]) == 2

    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "nope: not a directory" in err
