"""The ``sleuth`` command line: one Typer app composed of per-area command modules.

Each module in :mod:`agent.commands` exposes ``register(app)``. The console script imports only
the module of the command being run: the others pull in LangGraph, matplotlib, chromadb and
friends, and seconds of imports matter for an IDE starting ``sleuth mcp`` or a restarted
``sleuth serve``. ``--help`` (or an unknown command) loads them all.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Sequence
from typing import Any

import typer

# command name -> the module that registers it
COMMANDS: dict[str, str] = {
    "import": "agent.commands.data",
    "store": "agent.commands.data",
    "investigate": "agent.commands.investigate",
    "report": "agent.commands.report",
    "eval": "agent.commands.eval",
    "simulate": "agent.commands.simulate",
    "suite": "agent.commands.simulate",
    "knowledge": "agent.commands.knowledge",
    "mcp": "agent.commands.mcp",
    "serve": "agent.commands.serve",
    "worker": "agent.commands.worker",
    "dlq": "agent.commands.dlq",
    "test-alarm": "agent.commands.test_alarm",
    "aws": "agent.commands.aws",
}


def build_app(modules: Sequence[str] | None = None) -> typer.Typer:
    """A Typer app with the given command modules (all of them by default)."""
    app = typer.Typer(
        name="sleuth",
        help="Sleuth: an incident investigator for on-call engineers.",
        no_args_is_help=True,
        add_completion=False,
        pretty_exceptions_enable=False,
    )
    # A callback keeps the app a command group even when only one single-command module is
    # loaded; without it Typer runs that command directly and `sleuth mcp` sees "mcp" as an
    # unexpected argument.
    app.callback()(_group)
    for module in modules if modules is not None else dict.fromkeys(COMMANDS.values()):
        importlib.import_module(module).register(app)
    return app


def _group() -> None:
    """Sleuth: an incident investigator for on-call engineers."""


def modules_for(argv: Sequence[str]) -> list[str] | None:
    """The one module the invoked command needs, or None (all) for help and unknown commands."""
    for arg in argv:
        if not arg.startswith("-"):
            module = COMMANDS.get(arg)
            return [module] if module is not None else None
        return None
    return None


def main(argv: Sequence[str] | None = None) -> None:  # pragma: no cover - console entry point
    args = list(sys.argv[1:] if argv is None else argv)
    build_app(modules_for(args))(args=args, prog_name="sleuth")


def __getattr__(name: str) -> Any:
    # ``from agent.cli import app`` (tests, CliRunner) gets the complete app.
    if name == "app":
        return build_app()
    raise AttributeError(name)


if __name__ == "__main__":  # python -m agent.cli
    main()
