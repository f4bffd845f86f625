from __future__ import annotations

from pathlib import Path

import pytest

from agent.service.compose import read_settings_file, settings_from
from mcp_server.errors import SleuthError


def test_flags_win_over_the_settings_file_which_wins_over_defaults(tmp_path: Path) -> None:
    file = tmp_path / "serve.yaml"
    file.write_text(
        "sns_topics: [arn:aws:sns:eu-west-1:123456789012:prod]\nworkers: 4\nlease-seconds: 20\nqueue: /q.sqlite\n"
    )

    settings = settings_from({"workers": 1, "sns_topics": [], "port": None}, read_settings_file(file))

    assert settings.workers == 1 and settings.lease_seconds == 20 and settings.port == 8080
    assert settings.sns_topics == ["arn:aws:sns:eu-west-1:123456789012:prod"]
    assert settings.queue == Path("/q.sqlite")


def test_secrets_belong_in_the_environment_not_the_settings_file(tmp_path: Path) -> None:
    file = tmp_path / "serve.yaml"
    file.write_text("secret: hunter2\n")

    with pytest.raises(SleuthError, match="put secret in the environment"):
        read_settings_file(file)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("workers: -1\nqueue: q\n", "serve setting workers"),
        ("wrokers: 2\nqueue: q\n", "serve setting wrokers"),
        ("- a list\n", "must be a mapping"),
        ("{unclosed", "is not YAML"),
    ],
)
def test_a_bad_settings_file_is_one_clear_error(tmp_path: Path, text: str, message: str) -> None:
    file = tmp_path / "serve.yaml"
    file.write_text(text)

    with pytest.raises(SleuthError, match=message):
        settings_from({}, read_settings_file(file))


def test_serve_names_a_bad_allow_list_entry_in_one_line(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from agent.cli import build_app

    result = CliRunner().invoke(
        build_app(["agent.commands.serve"]),
        ["serve", "--workers", "0", "--queue", str(tmp_path / "q.sqlite"), "--sns-topic", "prod-alarms"],
    )

    assert result.exit_code == 2
    assert "'prod-alarms' is neither a topic ARN" in result.output and "Traceback" not in result.output
