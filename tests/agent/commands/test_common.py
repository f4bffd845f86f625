from __future__ import annotations

from pathlib import Path

import pytest
import typer

from agent.commands.common import cli_console, fail_on_sleuth_error
from mcp_server.errors import SleuthError


def test_a_file_system_error_naming_a_path_becomes_one_line_and_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    blocker = tmp_path / "out"
    blocker.write_text("x")

    @fail_on_sleuth_error
    def write_charts() -> None:
        (blocker / "charts").mkdir(parents=True)

    with pytest.raises(typer.Exit) as exited:
        write_charts()

    assert exited.value.exit_code == 2
    err = capsys.readouterr().err
    assert err.startswith(f"error: cannot use {blocker / 'charts'}: ") and err.count("\n") == 1


def test_an_os_error_without_a_path_keeps_its_traceback() -> None:
    @fail_on_sleuth_error
    def connect() -> None:
        raise ConnectionRefusedError(111, "Connection refused")

    with pytest.raises(ConnectionRefusedError):
        connect()


def test_a_sleuth_error_prints_markup_like_text_verbatim(capsys: pytest.CaptureFixture[str]) -> None:
    @fail_on_sleuth_error
    def fails() -> None:
        raise SleuthError("bad regex [/a-z]+ in /tmp/[x]")

    with pytest.raises(typer.Exit):
        fails()

    assert capsys.readouterr().err == "error: bad regex [/a-z]+ in /tmp/[x]\n"


def test_piped_output_is_120_columns_unless_columns_says_otherwise(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("COLUMNS", raising=False)
    piped = cli_console()
    monkeypatch.setenv("COLUMNS", "90")
    sized = cli_console()

    assert piped.width == 120
    assert sized.width == 90
