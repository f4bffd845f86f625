"""``sleuth mcp``: serve Sleuth's read-only incident tools over MCP (stdio for IDEs, or streamable HTTP).

Nothing but MCP messages may reach stdout on the stdio transport, so every notice goes to stderr.
"""

from __future__ import annotations

import threading
from datetime import timedelta
from pathlib import Path
from typing import Any

import typer
from rich.console import Console

from agent.commands.common import fail_on_sleuth_error
from agent.wiring import mcp_investigator, mcp_report_drafter, open_knowledge_in_background, open_telemetry
from mcp_server.deps import ServerDeps, ServerLimits
from mcp_server.errors import SleuthError
from mcp_server.redaction import RedactionConfig, Redactor

notices = Console(stderr=True)
TRANSPORTS = ("stdio", "http")


def register(app: typer.Typer) -> None:
    app.command("mcp")(mcp)


def _in_background(work: Any, what: str) -> None:
    def run() -> None:
        try:
            work()
        except Exception as exc:  # outermost handler of a nicety: the tools compute on demand anyway
            notices.print(f"[yellow]{what} stopped ({type(exc).__name__}: {exc})[/]")

    threading.Thread(target=run, name=what, daemon=True).start()


@fail_on_sleuth_error
def mcp(
    data: Path | None = typer.Option(None, "--data", help="Serve a scenario directory (imported in memory)."),
    store: Path | None = typer.Option(None, "--store", help="Serve a local DuckDB store (default: $SLEUTH_DATA_DIR/store.duckdb)."),
    backend_kind: str = typer.Option("local", "--backend", help="local (scenario or store) or aws (live telemetry)."),
    aws_config: Path | None = typer.Option(None, "--aws-config", help="aws: a backend config file (env SLEUTH_AWS_CONFIG)."),
    region: str | None = typer.Option(None, "--region", help="aws: region (env AWS_REGION)."),
    profile: str | None = typer.Option(None, "--profile", help="aws: credentials profile (env AWS_PROFILE)."),
    transport: str = typer.Option("stdio", "--transport", help="stdio (IDEs) or http (streamable HTTP)."),
    host: str = typer.Option("127.0.0.1", "--host", help="HTTP: interface to listen on."),
    port: int = typer.Option(8765, "--port", help="HTTP: port to listen on."),
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
) -> None:  # fmt: skip
    """Serve Sleuth's read-only incident tools to an MCP client (Claude Code, Cursor, Kiro, VS Code)."""
    from mcp_server.server import build_server, warm_caches

    if transport not in TRANSPORTS:
        raise SleuthError(f"unknown transport {transport!r}; use one of: {', '.join(TRANSPORTS)}")
    if max_output_chars < 2_000:
        raise SleuthError("--max-output-chars must be at least 2000")
    if timeout <= 0 or max_window_hours <= 0:
        raise SleuthError("--timeout and --max-window-hours must be positive")
    redactor = Redactor(RedactionConfig.from_options(redact, keep, redact_pattern))
    aws = {"config_path": aws_config, "region": region, "profile": profile}
    if backend_kind == "local" and data is not None and store is not None:
        raise SleuthError("give either --data DIR or --store PATH, not both")
    telemetry = open_telemetry(backend_kind, data=data, store=store, aws=aws)
    backend, spec, description = telemetry.backend, telemetry.spec, telemetry.description
    recorded = backend_kind == "local"
    try:
        knowledge_store = open_knowledge_in_background(
            knowledge,
            wait_seconds=knowledge_wait,
            on_error=lambda reason: notices.print(f"[yellow]knowledge base unavailable ({reason})[/]"),
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
        )
        server = build_server(deps)
        if knowledge_store is not None:
            knowledge_store.start()
        if warm and recorded:
            _in_background(lambda: warm_caches(deps), "cache warm-up")
        if transport == "stdio":
            notices.print(f"sleuth mcp: serving {deps.description} over stdio", highlight=False)
            server.run("stdio")
        else:
            notices.print(
                f"sleuth mcp: serving {deps.description} at http://{host}:{port}/mcp", highlight=False
            )
            if host not in ("127.0.0.1", "localhost", "::1"):
                notices.print(
                    f"[yellow]warning: {host} is not loopback and the MCP endpoint has no authentication; "
                    "anyone who can reach the port can read this telemetry. Put it behind an "
                    "authenticating proxy.[/]"
                )
            server.run("streamable-http", host=host, port=port)
    finally:
        telemetry.close()
