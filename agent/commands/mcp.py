"""``sleuth mcp``: serve Sleuth's read-only incident tools over MCP (stdio for IDEs, or streamable HTTP).

Nothing but MCP messages may reach stdout on the stdio transport, so every notice goes to stderr.
"""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer
from rich.console import Console

from agent.commands.common import fail_on_sleuth_error
from agent.commands.mcp_config import IDES, render_config, sleuth_executable, where_it_goes
from agent.wiring import mcp_investigator, mcp_report_drafter, open_knowledge_in_background, open_telemetry
from mcp_server.backends.base import TelemetryBackend
from mcp_server.config import default_store_path
from mcp_server.deps import ServerDeps, ServerLimits
from mcp_server.errors import SleuthError
from mcp_server.http_transport import TOKEN_ENV, HttpGuard
from mcp_server.redaction import RedactionConfig, Redactor
from mcp_server.scenario import ScenarioSpec

if TYPE_CHECKING:
    pass

notices = Console(stderr=True)
TRANSPORTS = ("stdio", "http")


def register(app: typer.Typer) -> None:
    app.command("mcp")(mcp)


def open_backend(
    kind: str, data: Path | None, store: Path | None, aws: dict[str, Any]
) -> tuple[TelemetryBackend, ScenarioSpec | None, str, str]:
    """The telemetry to serve, through the composition root: (backend, spec, what it is, and when it
    holds no telemetry how to load some). A store that does not exist yet is served empty: the IDE
    then shows the server and its advice, not "connection closed"."""
    if kind == "local" and data is not None and store is not None:
        raise SleuthError("give either --data DIR or --store PATH, not both")
    telemetry = open_telemetry(kind, data=data, store=store, aws=aws, missing_ok=True)
    hint = ""
    if kind == "local":
        hint = load_hint(None, data.absolute()) if data is not None else load_hint(telemetry.store_path, None)
    return telemetry.backend, telemetry.spec, telemetry.description, hint


def load_hint(store: Path | None, data: Path | None) -> str:
    """How to give this server telemetry, in commands a person can paste."""
    if data is not None:
        return f"the scenario directory {data} holds no telemetry; point --data at one with OTLP/JSON files"
    return (
        f"load an incident into {store} with `sleuth import --data SCENARIO_DIR --store {store}` (make one "
        f"with `sleuth simulate --out SCENARIO_DIR`, or run `make demo` in a Sleuth checkout), then "
        "restart this MCP server (in the IDE: restart or reconnect it)"
    )


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
    backend, spec, description, hint = open_backend(backend_kind, data, store, aws)
    recorded = backend_kind == "local"
    work = BackgroundWork(report=lambda message: notices.print(f"[yellow]{message}[/]"))
    try:
        knowledge_store = open_knowledge_in_background(
            knowledge,
            wait_seconds=knowledge_wait,
            on_error=lambda message: notices.print(f"[yellow]knowledge base unavailable ({message})[/]"),
        )
        deps = ServerDeps(
            backend=backend,
            knowledge=knowledge_store,
            investigator=mcp_investigator(
                backend, spec, knowledge_store.loaded if knowledge_store else lambda: None
            )
            if investigate
            else None,
            report_drafter=mcp_report_drafter(backend) if investigate else None,
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
