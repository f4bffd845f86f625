"""Helpers shared by CLI commands: turning user errors into clear messages and exit codes."""

from __future__ import annotations

import functools
import os
import sys
from collections.abc import Callable
from typing import ParamSpec, TypeVar

import typer
from rich.console import Console
from rich.markup import escape

from mcp_server.errors import SleuthError

P = ParamSpec("P")
R = TypeVar("R")

EXIT_USER_ERROR = 2

# Rich falls back to 80 columns when output is not a terminal (a pipe, `tee`, a CI log), which
# folds every table cell; a log has no right edge, so print wider unless COLUMNS says otherwise.
PIPED_WIDTH = 120


def cli_console(stderr: bool = False) -> Console:
    """A console for command output: the terminal's width, or $COLUMNS, or 120 when piped."""
    stream = sys.stderr if stderr else sys.stdout
    piped = not stream.isatty() and not os.environ.get("COLUMNS")
    return Console(stderr=stderr, width=PIPED_WIDTH if piped else None)


error_console = cli_console(stderr=True)


def print_error(message: str) -> None:
    """``error: message`` on stderr, on one line, printed verbatim (paths may hold brackets)."""
    error_console.print(f"[bold red]error:[/] {escape(message)}", highlight=False, soft_wrap=True)


def fail_on_sleuth_error(func: Callable[P, R]) -> Callable[P, R]:
    """Print a :class:`SleuthError` (or a file-system error naming a path) as one line and exit 2."""

    @functools.wraps(func)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return func(*args, **kwargs)
        except SleuthError as exc:
            print_error(str(exc))
            raise typer.Exit(EXIT_USER_ERROR) from None
        except OSError as exc:
            if exc.filename is None:  # not about a path the user gave: keep the traceback
                raise
            print_error(f"cannot use {exc.filename}: {exc.strerror or exc}")
            raise typer.Exit(EXIT_USER_ERROR) from None

    return wrapper
