"""``sleuth simulate`` and ``sleuth suite generate``: write simulated incident scenarios."""

from __future__ import annotations

from pathlib import Path

import typer

from mcp_server.errors import SleuthError

suite_app = typer.Typer(help="The built-in scenario suite.", no_args_is_help=True)


def _fail(message: str) -> None:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(code=2)


def _parse_rename(items: list[str]) -> dict[str, str]:
    rename: dict[str, str] = {}
    for item in items:
        old, sep, new = item.partition("=")
        if not sep or not old or not new:
            _fail(f"--rename {item!r}: expected OLD=NEW, e.g. --rename visits=bookings")
        rename[old] = new
    return rename


MAX_MINUTES = 24 * 60


def _check_out(out: Path) -> None:
    """``--out`` is replaced: only ever a scenario directory written before, or a new/empty one."""
    if not out.exists():
        return
    if not out.is_dir():
        _fail(f"--out {out}: is a file; give a directory for the scenario")
    if (out / "scenario.yaml").is_file():
        return
    entries = sorted(entry.name for entry in out.iterdir())
    if entries:
        shown = ", ".join(entries[:3]) + (", …" if len(entries) > 3 else "")
        _fail(
            f"--out {out}: exists and is not a scenario directory (holds {shown}); "
            "it would be replaced, so choose a new or empty directory"
        )


def simulate(
    fault: str = typer.Option(
        ...,
        "--fault",
        help="Fault type id from the taxonomy, e.g. dependency_throttling (a wrong one lists them all).",
    ),
    service: str = typer.Option(
        ..., "--service", help="Service to inject the fault into, e.g. visits (a wrong one lists them all)."
    ),
    seed: int = typer.Option(1, "--seed", help="Random seed: the same seed writes the same bytes."),
    out: Path = typer.Option(
        ...,
        "--out",
        help="Scenario directory to write (a scenario there is replaced; any other non-empty directory is refused).",
    ),
    size: str = typer.Option("default", "--size", help="tiny, default, S (~100k spans) or L (10x S)."),
    minutes: int | None = typer.Option(
        None, "--minutes", help="Window length in minutes, 6 to 1440 (default from size)."
    ),
    red_herrings: bool = typer.Option(
        True, "--red-herrings/--no-red-herrings", help="Unrelated deploy, noisy batch job, flapping alarm."
    ),
    trigger: str = typer.Option("alarm", "--trigger", help="alarm, slo or question."),
    rename: list[str] = typer.Option([], "--rename", help="OLD=NEW service or metric rename (repeatable)."),
) -> None:
    """Simulate one incident into a scenario directory."""
    from evals.simulator import generate_scenario

    if trigger not in ("alarm", "slo", "question"):
        _fail(f"--trigger {trigger!r}: use alarm, slo or question")
    if minutes is not None and minutes > MAX_MINUTES:
        _fail(f"--minutes {minutes}: at most {MAX_MINUTES} (one day)")
    _check_out(out)
    try:
        path = generate_scenario(
            fault,
            service,
            seed,
            out,
            size=size,
            minutes=minutes,
            red_herrings=red_herrings,
            trigger=trigger,
            rename=_parse_rename(rename),
        )
    except SleuthError as exc:
        _fail(str(exc))
    except OSError as exc:
        _fail(f"cannot write {out}: {exc.strerror or exc}")
    typer.echo(f"wrote {path}")


@suite_app.command("generate")
def suite_generate(
    out: Path | None = typer.Option(
        None,
        "--out",
        help="Suite directory (default: $SLEUTH_DATA_DIR/scenarios/builtin, else .data/scenarios/builtin).",
    ),
    quick: bool = typer.Option(False, "--quick", help="Only one scenario per fault type."),
    workers: int | None = typer.Option(None, "--workers", help="Parallel processes (default: up to 2)."),
) -> None:
    """Generate the built-in scenario suite (cached: only changed scenarios are rewritten)."""
    from evals.scenarios.suite import ensure_suite

    if out is not None and out.exists() and not out.is_dir():
        _fail(f"--out {out}: is a file; give a directory for the suite")
    if workers is not None and workers < 1:
        _fail(f"--workers {workers}: give at least 1 process")
    try:
        paths = ensure_suite(out, quick=quick, workers=workers)
    except SleuthError as exc:
        _fail(str(exc))
    except OSError as exc:
        _fail(f"cannot write the suite under {exc.filename or out}: {exc.strerror or exc}")
    typer.echo(f"{len(paths)} scenarios in {paths[0].parent if paths else out}")


def register(app: typer.Typer) -> None:
    app.command("simulate")(simulate)
    app.add_typer(suite_app, name="suite")
