"""``sleuth eval``: score Sleuth and the baselines on a suite of labelled scenarios."""

from __future__ import annotations

import shlex
import sys
from pathlib import Path

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from agent.commands.common import fail_on_sleuth_error
from evals.harness import default_workers, discover_scenarios, quick_subset, run_suite, usable_methods
from evals.methods import BASELINE_NAMES, build_methods
from evals.recording import RecordingConfig, RecordingMode
from evals.render import print_comparison, print_summary, read_json, write_html, write_json, write_markdown
from evals.results import ScenarioResult
from mcp_server.errors import SleuthError

# Wide enough for the summary table when the output is a file or a CI log.
console = Console(width=None if sys.stdout.isatty() else 160)


def register(app: typer.Typer) -> None:
    app.command("eval")(run_eval)


def builtin_suite(quick: bool) -> list[Path]:
    """The built-in suite (or its quick subset), generated once into a git-ignored cache and reused."""
    try:
        from evals.scenarios.suite import ensure_suite
    except ImportError:
        raise SleuthError("the built-in scenario suite is not in this checkout; pass --suite DIR") from None
    with console.status("generating the built-in scenarios (cached after the first run)"):
        return [Path(path) for path in ensure_suite(quick=quick)]


def resolve_suite(suite: str, quick: bool) -> list[Path]:
    if suite == "builtin":
        return builtin_suite(quick)
    if not Path(suite).is_dir():
        raise SleuthError(
            f"--suite {suite}: no such directory (use 'builtin' or a directory of scenario directories)"
        )
    directories = discover_scenarios(Path(suite))
    return quick_subset(directories) if quick else directories


def check_outputs(*paths: Path | None) -> None:
    """Refuse an output path that cannot be written before a run of many minutes, not after it."""
    for path in paths:
        if path is None:
            continue
        if path.is_dir():
            raise SleuthError(f"{path}: is a directory; give a file name")
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise SleuthError(f"cannot create {exc.filename or path.parent}: {exc.strerror or exc}") from None


def _recording(record: Path | None, replay: Path | None, loose: bool) -> RecordingConfig:
    if record is not None and replay is not None:
        raise SleuthError("choose one of --record and --replay")
    if replay is not None and not replay.is_dir():
        raise SleuthError(
            f"--replay {replay}: no such directory of recorded exchanges (make one with --record)"
        )
    if record is not None:
        if record.exists() and not record.is_dir():
            raise SleuthError(f"--record {record}: is a file; give a directory for the recordings")
        try:
            record.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise SleuthError(f"--record {record}: cannot create ({exc.strerror or exc})") from None
    mode: RecordingMode = "record" if record else "replay" if replay else "off"
    directory = record or replay
    return RecordingConfig(mode=mode, directory=str(directory) if directory else None, strict=not loose)


@fail_on_sleuth_error
def run_eval(
    suite: str = typer.Option("builtin", "--suite", help="'builtin' or a directory of scenario directories."),
    reasoner: str = typer.Option("offline", "--reasoner", help="offline | anthropic | bedrock."),
    json_out: Path | None = typer.Option(None, "--json", help="Write every score to this JSON file."),
    html_out: Path | None = typer.Option(None, "--html", help="Write an HTML report with plots."),
    markdown_out: Path | None = typer.Option(
        None, "--markdown", help="Write the results table as Markdown (for the README)."
    ),
    quick: bool = typer.Option(False, "--quick", help="Only one scenario per fault type (the CI subset)."),
    baselines: bool = typer.Option(
        True, "--baselines/--no-baselines", help="Also run the baselines side by side."
    ),
    workers: int = typer.Option(
        0, "--workers", help="Worker processes (0: min(2, CPUs)).", show_default=False
    ),
    record: Path | None = typer.Option(None, "--record", help="Record LLM exchanges into this directory."),
    replay: Path | None = typer.Option(None, "--replay", help="Replay recorded LLM exchanges, no API calls."),
    compare: Path | None = typer.Option(
        None, "--compare", help="A previous --json result: show what got better or worse."
    ),
    replay_loose: bool = typer.Option(
        False,
        "--replay-loose",
        help="Replay in call order even when requests changed (compare a prompt edit).",
    ),
) -> None:
    """Run every scenario of a suite, score the investigations against ground truth, compare baselines."""
    if workers < 0:
        raise SleuthError(f"--workers {workers}: give a number of processes, or 0 for min(2, CPUs)")
    if reasoner not in ("offline", "anthropic", "bedrock"):
        raise SleuthError(f"--reasoner must be offline, anthropic or bedrock, not {reasoner!r}")
    if (record is not None or replay is not None) and reasoner == "offline":
        raise SleuthError("--record and --replay need an LLM reasoner (--reasoner anthropic or bedrock)")
    recording = _recording(record, replay, replay_loose)
    check_outputs(json_out, html_out, markdown_out)
    before = read_json(compare) if compare is not None else None
    directories = resolve_suite(suite, quick)
    names = [*BASELINE_NAMES, "sleuth"] if baselines else ["sleuth"]
    methods, skipped = usable_methods(build_methods(names, reasoner=reasoner, recording=recording))
    for note in skipped:
        console.print(f"[yellow]skipped[/] {escape(str(note))}", highlight=False)
    if not methods:
        raise SleuthError("no method to evaluate in this checkout")
    command = "sleuth " + shlex.join(sys.argv[1:]) if sys.argv[1:2] == ["eval"] else "sleuth eval"
    with Progress(
        TextColumn("[bold]eval[/]"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TextColumn("{task.description}"),
        console=console,
        transient=True,
    ) as progress:
        task = progress.add_task("", total=len(directories))

        def advance(result: ScenarioResult) -> None:
            failed = result.error or any(not run.ok for run in result.runs.values())
            progress.update(task, advance=1, description=("[red]✗ " if failed else "") + result.scenario)

        run = run_suite(
            directories,
            methods,
            workers=workers or default_workers(),
            on_result=advance,
            suite=suite,
            reasoner=reasoner,
            command=command,
        )
    print_summary(run, console)
    if before is not None:
        print_comparison(before, run, console)
    for path, writer in ((json_out, write_json), (html_out, write_html), (markdown_out, write_markdown)):
        if path is not None:
            try:
                writer(run, path)
            except OSError as exc:
                raise SleuthError(f"cannot write {path}: {exc.strerror or exc}") from None
            console.print(f"Wrote {path}", markup=False, highlight=False)
