"""The ``sleuth`` command line: one Typer app composed of per-area command modules.

Each module in :mod:`agent.commands` exposes ``register(app)``; this file only lists them.
"""

from __future__ import annotations

import importlib

import typer

app = typer.Typer(
    name="sleuth",
    help="Sleuth: an incident investigator for on-call engineers.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

# One line per command module; each adds its commands to the app.
COMMAND_MODULES = [
    "agent.commands.data",
    "agent.commands.investigate",
    "agent.commands.eval",
    "agent.commands.simulate",
    "agent.commands.knowledge",
    "agent.commands.serve",
    "agent.commands.report",
    "agent.commands.mcp",
]

for _module in COMMAND_MODULES:
    importlib.import_module(_module).register(app)


def main() -> None:  # pragma: no cover - console entry point
    app()


if __name__ == "__main__":  # python -m agent.cli
    main()
