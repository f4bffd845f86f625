"""``sleuth worker``: run investigations from the Celery queue (``SLEUTH_QUEUE=redis://…|sqs://…``)."""

from __future__ import annotations

import logging
import os
from pathlib import Path

import typer
from rich.console import Console
from rich.markup import escape

from agent.commands.common import fail_on_sleuth_error
from agent.commands.job_options import (
    drain_seconds_option,
    lease_seconds_option,
    max_attempts_option,
    reasoner_option,
    reports_option,
    store_option,
)
from agent.commands.serve import default_queue_path
from mcp_server.errors import SleuthError

console = Console()


def register(app: typer.Typer) -> None:
    app.command("worker")(worker)


@fail_on_sleuth_error
def worker(
    store: Path | None = store_option(),
    queue_path: Path | None = typer.Option(
        None,
        "--queue",
        help="Job store shared with the intakes (default: $SLEUTH_DATA_DIR/service/queue.sqlite).",
    ),
    concurrency: int = typer.Option(2, "--concurrency", min=1, help="Investigations run at once."),
    celery_queue: str | None = typer.Option(
        None, "--celery-queue", envvar="SLEUTH_CELERY_QUEUE", help="Celery queue name to consume."
    ),
    visibility_timeout: float = typer.Option(
        600.0,
        "--visibility-timeout",
        help="Seconds before the broker redelivers a task a killed worker never acknowledged.",
    ),
    lease_seconds: float | None = lease_seconds_option(),
    max_attempts: int | None = max_attempts_option(),
    reasoner: str | None = reasoner_option(),
    draft_report: bool = typer.Option(
        True, "--draft-report/--no-draft-report", help="Draft the COE report during each investigation."
    ),
    webhook: list[str] = typer.Option(
        [], "--notify-webhook", help="POST each finished investigation's summary here (repeatable)."
    ),
    metrics_port: int | None = typer.Option(
        None,
        "--metrics-port",
        envvar="SLEUTH_METRICS_PORT",
        help="Serve Prometheus metrics on this port (GET /metrics; needs the scale extra).",
    ),
    metrics_host: str = typer.Option("127.0.0.1", "--metrics-host", help="Interface for --metrics-port."),
    drain_seconds: float | None = drain_seconds_option(),
    reports: str | None = reports_option(),
) -> None:
    """Consume the Celery queue: claim due jobs from the shared job store and investigate them."""
    from celery.signals import worker_shutting_down

    from agent.commands.drain import DrainDeadline, leave_after_drain
    from agent.service.compose import build_worker, open_queue, settings_from
    from agent.service.dispatch import DEFAULT_CELERY_QUEUE, celery_app, queue_url, register_task
    from agent.service.worker import WorkerPool
    from mcp_server.backends.local import LocalBackend
    from mcp_server.config import default_store_path

    url = queue_url(os.environ)
    if url is None:
        raise SleuthError(
            "sleuth worker needs SLEUTH_QUEUE=redis://… or sqs://… (the embedded queue runs "
            "its workers inside `sleuth serve`)"
        )
    settings = settings_from(
        {
            "store": store,
            "queue": queue_path or default_queue_path(),
            "workers": concurrency,
            "max_attempts": max_attempts,
            "lease_seconds": lease_seconds,
            "reasoner": reasoner,
            "draft_report": draft_report,
            "notify_webhooks": webhook,
            "drain_seconds": drain_seconds,
            "reports": reports,
        },
        {},
    )
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    backend = LocalBackend(settings.store or default_store_path(), read_only=True)
    job_store = open_queue(settings, os.environ)
    checkpointer = None
    if os.environ.get("SLEUTH_CHECKPOINT_URL"):
        from agent.checkpoints import open_checkpointer

        checkpointer = open_checkpointer()  # shared: another worker resumes a killed one's job
    metrics = None
    if metrics_port is not None:
        from agent.service.metrics import ServiceMetrics

        metrics = ServiceMetrics(job_store)
        metrics.serve(metrics_port, metrics_host)
    runner = build_worker(settings, job_store, backend, checkpointer=checkpointer, metrics=metrics)
    name = celery_queue or DEFAULT_CELERY_QUEUE
    app = celery_app(url, queue=name, visibility_timeout=visibility_timeout)
    register_task(app, runner.run_once)
    # A slow sweep picks up what no task announces: retries after backoff, and the job of a killed
    # worker once its lease ran out (its task comes back only after the visibility timeout).
    sweeper = WorkerPool(runner, size=1, poll_seconds=settings.lease_seconds)
    sweeper.start()
    # SIGTERM (Celery's warm shutdown) stops consuming and waits for the running tasks; past the
    # grace period the drain hands them back and leaves with exit code 0.
    drain = DrainDeadline(runner, settings.drain_seconds)
    worker_shutting_down.connect(lambda **_: drain.begin(), weak=False)
    console.print(
        escape(f"Sleuth worker on {url.split('@')[-1]} · queue {name} · concurrency {concurrency}"),
        soft_wrap=True,
    )
    try:
        app.worker_main(
            [
                "worker",
                "--pool=threads",
                f"--concurrency={concurrency}",
                f"--queues={name}",
                "--loglevel=WARNING",
            ]
        )
    finally:
        drain.begin()
        handed = sweeper.drain(settings.drain_seconds)
        drain.done()
    leave_after_drain(bool(handed))
