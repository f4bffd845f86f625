"""``sleuth serve`` (alarm intake, workers, Slack) and ``sleuth dlq list|redrive``."""

from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table
from starlette.applications import Starlette

from agent.commands.common import fail_on_sleuth_error
from agent.service.app import ServiceConfig, ServiceDeps, build_app
from agent.service.notifier import Notifier, WebhookNotifier
from agent.service.queue import InvestigationQueue
from agent.service.sns import SnsVerifier, check_sns_url
from agent.service.worker import Worker, WorkerPool
from mcp_server.config import data_dir
from mcp_server.errors import SleuthError

console = Console()
dlq_app = typer.Typer(
    help="The dead-letter queue of investigations that failed every retry.", no_args_is_help=True
)


def register(app: typer.Typer) -> None:
    app.command("serve")(serve)
    app.add_typer(dlq_app, name="dlq")


def default_queue_path() -> Path:
    return data_dir() / "service" / "queue.sqlite"


def _confirm_subscription(url: str) -> None:
    check_sns_url(url, "SubscribeURL")
    httpx.get(url, timeout=10.0).raise_for_status()


def _slack(
    queue_path: Path, queue: InvestigationQueue, wake: Any, channel: str | None
) -> tuple[Any, list[Notifier]]:
    token = os.environ.get("SLACK_BOT_TOKEN")
    secret = os.environ.get("SLACK_SIGNING_SECRET")
    if not token or not secret:
        return None, []
    from slack_sdk import WebClient

    from agent.slack.bot import SlackNotifier, SleuthSlackBot
    from agent.slack.threads import SlackThreads

    client = WebClient(token=token, base_url=os.environ.get("SLACK_API_URL", WebClient.BASE_URL))
    threads = SlackThreads(queue_path)
    bot = SleuthSlackBot(client=client, signing_secret=secret, queue=queue, threads=threads, on_enqueued=wake)
    return bot, [SlackNotifier(client, threads, channel)]


@fail_on_sleuth_error
def serve(
    host: str = typer.Option(
        "127.0.0.1", "--host", help="Interface to listen on (0.0.0.0 behind a load balancer)."
    ),
    port: int = typer.Option(8080, "--port", help="TCP port."),
    store: Path | None = typer.Option(
        None, "--store", help="Local store to investigate (default: $SLEUTH_DATA_DIR/store.duckdb)."
    ),
    queue_path: Path | None = typer.Option(
        None, "--queue", help="Durable queue (default: $SLEUTH_DATA_DIR/service/queue.sqlite)."
    ),
    workers: int = typer.Option(2, "--workers", help="Concurrent investigations (0: accept and queue only)."),
    max_attempts: int = typer.Option(
        3, "--max-attempts", help="Tries before an investigation goes to the DLQ."
    ),
    secret: str | None = typer.Option(
        None,
        "--secret",
        envvar="SLEUTH_WEBHOOK_SECRET",
        help="Shared secret for /alarms/eventbridge and /alarms/alertmanager.",
    ),
    known_alarm: list[str] = typer.Option(
        [], "--known-alarm", help="Accept only these alarm names (glob; repeatable)."
    ),
    webhook: list[str] = typer.Option(
        [], "--notify-webhook", help="POST each finished investigation's summary here (repeatable)."
    ),
    slack_channel: str | None = typer.Option(
        None, "--slack-channel", envvar="SLACK_CHANNEL", help="Channel for alarm-triggered threads."
    ),
    reasoner: str | None = typer.Option(
        None, "--reasoner", help="offline | anthropic | bedrock (env SLEUTH_REASONER)."
    ),
) -> None:
    """Receive alarms (SNS, EventBridge, Alertmanager) and Slack requests; investigate in the background."""
    import uvicorn

    from agent.service.investigator import GraphInvestigator
    from agent.wiring import open_telemetry

    queue_path = queue_path or default_queue_path()
    queue = InvestigationQueue(queue_path, max_attempts=max_attempts)
    notifiers: list[Notifier] = [WebhookNotifier(url) for url in webhook]
    pool_holder: list[WorkerPool] = []

    def wake() -> None:
        for pool in pool_holder:
            pool.wake()

    bot, slack_notifiers = _slack(queue_path, queue, wake, slack_channel)
    notifiers.extend(slack_notifiers)
    extra_routes = []
    if bot is not None:
        from agent.slack.routes import slack_routes

        extra_routes = slack_routes(bot)
    deps = ServiceDeps(
        queue=queue,
        verifier=SnsVerifier(),
        config=ServiceConfig(shared_secret=secret, known_alarms=known_alarm or None),
        confirm_subscription=_confirm_subscription,
        on_enqueued=wake,
        extra_routes=extra_routes,
    )
    app = build_app(deps)
    if workers > 0:
        backend = open_telemetry(store=store).backend
        investigator = GraphInvestigator(
            backend, results_dir=queue_path.parent / "results", reasoner=reasoner
        )
        pool_holder.append(WorkerPool(Worker(queue, investigator, notifiers), size=workers))

    @contextlib.asynccontextmanager
    async def lifespan(_: Starlette) -> AsyncIterator[None]:
        for pool in pool_holder:
            pool.start()
        socket_mode = None
        if bot is not None and os.environ.get("SLACK_APP_TOKEN"):
            from slack_bolt.adapter.socket_mode import SocketModeHandler

            socket_mode = SocketModeHandler(bot.app, os.environ["SLACK_APP_TOKEN"])
            socket_mode.connect()
        try:
            yield
        finally:
            if socket_mode is not None:
                socket_mode.close()
            for pool in pool_holder:
                pool.stop()

    app.router.lifespan_context = lifespan
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    console.print(
        escape(f"Sleuth service on http://{host}:{port} · queue {queue_path} · {workers} worker(s)")
    )
    uvicorn.run(app, host=host, port=port, log_level="warning")


@dlq_app.command("list")
@fail_on_sleuth_error
def dlq_list(queue_path: Path | None = typer.Option(None, "--queue", help="Durable queue file.")) -> None:
    """Investigations that failed every retry, with their last error."""
    queue = _open_queue(queue_path)
    table = Table(title="Dead-letter queue")
    for column in ("id", "alarm", "service", "attempts", "last error"):
        table.add_column(column)
    for job in queue.dead_letters():
        table.add_row(
            *(
                escape(cell)
                for cell in (
                    job.id,
                    job.alarm_name,
                    job.service or "-",
                    str(job.attempts),
                    (job.error or "")[:120],
                )
            )
        )
    console.print(table)


@dlq_app.command("redrive")
@fail_on_sleuth_error
def dlq_redrive(
    job_id: str | None = typer.Argument(None, help="One investigation id; omit with --all."),
    all_jobs: bool = typer.Option(False, "--all", help="Requeue every dead investigation."),
    queue_path: Path | None = typer.Option(None, "--queue", help="Durable queue file."),
) -> None:
    """Requeue dead investigations (safe: investigations are idempotent)."""
    if (job_id is None) == (not all_jobs):
        raise SleuthError("name one investigation id, or pass --all")
    moved = _open_queue(queue_path).redrive(None if all_jobs else job_id)
    if job_id is not None and moved == 0:
        raise SleuthError(f"no dead investigation with id {job_id!r}")
    console.print(f"Requeued {moved} investigation(s).")


def _open_queue(queue_path: Path | None) -> InvestigationQueue:
    path = queue_path or default_queue_path()
    if not path.exists():
        raise SleuthError(f"no queue at {path}; start `sleuth serve` first or pass --queue")
    return InvestigationQueue(path)
