"""Helpers shared by CLI commands: turning user errors into clear messages and exit codes."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import ParamSpec, TypeVar

import typer
from rich.console import Console

from mcp_server.errors import SleuthError

P = ParamSpec("P")
R = TypeVar("R")

error_console = Console(stderr=True)

EXIT_USER_ERROR = 2


def fail_on_sleuth_error(func: Callable[P, R]) -> Callable[P, R]:
    """Print a :class:`SleuthError` as one clear line and exit 2, instead of a traceback."""

    @functools.wraps(func)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return func(*args, **kwargs)
        except SleuthError as exc:
            error_console.print(f"[bold red]error:[/] {exc}", highlight=False)
            raise typer.Exit(EXIT_USER_ERROR) from None

    return wrapper
