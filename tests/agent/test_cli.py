from __future__ import annotations

import importlib

import pytest
import typer

from agent.cli import COMMANDS, build_app, main, modules_for


def _registered(module: str) -> set[str]:
    app = typer.Typer()
    importlib.import_module(module).register(app)
    names = {
        command.name or (command.callback.__name__ if command.callback else "")
        for command in app.registered_commands
    }
    names |= {
        group.name or (group.typer_instance.info.name if group.typer_instance else "")
        for group in app.registered_groups
    }
    return {str(name) for name in names}


def test_every_command_is_mapped_to_the_module_that_registers_it() -> None:
    registered = {name: module for module in set(COMMANDS.values()) for name in _registered(module)}

    assert registered == COMMANDS


def test_only_the_invoked_command_module_is_loaded_and_help_loads_all() -> None:
    assert modules_for(["mcp", "--data", "x"]) == ["agent.commands.mcp"]
    assert modules_for(["--help"]) is None
    assert modules_for(["no-such-command"]) is None
    assert len(build_app().registered_commands) + len(build_app().registered_groups) == len(COMMANDS)


def test_each_command_runs_as_a_subcommand_when_loaded_alone(capsys: pytest.CaptureFixture[str]) -> None:
    for name in COMMANDS:
        with pytest.raises(SystemExit) as exited:
            main([name, "--help"])

        assert exited.value.code == 0, name
        assert f"sleuth {name}" in capsys.readouterr().out, name
