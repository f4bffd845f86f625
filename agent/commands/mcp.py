"""``sleuth mcp``: serve Sleuth's read-only incident tools over MCP (stdio for IDEs, or streamable HTTP).

Nothing but MCP messages may reach stdout on the stdio transport, so every notice goes to stderr.
"""

from __future__ import annotations

import functools
import os
import threading
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer
from mcp.types import Resource
from rich.console import Console

from agent.commands.common import fail_on_sleuth_error
from agent.commands.mcp_config import IDES, render_config, sleuth_executable, where_it_goes
from mcp_server.analysis.models import InvestigationResult
from mcp_server.backends.base import TelemetryBackend
from mcp_server.backends.local import LocalBackend
from mcp_server.config import default_store_path
from mcp_server.deps import ServerDeps, ServerLimits
from mcp_server.errors import SleuthError
from mcp_server.http_transport import TOKEN_ENV, HttpGuard
from mcp_server.redaction import RedactionConfig, Redactor
from mcp_server.scenario import ScenarioSpec, Trigger
from mcp_server.telemetry import TimeWindow

if TYPE_CHECKING:
    from mcp_server.server import BackgroundWork

notices = Console(stderr=True)
TRANSPORTS = ("stdio", "http")


def register(app: typer.Typer) -> None:
    app.command("mcp")(mcp)


def open_backend(
    kind: str, data: Path | None, store: Path | None, aws: dict[str, Any]
) -> tuple[TelemetryBackend, str, str]:
    """A scenario directory imported in memory, a local store opened read-only, or AWS.

    Returns the backend, what it is, and (when it holds no telemetry) how to load some. A store
    that does not exist yet is served empty: the IDE then shows the server and its advice, not
    "connection closed".
    """
    if kind != "local":
        if data is not None or store is not None:
            raise SleuthError("--data and --store serve the local backend; leave them out with --backend aws")
        from mcp_server.backends.factory import open_backend as open_named_backend

        options = {k: v for k, v in aws.items() if v is not None}
        described = f"{kind} backend ({aws.get('region') or 'default region'})"
        return open_named_backend(kind, **options), described, ""
    if data is not None and store is not None:
        raise SleuthError("give either --data DIR or --store PATH, not both")
    if data is not None:
        directory = data.absolute()
        backend = LocalBackend.from_scenario(directory)
        return backend, f"scenario directory {directory}", load_hint(None, directory)
    path = (store or default_store_path()).absolute()
    if not path.exists():
        return LocalBackend(None), f"local store {path} (not created yet)", load_hint(path, None)
    return LocalBackend(path, read_only=True), f"local store {path}", load_hint(path, None)


def load_hint(store: Path | None, data: Path | None) -> str:
    """How to give this server telemetry, in commands a person can paste."""
    if data is not None:
        return f"the scenario directory {data} holds no telemetry; point --data at one with OTLP/JSON files"
    return (
        f"load an incident into {store} with `sleuth import --data SCENARIO_DIR --store {store}` (make one "
        f"with `sleuth simulate --out SCENARIO_DIR`, or run `make demo` in a Sleuth checkout), then "
        "restart this MCP server (in the IDE: restart or reconnect it)"
    )


class BackgroundKnowledge:
    """The knowledge store, opened in a background thread so the MCP server answers at once.

    The first start embeds the bundled runbooks and reviews, which can take a minute; an IDE
    gives up on a server that does not answer its handshake within seconds. Until the store is
    open, the knowledge tools say so; ``loaded()`` gives the investigator the store only once ready.
    """

    def __init__(self, opener: Callable[[], Any], wait_seconds: float = 5.0) -> None:
        self.wait_seconds = wait_seconds
        self._opener = opener
        self._done = threading.Event()
        self._store: Any = None
        self._error: Exception | None = None

    def start(self, work: BackgroundWork | None = None) -> BackgroundKnowledge:
        """Begin opening (call once the server itself is built, so the two do not compete).

        With ``work`` the thread is one the server stops (waits for) before it exits."""

        def open_it() -> None:
            try:
                self._store = self._opener()
            except Exception as exc:  # outermost handler of the thread: reported by every later call
                self._error = exc
                notices.print(f"[yellow]knowledge base unavailable ({type(exc).__name__}: {exc})[/]")
            finally:
                self._done.set()

        if work is not None:
            work.start("knowledge-open", open_it)
        else:
            threading.Thread(target=open_it, name="knowledge-open", daemon=True).start()
        return self

    def loaded(self) -> Any:
        return self._store if self._done.is_set() else None

    def _ready(self) -> Any:
        if not self._done.wait(self.wait_seconds):
            raise SleuthError(
                "the knowledge base is still loading (its first start embeds the bundled runbooks); "
                "try again in a minute"
            )
        if self._error is not None:
            raise SleuthError(
                f"the knowledge base could not open: {type(self._error).__name__}: {self._error}"
            )
        return self._store

    def search(self, query: str, **options: Any) -> Any:
        return self._ready().search(query, **options)

    def get_document(self, doc_id: str) -> Any:
        return self._ready().get_document(doc_id)

    def resources(self) -> list[Resource]:
        """Every runbook and past incident review as a listed resource: the store's documents
        once it is open (your own COEs too), the bundled ones until then."""
        store = self.loaded()
        if store is not None:
            documents = [d for d in (store.get_document(i) for i in store.document_ids()) if d is not None]
        else:
            documents = _bundled_documents()
        return [
            Resource(
                uri=f"sleuth://{doc.type}/{doc.id}",
                name=doc.id,
                title=doc.title,
                description=("Runbook (SOP): " if doc.type == "sop" else "Past incident review (COE): ")
                + doc.title,
                mime_type="text/markdown",
            )
            for doc in sorted(documents, key=lambda d: (str(d.type), d.id))
        ]


@functools.cache
def _bundled_documents() -> list[Any]:
    from knowledge.ingest import bundled_paths, discover, load_documents

    documents, _errors = load_documents(discover(bundled_paths()))
    return documents


def open_knowledge(enabled: bool, wait_seconds: float = 5.0) -> BackgroundKnowledge | None:
    """The knowledge store opening in the background, or None when it is switched off."""
    if not enabled:
        return None

    def opener() -> Any:
        from knowledge.store import open_store

        store = open_store()
        # one search waits for the embedding model the store loads on a thread of its own, so no
        # thread is left inside onnxruntime when this one ends (and the server may exit)
        store.search("warm up", k=1)
        return store

    return BackgroundKnowledge(opener, wait_seconds)


def make_investigator(
    backend: TelemetryBackend, spec: ScenarioSpec | None, knowledge: Callable[[], Any] = lambda: None
) -> Any:
    """The agent graph with the offline reasoner, checkpointed in memory: deterministic and local.

    ``knowledge()`` gives the knowledge store when it is ready (None until then or without one).
    The graph is imported on the first investigation, not at start-up: an IDE waits for the
    server's handshake, and LangGraph takes seconds to import on a busy machine.
    """

    @functools.cache
    def parts() -> tuple[Any, ...]:
        from langgraph.checkpoint.memory import InMemorySaver

        from agent.checkpoints import serializer
        from agent.run import investigation_deps, run_investigation

        return InMemorySaver(serde=serializer()), investigation_deps, run_investigation

    def investigate(trigger: Trigger | None, window: TimeWindow | None) -> InvestigationResult:
        checkpointer, investigation_deps, run_investigation = parts()
        deps = investigation_deps(
            backend,
            reasoner="offline",
            knowledge=knowledge(),
            spec=spec,
            draft_report=False,
            checkpointer=checkpointer,
        )
        chosen = trigger or (spec.trigger if spec else Trigger())
        result: InvestigationResult = run_investigation(chosen, deps, window=window)
        return result

    return investigate


def make_report_drafter(backend: TelemetryBackend) -> Any:
    """The COE drafter, imported on first use (it brings matplotlib for the charts)."""

    @functools.cache
    def parts() -> tuple[Any, ...]:
        from agent.report import draft_report
        from agent.report.past_coes import load_past_coes
        from agent.report.render_markdown import render_markdown

        past, _problems = load_past_coes()
        return draft_report, render_markdown, past

    def draft(result: InvestigationResult) -> tuple[str, str]:
        draft_report, render_markdown, past = parts()
        report = draft_report(result, backend, past_coes=past)
        return str(report.title), str(render_markdown(report))

    return draft


@fail_on_sleuth_error
def mcp(
    data: Path | None = typer.Option(None, "--data", help="Serve a scenario directory (imported in memory)."),
    store: Path | None = typer.Option(None, "--store", help="Serve a local DuckDB store (default: $SLEUTH_DATA_DIR/store.duckdb)."),
    backend_kind: str = typer.Option("local", "--backend", help="local (scenario or store) or aws (live telemetry)."),
    aws_config: Path | None = typer.Option(None, "--aws-config", help="aws: a backend config file (env SLEUTH_AWS_CONFIG)."),
    region: str | None = typer.Option(None, "--region", help="aws: region (env AWS_REGION)."),
    profile: str | None = typer.Option(None, "--profile", help="aws: credentials profile (env AWS_PROFILE)."),
    transport: str = typer.Option("stdio", "--transport", help="stdio (IDEs) or http (streamable HTTP)."),
    host: str = typer.Option("127.0.0.1", "--host", help="HTTP: interface to listen on (beyond loopback needs SLEUTH_MCP_TOKEN)."),
    port: int = typer.Option(8765, "--port", help="HTTP: port to listen on."),
    allowed_host: list[str] = typer.Option([], "--allowed-host", help="HTTP: a Host header to accept besides loopback, e.g. sleuth.internal:8765 (repeatable)."),
    allowed_origin: list[str] = typer.Option([], "--allowed-origin", help="HTTP: a browser Origin to accept besides loopback (repeatable)."),
    knowledge: bool = typer.Option(True, "--knowledge/--no-knowledge", help="Offer runbook and past-incident search."),
    knowledge_wait: float = typer.Option(5.0, "--knowledge-wait", help="Seconds a knowledge call waits for the store to open."),
    investigate: bool = typer.Option(True, "--investigate/--no-investigate", help="Offer investigate and draft_incident_report."),
    redact: bool = typer.Option(True, "--redact/--no-redact", help="Redact secrets and emails from tool output."),
    redact_pattern: list[str] = typer.Option([], "--redact-pattern", help="Extra regex to redact (repeatable)."),
    keep: list[str] = typer.Option([], "--no-redact-rule", help="Switch one redaction rule off, e.g. email (repeatable)."),
    max_output_chars: int = typer.Option(16_000, "--max-output-chars", help="Largest tool answer, in characters."),
    timeout: float = typer.Option(20.0, "--timeout", help="Seconds a tool call may take before it is stopped."),
    max_window_hours: float = typer.Option(168.0, "--max-window-hours", help="Widest time range one call may read."),
    warm: bool = typer.Option(True, "--warm/--no-warm", help="Recorded data: compute SLOs, call graph and analyses at start-up."),
    print_config: str | None = typer.Option(None, "--print-config", help="Print the MCP configuration for an IDE (claude-code, cursor, kiro, vscode) with absolute paths, and exit."),
) -> None:  # fmt: skip
    """Serve Sleuth's read-only incident tools to an MCP client (Claude Code, Cursor, Kiro, VS Code)."""
    from mcp_server.server import BackgroundWork, build_server, warm_caches

    if transport not in TRANSPORTS:
        raise SleuthError(f"unknown transport {transport!r}; use one of: {', '.join(TRANSPORTS)}")
    if max_output_chars < 2_000:
        raise SleuthError("--max-output-chars must be at least 2000")
    if timeout <= 0 or max_window_hours <= 0:
        raise SleuthError("--timeout and --max-window-hours must be positive")
    if print_config is not None:
        print_ide_config(print_config, data, store, backend_kind, aws_config, region, profile)
        return
    guard = (
        HttpGuard.build(host, allowed_host, allowed_origin, os.environ.get(TOKEN_ENV))
        if transport == "http"
        else None
    )
    redactor = Redactor(RedactionConfig.from_options(redact, keep, redact_pattern))
    aws = {"config_path": aws_config, "region": region, "profile": profile}
    backend, description, hint = open_backend(backend_kind, data, store, aws)
    recorded = isinstance(backend, LocalBackend)
    work = BackgroundWork(report=lambda message: notices.print(f"[yellow]{message}[/]"))
    try:
        spec = backend.scenario_spec() if isinstance(backend, LocalBackend) else None
        knowledge_store = open_knowledge(knowledge, knowledge_wait)
        deps = ServerDeps(
            backend=backend,
            knowledge=knowledge_store,
            investigator=make_investigator(
                backend, spec, knowledge_store.loaded if knowledge_store else lambda: None
            )
            if investigate
            else None,
            report_drafter=make_report_drafter(backend) if investigate else None,
            redactor=redactor,
            limits=ServerLimits(
                max_output_chars=max_output_chars,
                call_timeout_seconds=timeout,
                max_window=timedelta(hours=max_window_hours),
            ),
            clock="data" if recorded else "wall",
            description=description + (f" (incident {spec.name})" if spec else ""),
            load_hint=hint,
        )
        server = build_server(deps)
        if knowledge_store is not None:
            knowledge_store.start(work)
            server.document_lister = knowledge_store.resources
        if warm and recorded:
            work.start("cache warm-up", lambda: warm_caches(deps, work.stopping))
        if deps.data_window() is None and hint:
            notices.print(f"[yellow]sleuth mcp: no telemetry loaded; {hint}[/]", highlight=False)
        if guard is None:
            notices.print(f"sleuth mcp: serving {deps.description} over stdio", highlight=False)
            server.run("stdio")
        else:
            serve_http(server, guard, host, port, deps.description)
    finally:
        # threads first (warm-up stops between steps, its running query is interrupted), then
        # the store: DuckDB aborts the process when a connection closes under a running query
        interrupt = getattr(backend, "interrupt", None)
        left = work.stop(timeout=60, interrupt=interrupt if callable(interrupt) else None)
        if left:
            notices.print(f"[yellow]still running at exit: {', '.join(left)}[/]")
        close = getattr(backend, "close", None)
        if callable(close):
            close()


def serve_http(server: Any, guard: HttpGuard, host: str, port: int, description: str) -> None:
    """Streamable HTTP at http://HOST:PORT/mcp, Host/Origin checked and (beyond loopback) a token."""
    import uvicorn

    app = guard.wrap(server.streamable_http_app(transport_security=guard.transport_security()))
    notices.print(f"sleuth mcp: serving {description} at http://{host}:{port}/mcp", highlight=False)
    if guard.tokens:
        notices.print(f"clients must send 'Authorization: Bearer <token>' ({TOKEN_ENV})", highlight=False)
    uvicorn.run(app, host=host, port=port, log_level="warning")


def print_ide_config(
    ide: str,
    data: Path | None,
    store: Path | None,
    backend_kind: str,
    aws_config: Path | None,
    region: str | None,
    profile: str | None,
) -> None:
    """The IDE's configuration on stdout (ready to save), where it goes on stderr."""
    if ide not in IDES:
        raise SleuthError(f"unknown IDE {ide!r} for --print-config; use one of: {', '.join(IDES)}")
    args = ["mcp"]
    if backend_kind != "local":
        args += ["--backend", backend_kind]
        for option, value in (("--aws-config", aws_config), ("--region", region), ("--profile", profile)):
            if value is not None:
                args += [option, str(value.absolute() if isinstance(value, Path) else value)]
    elif data is not None:
        args += ["--data", str(data.absolute())]
    else:
        args += ["--store", str((store or default_store_path()).absolute())]
    notices.print(f"# {where_it_goes(ide)}", highlight=False)
    typer.echo(render_config(ide, sleuth_executable(), args))
