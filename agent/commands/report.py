"""``sleuth report``: investigate a scenario (or read a saved result) and draft its COE."""

from __future__ import annotations

from pathlib import Path

import typer
from pydantic import ValidationError
from rich.console import Console

from agent.commands.aws_options import (
    AwsOptions,
    aws_config_option,
    backend_option,
    end_option,
    live_window,
    open_cli_backend,
    profile_option,
    region_option,
    start_option,
)
from agent.commands.common import fail_on_sleuth_error
from agent.report import Narrator, assess_completeness, draft_report, write_report
from agent.report.past_coes import BUNDLED_COES, load_past_coes
from agent.wiring import Telemetry, investigation_deps, open_knowledge, open_telemetry
from mcp_server.analysis.models import InvestigationResult
from mcp_server.backends.base import TelemetryBackend
from mcp_server.errors import InputFileError, SleuthError
from mcp_server.scenario import Trigger, load_scenario_spec
from mcp_server.telemetry import TimeWindow

console = Console()
DEFAULT_OUT = Path("build/reports")


def register(app: typer.Typer) -> None:
    app.command("report")(report)


def read_result(path: Path) -> InvestigationResult:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InputFileError(path, None, None, "file not found") from None
    except (IsADirectoryError, UnicodeDecodeError):
        raise InputFileError(
            path, None, None, "expected a UTF-8 JSON file (sleuth investigate --json)"
        ) from None
    try:
        return InvestigationResult.model_validate_json(text)
    except ValidationError as exc:
        first = exc.errors()[0]
        field = ".".join(str(p) for p in first["loc"]) or None
        raise InputFileError(path, None, field, f"not an investigation result: {first['msg']}") from None


def investigate(
    data: Path, telemetry: Telemetry, reasoner: str | None, knowledge: bool
) -> InvestigationResult:
    """Run the investigation the way ``sleuth investigate`` does, without drafting from inside the graph."""
    from agent.commands.investigate import warn_knowledge_unavailable
    from agent.run import run_investigation

    spec = telemetry.spec or load_scenario_spec(data)
    with console.status("opening the knowledge base"):
        store = open_knowledge(knowledge, on_error=warn_knowledge_unavailable)
    deps = investigation_deps(telemetry.backend, reasoner=reasoner, knowledge=store, spec=spec)
    with console.status("investigating…"):
        return run_investigation(spec.trigger.model_copy(), deps, data_dir=str(data.resolve()))


def investigate_live(
    backend: TelemetryBackend, reasoner: str | None, knowledge: bool, window: TimeWindow | None
) -> InvestigationResult:
    """Investigate a live backend's window (its default lookback when none is given)."""
    from agent.commands.investigate import warn_knowledge_unavailable
    from agent.run import run_investigation

    store = open_knowledge(knowledge, on_error=warn_knowledge_unavailable)
    deps = investigation_deps(backend, reasoner=reasoner, knowledge=store, spec=None)
    with console.status("investigating…"):
        return run_investigation(Trigger(), deps, window=window)


def _narrator(kind: str) -> Narrator | None:
    if kind == "none":
        return None
    if kind not in ("anthropic", "bedrock"):
        raise SleuthError(f"unknown --narrator {kind!r}: use none, anthropic or bedrock")
    from agent.report.claude_narrator import ClaudeNarrator

    return ClaudeNarrator.from_env(kind)


@fail_on_sleuth_error
def report(
    data: Path | None = typer.Option(None, "--data", help="A scenario directory: investigate it, then draft the COE."),
    result_file: Path | None = typer.Option(None, "--result", help="Draft from a saved result (sleuth investigate --json) instead of investigating."),
    store: Path | None = typer.Option(None, "--store", help="With --result and no --data: the local store holding the telemetry."),
    out: Path = typer.Option(DEFAULT_OUT, "--out", help="Directory for the Markdown, HTML and COE JSON."),
    reasoner: str | None = typer.Option(None, "--reasoner", help="offline | anthropic | bedrock (env SLEUTH_REASONER)."),
    knowledge: bool = typer.Option(True, "--knowledge/--no-knowledge", help="Consult SOPs and past incidents while investigating."),
    coes: list[Path] = typer.Option([], "--coes", help="More past COEs (files or directories) for the recurrence branch."),
    narrator: str = typer.Option("none", "--narrator", help="none (template prose) | anthropic | bedrock: Claude rewrites the summary and lessons."),
    backend_kind: str = backend_option(),
    aws_config: Path | None = aws_config_option(),
    region: str | None = region_option(),
    profile: str | None = profile_option(),
    start: str | None = start_option(),
    end: str | None = end_option(),
) -> None:  # fmt: skip
    """Draft the Correction of Error (COE) for an incident: Markdown, self-contained HTML and COE JSON.

    With --backend aws it investigates the live window (--start/--end) unless --result is given,
    and reads the charts from the account either way."""
    aws = AwsOptions(config_path=aws_config, region=region, profile=profile)
    live = open_cli_backend(backend_kind, aws, {"--data": data, "--store": store})
    if live is None and (start or end):
        raise SleuthError("--start and --end choose a live window; they go with --backend aws")
    if data is None and result_file is None and live is None:
        raise SleuthError(
            "give --data SCENARIO_DIR (to investigate it) or --result RESULT.json (a saved result)"
        )
    narrate = _narrator(narrator)
    saved = read_result(result_file) if result_file is not None else None
    if live is not None:
        telemetry = Telemetry(live, None, "aws backend")
        result = saved or investigate_live(live, reasoner, knowledge, live_window(start, end))
    elif data is not None:
        if not data.is_dir():
            raise InputFileError(data, None, None, "not a directory (expected a scenario directory)")
        telemetry = open_telemetry(data=data)
        result = saved or investigate(data, telemetry, reasoner, knowledge)
    elif saved is not None:
        telemetry = open_telemetry(store=store)
        result = saved
    backend = telemetry.backend
    past, errors = load_past_coes([BUNDLED_COES, *coes])
    for line in errors:
        console.print(f"[yellow]skipped past COE: {line}[/]", highlight=False)
    drafted = draft_report(
        result, backend, past_coes=past, narrator=narrate, narrator_name=getattr(narrate, "name", "narrator")
    )
    paths = write_report(drafted, out)
    score = assess_completeness(drafted)
    console.print(f"[bold]{drafted.title}[/]")
    console.print(
        f"  five whys: {len(drafted.five_whys.walk())} nodes in {len(drafted.five_whys.children)} branches · "
        f"{len(drafted.action_items)} action items · completeness {score.score:.2f} · "
        f"{len(drafted.assessment.placeholders)} placeholders to fill"
    )
    for label, path in (
        ("Markdown", paths.markdown),
        ("HTML", paths.html),
        ("COE JSON", paths.json),
        ("customer RCA", paths.customer_markdown),
    ):
        console.print(f"  {label:<13} {path}")
