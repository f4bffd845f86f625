"""``sleuth investigate``: run (or resume) an investigation with a live progress display."""

from __future__ import annotations

import difflib
import json
import sys
from pathlib import Path
from typing import Any

import typer
from rich.markup import escape

from agent.checkpoints import close_checkpointer, open_checkpointer
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
from agent.commands.common import cli_console, fail_on_sleuth_error, print_error
from agent.context import InvestigationDeps
from agent.events import EventKind, ProgressEvent
from agent.run import saved_state, stream_investigation, stream_resume
from agent.wiring import Telemetry, investigation_deps, open_knowledge, open_telemetry
from mcp_server.analysis.models import HypothesisView, InvestigationResult, MitigationKind
from mcp_server.backends.base import TelemetryBackend
from mcp_server.config import default_store_path
from mcp_server.errors import SleuthError
from mcp_server.scenario import Trigger, TriggerKind

console = cli_console()
STEP_COLOURS = {EventKind.NOTE: "yellow", EventKind.FALLBACK: "bold yellow", EventKind.FINDING: "cyan"}


def register(app: typer.Typer) -> None:
    app.command("investigate")(investigate)


def check_outputs(json_out: Path | None, report_dir: Path | None) -> None:
    """Refuse unwritable output paths before the investigation runs, not after."""
    try:
        if report_dir is not None:
            if report_dir.exists() and not report_dir.is_dir():
                raise SleuthError(f"--report {report_dir}: is a file; give a directory for the report")
            report_dir.mkdir(parents=True, exist_ok=True)
        if json_out is not None:
            if json_out.is_dir():
                raise SleuthError(f"--json {json_out}: is a directory; give a file name like result.json")
            json_out.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        path = exc.filename or report_dir or json_out
        raise SleuthError(f"cannot create {path}: {exc.strerror or exc}") from None


def check_service(backend: TelemetryBackend, service: str, source: Path | str) -> None:
    """A mistyped --service would investigate nothing in particular: name the services there are."""
    known = backend.list_services()
    if known and service not in known:
        close = difflib.get_close_matches(service, known, n=1)
        hint = f"did you mean {close[0]!r}? " if close else ""
        raise SleuthError(f"--service {service!r} is not in {source}; {hint}services: {', '.join(known)}")


def warn_knowledge_unavailable(reason: str) -> None:
    console.print(
        f"[yellow]knowledge base unavailable ({escape(reason)}); continuing without it[/]", highlight=False
    )


def parse_review_answer(text: str) -> dict[str, Any]:
    """``accept 1`` · ``reject 2`` · ``look SERVICE TEXT`` · JSON · empty (carry on)."""
    text = text.strip()
    if not text:
        return {}
    if text.startswith("{"):
        try:
            value = json.loads(text)
        except json.JSONDecodeError as exc:
            raise SleuthError(f"review answer is not valid JSON: {exc.msg} at column {exc.colno}") from None
        if not isinstance(value, dict):
            raise SleuthError('review answer must be a JSON object like {"reject": [1]}')
        return value
    verb, _, rest = text.partition(" ")
    if verb in ("accept", "reject"):
        try:
            return {verb: [int(part) for part in rest.replace(",", " ").split()]}
        except ValueError:
            raise SleuthError(f"{verb} takes hypothesis ranks, e.g. '{verb} 1 2'") from None
    if verb == "look":
        service, _, needle = rest.strip().partition(" ")
        return {"add_evidence": [{"service": service or None, "text": needle.strip()}]}
    raise SleuthError(f"unknown review answer {text!r}: use accept N, reject N, look SERVICE TEXT, or JSON")


def render_event(event: ProgressEvent) -> None:
    if event.kind is EventKind.STEP_STARTED:
        console.print(f"[bold]▸ {escape(event.step)}[/] {escape(event.message)}")
    elif event.kind in STEP_COLOURS:
        console.print(f"  [{STEP_COLOURS[event.kind]}]{escape(event.message)}[/]", highlight=False)


VERIFIED_WORDS = {True: "[green]verified[/]", False: "[red]refuted[/]", None: "[dim]untested[/]"}


def print_hypotheses(hypotheses: list[HypothesisView]) -> None:
    """One aligned line per hypothesis (rank, service, fault type, confidence, verified), then its evidence."""
    service_width = max((len(h.service) for h in hypotheses), default=0)
    fault_width = max((len(h.fault_type) for h in hypotheses), default=0)
    for h in hypotheses:
        row = escape(
            f"#{h.rank} {h.service:<{service_width}}  {h.fault_type:<{fault_width}}  {h.confidence:.2f}"
        )
        verified = VERIFIED_WORDS[h.verified]
        console.print(
            f"  [bold]{row}[/]  {verified}" if h.rank == 1 else f"  {row}  {verified}", highlight=False
        )
        line = headline(h.service, h.summary)
        if line:
            console.print(f"     {line}", markup=False, highlight=False, overflow="ellipsis", no_wrap=True)


def review_views(payload: dict[str, Any]) -> list[HypothesisView]:
    """The hypotheses of a review pause (checkpointed as JSON) read back."""
    return [HypothesisView.model_validate(h) for h in payload.get("hypotheses", [])]


def render_review(payload: dict[str, Any]) -> None:
    console.print()
    console.print("[bold]Review the hypotheses[/] (accept what the evidence shows, reject what it does not):")
    print_hypotheses(review_views(payload))


def check_ranks(answer: dict[str, Any], ranks: list[int]) -> dict[str, Any]:
    """Accepting or rejecting a rank that is not on the list would silently do nothing."""
    for verb in ("accept", "reject"):
        values = answer.get(verb) or []
        unknown = [r for r in values if r not in ranks] if isinstance(values, list) else []
        if unknown:
            listed = ", ".join(str(r) for r in ranks) or "none"
            raise SleuthError(f"{verb} {unknown[0]}: no hypothesis has that rank (ranks: {listed})")
    return answer


def headline(service: str, summary: str) -> str:
    """The hypothesis' one line for the summary: its evidence, not a restatement of the columns.

    Engine summaries open with "service: fault type (what that means)." and then say what the
    data shows; the columns already carry the first part, so the second sentence is the news.
    """
    sentences = [part.strip() for part in summary.split(". ") if part.strip()]
    if len(sentences) > 1 and sentences[0].startswith(f"{service}:"):
        return sentences[1].rstrip(".")
    return sentences[0].rstrip(".") if sentences else ""


def render_summary(result: InvestigationResult, reports: dict[str, str] | None = None) -> None:
    """What an on-call engineer needs first: ranked causes, what to do in order, where the COE is."""
    console.print()
    console.print(
        f"[bold]Investigation {result.id}[/] ({result.reasoner} reasoner) — likely causes:", highlight=False
    )
    print_hypotheses([HypothesisView.of(h) for h in result.hypotheses[:5]])
    applicable = [m for m in result.mitigations if m.applicable]
    if applicable:
        console.print("[bold]Mitigate, in this order:[/]")
    for m in applicable[:4]:
        console.print(f"  {m.order}. [bold]{m.kind.value}[/]: {escape(m.action)}", highlight=False)
        if m.risk:
            console.print(f"     [dim]risk: {escape(m.risk)}[/]", highlight=False)
    skipped = [m for m in result.mitigations if not m.applicable and m.kind is MitigationKind.ROLLBACK]
    for m in skipped:
        console.print(f"  [dim]rollback not advised: {escape(m.rationale)}[/]", highlight=False)
    for text in result.notes:
        console.print(f"  [dim]note: {escape(text)}[/]", highlight=False)
    if result.timings.get("total") is not None:
        console.print(f"  [dim]{result.timings['total']:.1f}s, {result.tool_calls} tool calls[/]")
    if reports:
        main = reports.get("markdown") or next(iter(reports.values()))
        stem = Path(main).name.split(".")[0]
        others = [Path(path).name for path in reports.values() if path != main]
        short = [name[len(stem) :] if name.startswith(stem + ".") else name for name in others]
        console.print(f"[bold]COE draft:[/] {escape(main)}", highlight=False)
        if short:
            console.print(f"  [dim]alongside it: {escape(', '.join(short))}[/]", highlight=False)


def consume(events: Any) -> tuple[InvestigationResult | None, ProgressEvent | None, dict[str, str]]:
    """Show events under a spinner naming the current step; return the result or the review pause."""
    with console.status("investigating", spinner="dots") as status:
        for event in events:
            if event.kind is EventKind.STEP_STARTED:
                status.update(f"[bold]{escape(event.step)}[/]: {escape(event.message)}")
            render_event(event)
            if event.kind is EventKind.RESULT and event.result is not None:
                reports = {str(fmt): str(path) for fmt, path in (event.data.get("report") or {}).items()}
                return event.result, None, reports
            if event.kind is EventKind.INTERRUPT:
                return None, event, {}
    raise SleuthError("the investigation ended without a result")


def ask_for_answer(ranks: list[int]) -> dict[str, Any]:
    """Prompt until the answer parses: a typo at 3 a.m. should not end the investigation."""
    while True:
        text = typer.prompt(
            "accept N | reject N | look SERVICE TEXT | Enter to go on", default="", show_default=False
        )
        try:
            return check_ranks(parse_review_answer(text), ranks)
        except SleuthError as exc:
            print_error(str(exc))


def drive(
    events: Any, deps: InvestigationDeps, interactive: bool
) -> tuple[InvestigationResult | None, dict[str, str]]:
    """Show events; on a review pause ask the person (or stop and say how to resume)."""
    while True:
        result, paused, reports = consume(events)
        if result is not None or paused is None:
            return result, reports
        render_review(paused.data.get("payload") or {})
        investigation_id = str(paused.data["id"])
        if not interactive:
            console.print("Paused for review. Resume with:", highlight=False)
            console.print(
                f"  sleuth investigate --resume {investigation_id} --answer 'accept 1'", highlight=False
            )
            console.print("  (or --answer 'reject N', 'look SERVICE TEXT', or JSON)", highlight=False)
            return None, {}
        ranks = [h.rank for h in review_views(paused.data.get("payload") or {})]
        events = stream_resume(investigation_id, deps, ask_for_answer(ranks))


@fail_on_sleuth_error
def investigate(
    data: Path | None = typer.Option(None, "--data", help="A scenario directory to investigate (imported into memory, or into --store when given)."),
    store: Path | None = typer.Option(None, "--store", help="Local DuckDB store to investigate (default: $SLEUTH_DATA_DIR/store.duckdb, filled by `sleuth import`)."),
    json_out: Path | None = typer.Option(None, "--json", help="Write the InvestigationResult as JSON here."),
    reasoner: str | None = typer.Option(None, "--reasoner", help="offline, anthropic or bedrock (default: $SLEUTH_REASONER, else anthropic when ANTHROPIC_API_KEY is set, else offline)."),
    question: str | None = typer.Option(None, "--question", help="What to investigate, in words."),
    service: str | None = typer.Option(None, "--service", help="The service the symptom shows in (overrides the scenario's trigger)."),
    resume: str | None = typer.Option(None, "--resume", help="Resume a checkpointed investigation by id."),
    answer: str | None = typer.Option(None, "--answer", help="With --resume: the review answer: 'accept N', 'reject N', 'look SERVICE TEXT' or JSON."),
    review: bool = typer.Option(False, "--review", help="Pause after verification so a person can accept, reject or add evidence."),
    knowledge: bool = typer.Option(True, "--knowledge/--no-knowledge", help="Consult SOPs and past incidents."),
    report_dir: Path | None = typer.Option(None, "--report", help="Draft the COE (Markdown, HTML, JSON, customer RCA) into this directory."),
    checkpoints: str | None = typer.Option(None, "--checkpoints", help="Checkpoint SQLite file or postgresql:// URL (default: $SLEUTH_CHECKPOINT_URL, else $SLEUTH_DATA_DIR/checkpoints.sqlite)."),
    backend_kind: str = backend_option(),
    aws_config: Path | None = aws_config_option(),
    region: str | None = region_option(),
    profile: str | None = profile_option(),
    start: str | None = start_option(),
    end: str | None = end_option(),
) -> None:  # fmt: skip
    """Investigate an incident: scope, gather in parallel, consult SOPs, rank, verify, mitigate.

    Without --data it investigates the local store (`sleuth import --data DIR` fills it); with
    --backend aws, the live account (--start/--end pick the window). Example:
    sleuth investigate --data .data/scenarios/demo --report reports/
    """
    if answer is not None and resume is None:
        raise SleuthError("--answer goes with --resume ID (the paused investigation to answer)")
    check_outputs(json_out, report_dir)
    checkpointer = open_checkpointer(checkpoints)
    telemetry: Telemetry | None = None
    try:
        previous = saved_state(resume, checkpointer) if resume else None
        if resume and previous is None:
            raise SleuthError(
                f"no checkpointed investigation with id {resume!r} in {checkpoints or 'the data directory'}"
            )
        # a mistyped answer is refused before the telemetry and the knowledge base are opened
        reply = parse_review_answer(answer) if resume and answer else None
        if reply and previous is not None:
            check_ranks(reply, [h.rank for h in previous.hypotheses])
        aws = AwsOptions(config_path=aws_config, region=region, profile=profile)
        live = open_cli_backend(backend_kind, aws, {"--data": data, "--store": store})
        if live is None and (start or end):
            raise SleuthError("--start and --end choose a live window; they go with --backend aws")
        if previous is not None and live is None and data is None and store is None and previous.data_dir:
            data = Path(previous.data_dir)
        telemetry = (
            Telemetry(live, None, "aws backend")
            if live is not None
            else open_telemetry(data=data, store=store)
        )
        backend, spec = telemetry.backend, telemetry.spec
        window = live_window(start, end) if live is not None else None
        if service:
            check_service(
                backend, service, data or store or ("the AWS account" if live else default_store_path())
            )
        store_for_knowledge = None
        if knowledge:
            with console.status(
                "opening the knowledge base (the first run indexes the bundled SOPs and COEs)"
            ):
                store_for_knowledge = open_knowledge(on_error=warn_knowledge_unavailable)
        deps = investigation_deps(
            backend,
            reasoner=reasoner,
            knowledge=store_for_knowledge,
            spec=spec,
            human_review=review or (previous is not None and answer is not None),
            report_dir=str(report_dir) if report_dir else None,
            checkpointer=checkpointer,
        )
        if resume:
            events = stream_resume(resume, deps, reply)
        else:
            trigger = spec.trigger.model_copy() if spec else Trigger()
            if question:
                trigger = trigger.model_copy(update={"text": question, "kind": TriggerKind.QUESTION})
            if service:
                trigger = trigger.model_copy(update={"service": service})
            events = stream_investigation(
                trigger,
                deps,
                question=question or "",
                data_dir=str(data.resolve()) if data else None,
                window=window,
            )
        result, reports = drive(events, deps, interactive=review and sys.stdin.isatty())
    finally:
        close_checkpointer(checkpointer)
        if telemetry is not None:  # release the store file for the next command in this process
            telemetry.close()
    if result is None:
        return
    render_summary(result, reports)
    if json_out is not None:
        try:
            json_out.write_text(result.model_dump_json(indent=2), encoding="utf-8")
        except OSError as exc:
            raise SleuthError(f"--json {json_out}: cannot write ({exc.strerror or exc})") from None
        console.print(f"Wrote {json_out}", markup=False, highlight=False)
