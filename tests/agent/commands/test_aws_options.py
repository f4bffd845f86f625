"""``--backend aws`` on investigate, report, serve and mcp: one-line errors, and a live
investigation against moto plus responders."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner

from agent.cli import build_app
from agent.commands.aws_options import live_window
from agent.wiring import investigate_engine_only as investigate
from evals.simulator import FaultSpec, ScenarioPlan, write_scenario
from mcp_server.backends.aws.testing.environment import scenario_environment
from mcp_server.backends.local import LocalBackend
from mcp_server.errors import SleuthError
from mcp_server.scenario import load_scenario_spec
from mcp_server.taxonomy import FaultType

runner = CliRunner()
COMMANDS = {
    "investigate": ["investigate", "--no-knowledge"],
    "report": ["report", "--no-knowledge"],
    "serve": ["serve"],
    "mcp": ["mcp", "--no-knowledge"],
}


@pytest.fixture(autouse=True)
def _aws_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Fake credentials, no shared AWS files, no instance metadata: nothing can reach AWS."""
    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_CONFIG_FILE": "/nonexistent",
        "AWS_SHARED_CREDENTIALS_FILE": "/nonexistent",
        "AWS_EC2_METADATA_DISABLED": "true",
        "SLEUTH_DATA_DIR": str(tmp_path / "data"),
    }.items():
        monkeypatch.setenv(name, value)
    for name in ("AWS_PROFILE", "AWS_REGION", "AWS_DEFAULT_REGION", "AWS_SESSION_TOKEN", "SLEUTH_AWS_CONFIG",
                 "SLEUTH_REASONER", "ANTHROPIC_API_KEY"):  # fmt: skip
        monkeypatch.delenv(name, raising=False)


@pytest.mark.parametrize("command", list(COMMANDS))
def test_an_unknown_profile_is_one_line_naming_it(command: str) -> None:
    result = runner.invoke(build_app(), [*COMMANDS[command], "--backend", "aws", "--profile", "nope"])

    assert result.exit_code == 2, result.output
    assert "AWS profile 'nope' is not in ~/.aws/config" in result.output
    assert "Traceback" not in result.output and len(result.output.strip().splitlines()) == 1


@pytest.mark.parametrize("command", list(COMMANDS))
def test_no_region_is_one_line_saying_how_to_give_one(command: str) -> None:
    result = runner.invoke(build_app(), [*COMMANDS[command], "--backend", "aws"])

    assert result.exit_code == 2, result.output
    assert "no AWS region: pass --region" in result.output and "Traceback" not in result.output


def test_no_credentials_is_one_line_saying_where_they_come_from(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")

    result = runner.invoke(build_app(), ["investigate", "--backend", "aws", "--region", "eu-west-1"])

    assert result.exit_code == 2, result.output
    assert "no AWS credentials found" in result.output and "Traceback" not in result.output


def test_local_flags_with_backend_aws_and_aws_flags_without_it_are_errors(tmp_path: Path) -> None:
    mixed = runner.invoke(build_app(), ["investigate", "--backend", "aws", "--data", str(tmp_path)])
    stray = runner.invoke(build_app(), ["investigate", "--region", "eu-west-1", "--data", str(tmp_path)])

    assert mixed.exit_code == 2 and "--data serve the local backend" in mixed.output
    assert stray.exit_code == 2 and "--region go with --backend aws" in stray.output


def test_a_live_window_reads_iso_and_relative_times() -> None:
    now = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)

    iso = live_window("2026-03-10T08:00:00Z", "2026-03-10T10:00:00+01:00", now)
    relative = live_window("-2h", None, now)

    assert iso is not None and (iso.start.hour, iso.duration) == (8, timedelta(hours=1))
    assert relative is not None and (relative.start, relative.end) == (now - timedelta(hours=2), now)
    with pytest.raises(SleuthError, match="is not a time"):
        live_window("yesterday", None, now)


def test_a_live_window_whose_start_is_not_before_its_end_is_an_error() -> None:
    with pytest.raises(SleuthError, match="is not before"):
        live_window("2026-03-10T09:00:00Z", "2026-03-10T08:00:00Z")


@pytest.fixture(scope="module")
def scenario(tmp_path_factory: pytest.TempPathFactory) -> Path:
    plan = ScenarioPlan(
        name="aws-cli", faults=(FaultSpec(FaultType.ERROR_EXCEPTION, "visits", onset_fraction=0.5),),
        seed=7, size="tiny", minutes=10,
    )  # fmt: skip
    return write_scenario(plan, tmp_path_factory.mktemp("aws-cli") / plan.name)


def test_investigate_with_backend_aws_completes_with_a_note_for_every_missing_source(
    scenario: Path, tmp_path: Path
) -> None:
    spec = load_scenario_spec(scenario)
    config = tmp_path / "aws.yaml"
    config.write_text(
        "log_group_template: /sleuth/{service}\nmetric_namespaces: [Sleuth]\ninsights_max_log_groups: 50\n",
        encoding="utf-8",
    )
    out = tmp_path / "result.json"
    with scenario_environment(scenario, transaction_search=False) as loaded:
        loaded.insights.running_polls = 0  # no polling waits
        began = time.perf_counter()
        result = runner.invoke(
            build_app(),
            ["investigate", "--backend", "aws", "--region", "us-east-1", "--aws-config", str(config),
             "--start", spec.window.start.isoformat(), "--end", spec.window.end.isoformat(),
             "--reasoner", "offline", "--no-knowledge", "--json", str(out)],
        )  # fmt: skip
        seconds = time.perf_counter() - began

    assert result.exit_code == 0, result.output
    assert seconds <= 60
    written = json.loads(out.read_text())
    local = investigate(LocalBackend.from_scenario(scenario), spec)
    assert (written["hypotheses"][0]["service"], written["hypotheses"][0]["fault_type"]) == (
        local.hypotheses[0].service,
        local.hypotheses[0].fault_type.value,
    )
    assert any("Transaction Search is off" in n for n in written["notes"]), written["notes"]
