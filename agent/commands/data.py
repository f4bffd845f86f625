"""``sleuth import`` and ``sleuth store``: load telemetry into the embedded local store."""

from __future__ import annotations

import time
from pathlib import Path

import typer
from rich.markup import escape
from rich.table import Table

from agent.commands.common import cli_console, fail_on_sleuth_error
from mcp_server.backends.local import LocalBackend
from mcp_server.config import default_store_path
from mcp_server.errors import SleuthError
from mcp_server.scenario import load_scenario_spec

console = cli_console()


def plural(count: int, noun: str) -> str:
    return f"{count:,} {noun}" if count == 1 else f"{count:,} {noun}s"


def register(app: typer.Typer) -> None:
    app.command("import")(import_data)
    app.command("store")(store_info)


@fail_on_sleuth_error
def import_data(
    data: Path = typer.Option(..., "--data", help="A scenario directory (scenario.yaml + OTLP/JSON files)."),
    store: Path | None = typer.Option(
        None, "--store", help="DuckDB file to import into (default: $SLEUTH_DATA_DIR/store.duckdb)."
    ),
    replace: bool = typer.Option(False, "--replace", help="Empty the store first instead of adding to it."),
) -> None:
    """Import a scenario directory into the local store (all-or-nothing)."""
    path = store or default_store_path()
    spec = load_scenario_spec(data) if (data / "scenario.yaml").is_file() else None
    started = time.perf_counter()
    created = not path.exists()
    try:
        with LocalBackend(path) as backend:
            latest = backend.scenario_spec()
            if not replace and spec is not None and latest is not None and latest.name == spec.name:
                raise SleuthError(
                    f"scenario {spec.name!r} is already in {path}; add --replace to import it again "
                    "(adding it twice would count every span twice)"
                )
            summary = backend.import_scenario(data, replace=replace)
    except BaseException:
        if created:  # the import is all-or-nothing: do not leave an empty store behind
            for leftover in (path, path.with_name(path.name + ".wal")):
                leftover.unlink(missing_ok=True)
        raise
    elapsed = time.perf_counter() - started
    console.print(
        f"Imported [bold]{escape(str(summary.scenario or data))}[/] into {escape(str(path))}: {summary.spans:,} spans, {summary.logs:,} log "
        f"records, {summary.metric_points:,} metric points, {plural(summary.changes, 'change')}, "
        f"{plural(summary.slos, 'SLO')}, {plural(summary.alarms, 'alarm')} in {elapsed:.1f}s"
    )


@fail_on_sleuth_error
def store_info(
    store: Path | None = typer.Option(
        None, "--store", help="DuckDB file (default: $SLEUTH_DATA_DIR/store.duckdb)."
    ),
) -> None:
    """Show what the local store holds: services, time range and counts."""
    path = store or default_store_path()
    with LocalBackend(path, read_only=True) as backend:
        window = backend.time_range()
        table = Table(title=f"Local store {path}")
        table.add_column("service")
        table.add_column("spans", justify="right")
        services = backend.list_services()
        if not services:
            console.print(
                f"The local store {path} holds no telemetry; run `sleuth import --data DIR` first.",
                markup=False,
            )
            return
        for service in services:
            table.add_row(escape(service), f"{backend.count_spans(service=service):,}")
        console.print(table)
        if window:
            start, end = window.start, window.end
            until = (
                end.strftime("%H:%M:%S") if end.date() == start.date() else end.strftime("%Y-%m-%d %H:%M:%S")
            )
            console.print(f"Data from {start:%Y-%m-%d %H:%M:%S} to {until} UTC", highlight=False)
        spec = backend.scenario_spec()
        if spec is not None:
            console.print(f"Last imported scenario: {spec.name}", highlight=False, markup=False)
