import json

from typer.testing import CliRunner

from agent.cli import app
from tests.evals.scenario_fixtures import write_scenario

runner = CliRunner()


def test_eval_on_a_suite_directory_writes_json_html_and_markdown(tmp_path):
    write_scenario(tmp_path / "suite" / "one")
    out = tmp_path / "out"
    result = runner.invoke(
        app,
        [
            "eval",
            "--suite",
            str(tmp_path / "suite"),
            "--workers",
            "1",
            "--json",
            str(out / "r.json"),
            "--html",
            str(out / "r.html"),
            "--markdown",
            str(out / "r.md"),
        ],
    )
    assert result.exit_code == 0, result.output
    data = json.loads((out / "r.json").read_text())
    assert data["summaries"]["most_errors"]["top1"] == 1.0
    assert (out / "r.html").read_text().startswith("<!doctype html>")
    assert "most errors wins" in (out / "r.md").read_text()


def test_eval_on_a_missing_suite_names_the_directory_and_exits_2(tmp_path):
    result = runner.invoke(app, ["eval", "--suite", str(tmp_path / "nope")])
    assert result.exit_code == 2
    assert "nope" in result.output


def test_eval_refuses_recording_an_offline_run(tmp_path):
    write_scenario(tmp_path / "suite" / "one")
    result = runner.invoke(
        app, ["eval", "--suite", str(tmp_path / "suite"), "--record", str(tmp_path / "rec")]
    )
    assert result.exit_code == 2
    assert "--record and --replay need an LLM reasoner" in result.output
