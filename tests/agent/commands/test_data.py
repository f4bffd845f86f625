from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from agent.cli import app

runner = CliRunner()


@pytest.fixture(autouse=True)
def _data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SLEUTH_DATA_DIR", str(tmp_path / "data"))


def test_a_malformed_scenario_yaml_names_the_file_and_line(tmp_path: Path) -> None:
    scenario = tmp_path / "broken"
    scenario.mkdir()
    (scenario / "scenario.yaml").write_text("name: [unclosed\n")

    result = runner.invoke(app, ["import", "--data", str(scenario)])

    assert result.exit_code == 2
    assert "scenario.yaml:2: not valid YAML" in result.output


def test_a_bad_traces_line_names_the_line_and_leaves_no_empty_store_behind(
    scenario_dir: Path, tmp_path: Path
) -> None:
    broken = tmp_path / "broken"
    shutil.copytree(scenario_dir, broken)
    lines = (broken / "traces.jsonl").read_text().splitlines()
    (broken / "traces.jsonl").write_text("\n".join([lines[0], "{not json", *lines[1:]]) + "\n")
    store = tmp_path / "store.duckdb"

    result = runner.invoke(app, ["import", "--data", str(broken), "--store", str(store)])

    assert result.exit_code == 2
    assert "traces.jsonl:2: not valid JSON" in result.output
    assert not store.exists()


def test_importing_a_file_instead_of_a_directory_is_refused(tmp_path: Path) -> None:
    a_file = tmp_path / "traces.jsonl"
    a_file.write_text("{}\n")

    result = runner.invoke(app, ["import", "--data", str(a_file)])

    assert result.exit_code == 2
    assert "not a directory" in result.output
    assert not (tmp_path / "data" / "store.duckdb").exists()


def test_store_reports_a_missing_store_and_an_empty_one_plainly(scenario_dir: Path, tmp_path: Path) -> None:
    missing = runner.invoke(app, ["store", "--store", str(tmp_path / "none.duckdb")])
    imported = runner.invoke(
        app, ["import", "--data", str(scenario_dir), "--store", str(tmp_path / "s.duckdb")]
    )
    listed = runner.invoke(app, ["store", "--store", str(tmp_path / "s.duckdb")])

    assert missing.exit_code == 2 and "no local store" in missing.output
    assert imported.exit_code == 0, imported.output
    assert listed.exit_code == 0 and "payments" in listed.output
    assert "UTC" in listed.output and "+00:00" not in listed.output


def test_an_error_naming_a_bracketed_path_prints_the_path_verbatim_on_one_line(tmp_path: Path) -> None:
    odd = tmp_path / "[/bold]incident-[2026]"

    result = runner.invoke(app, ["import", "--data", str(odd)])

    assert result.exit_code == 2
    assert result.output == f"error: {odd}: not a directory (expected a scenario directory)\n"


def test_importing_the_same_scenario_twice_needs_replace(scenario_dir: Path, tmp_path: Path) -> None:
    store = str(tmp_path / "s.duckdb")
    first = runner.invoke(app, ["import", "--data", str(scenario_dir), "--store", store])
    again = runner.invoke(app, ["import", "--data", str(scenario_dir), "--store", store])
    replaced = runner.invoke(app, ["import", "--data", str(scenario_dir), "--store", store, "--replace"])

    assert first.exit_code == 0, first.output
    assert again.exit_code == 2 and "already in" in again.output and "--replace" in again.output
    assert replaced.exit_code == 0, replaced.output


def test_a_directory_of_otlp_files_without_scenario_yaml_still_imports(
    scenario_dir: Path, tmp_path: Path
) -> None:
    raw = tmp_path / "raw"
    shutil.copytree(scenario_dir, raw)
    (raw / "scenario.yaml").unlink()

    result = runner.invoke(app, ["import", "--data", str(raw), "--store", str(tmp_path / "s.duckdb")])

    assert result.exit_code == 0, result.output
    assert "spans" in result.output
