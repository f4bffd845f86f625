"""``sleuth aws policy`` and ``sleuth aws check``."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from agent.cli import build_app
from mcp_server.backends.aws.iam import policy_actions

runner = CliRunner()


def test_policy_prints_the_read_only_iam_policy() -> None:
    result = runner.invoke(build_app(["agent.commands.aws"]), ["aws", "policy"])

    assert result.exit_code == 0
    document = json.loads(result.output)
    assert {a for s in document["Statement"] for a in s["Action"]} == policy_actions()


def test_check_with_a_bad_settings_file_exits_2_naming_the_field(tmp_path: Path) -> None:
    settings = tmp_path / "aws.yaml"
    settings.write_text("max_traces: -1\n", encoding="utf-8")

    result = runner.invoke(build_app(["agent.commands.aws"]), ["aws", "check", "--config", str(settings)])

    assert result.exit_code == 2
    assert "max_traces" in result.output and "Traceback" not in result.output


def test_check_with_a_directory_as_config_is_one_clear_error(tmp_path: Path) -> None:
    result = runner.invoke(build_app(), ["aws", "check", "--config", str(tmp_path)])

    assert result.exit_code == 2
    assert f"--config {tmp_path}: is a directory" in result.output
