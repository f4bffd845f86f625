from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from agent.cli import app
from knowledge.documents import CoeDocument, load_document
from mcp_server.taxonomy import FaultType
from tests.agent.report.incident_fixtures import result_for, write_scenario

runner = CliRunner()


@pytest.fixture(autouse=True)
def _data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SLEUTH_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv("SLEUTH_REASONER", raising=False)


def test_report_investigates_a_scenario_and_writes_markdown_html_and_coe_json(
    scenario_dir: Path, tmp_path: Path
) -> None:
    out = tmp_path / "reports"

    result = runner.invoke(app, ["report", "--data", str(scenario_dir), "--out", str(out), "--no-knowledge"])

    assert result.exit_code == 0, result.output
    coe_files = list(out.glob("*.coe.json"))
    assert len(coe_files) == 1 and "completeness 1.00" in result.output
    coe = load_document(coe_files[0])
    assert isinstance(coe, CoeDocument)
    assert len(coe.five_whys.children) >= 2
    assert list(out.glob("*.html")) and list(out.glob("*.md"))


def test_report_drafts_from_a_saved_result_without_investigating_again(tmp_path: Path) -> None:
    data = write_scenario(tmp_path / "incident")
    saved = tmp_path / "result.json"
    saved.write_text(result_for(FaultType.SINGLE_HOST_FAILURE, component="visits-2").model_dump_json())

    result = runner.invoke(
        app, ["report", "--data", str(data), "--result", str(saved), "--out", str(tmp_path / "o")]
    )

    assert result.exit_code == 0, result.output
    written = json.loads(next((tmp_path / "o").glob("*.coe.json")).read_text())
    assert written["fault_types"] == ["single_host_failure"]
    assert "single host failure in visits (visits-2)" in result.output


def test_report_without_data_or_result_says_what_to_give(tmp_path: Path) -> None:
    result = runner.invoke(app, ["report", "--out", str(tmp_path)])

    assert result.exit_code == 2
    assert "give --data SCENARIO_DIR" in result.output
    assert "Traceback" not in result.output


def test_report_names_a_result_file_that_is_not_an_investigation_result(tmp_path: Path) -> None:
    bad = tmp_path / "result.json"
    bad.write_text('{"hypotheses": "nope"}')

    result = runner.invoke(app, ["report", "--result", str(bad), "--out", str(tmp_path)])

    assert result.exit_code == 2
    assert "result.json" in result.output and "not an investigation result" in result.output


def test_report_rejects_an_unknown_narrator_with_the_choices(tmp_path: Path) -> None:
    saved = tmp_path / "result.json"
    saved.write_text(result_for(FaultType.SINGLE_HOST_FAILURE).model_dump_json())

    result = runner.invoke(
        app, ["report", "--result", str(saved), "--narrator", "gpt", "--out", str(tmp_path)]
    )

    assert result.exit_code == 2
    assert "use none, anthropic or bedrock" in result.output
