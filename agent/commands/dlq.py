"""``sleuth dlq list|redrive``: investigations that failed every retry."""

from __future__ import annotations

import os
from contextlib import closing
from pathlib import Path

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from agent.commands.common import fail_on_sleuth_error
from agent.commands.serve import default_queue_path
from agent.service.jobs import JobStore
from agent.service.queue import InvestigationQueue
from mcp_server.errors import SleuthError

console = Console()
dlq_app = typer.Typer(
    help="The dead-letter queue of investigations that failed every retry.", no_args_is_help=True
)


def register(app: typer.Typer) -> None:
    app.add_typer(dlq_app, name="dlq")


@dlq_app.command("list")
@fail_on_sleuth_error
def dlq_list(
    queue_path: Path | None = typer.Option(
        None,
        "--queue",
        help="SQLite queue file (default: SLEUTH_DATABASE_URL when set, else the data directory's).",
    ),
) -> None:
    """Investigations that failed every retry, with their last error."""
    with closing(_open_queue(queue_path)) as queue:
        dead = queue.dead_letters()
    table = Table(title="Dead-letter queue")
    for column in ("id", "alarm", "service", "attempts", "last error"):
        table.add_column(column)
    for job in dead:
        cells = (job.id, job.alarm_name, job.service or "-", str(job.attempts), (job.error or "")[:120])
        table.add_row(*(escape(cell) for cell in cells))
    console.print(table)


@dlq_app.command("redrive")
@fail_on_sleuth_error
def dlq_redrive(
    job_id: str | None = typer.Argument(None, help="One investigation id; omit with --all."),
    all_jobs: bool = typer.Option(False, "--all", help="Requeue every dead investigation."),
    queue_path: Path | None = typer.Option(
        None,
        "--queue",
        help="SQLite queue file (default: SLEUTH_DATABASE_URL when set, else the data directory's).",
    ),
) -> None:
    """Requeue dead investigations (safe: investigations are idempotent)."""
    if (job_id is None) == (not all_jobs):
        raise SleuthError("name one investigation id, or pass --all")
    with closing(_open_queue(queue_path)) as queue:
        moved = queue.redrive(None if all_jobs else job_id)
    if job_id is not None and moved == 0:
        raise SleuthError(f"no dead investigation with id {job_id!r}")
    console.print(f"Requeued {moved} investigation(s).")


def _open_queue(queue_path: Path | None) -> JobStore:
    from agent.service.pgstore import PostgresJobStore, database_url

    url = database_url(os.environ)
    if url is not None and queue_path is None:
        return PostgresJobStore(url)
    path = queue_path or default_queue_path()
    if not path.exists():
        raise SleuthError(f"no queue at {path}; start `sleuth serve` first or pass --queue")
    return InvestigationQueue(path)
