"""``sleuth serve``: alarm intake (SNS, EventBridge, Alertmanager), Slack, background workers."""

from __future__ import annotations

import logging
import os
from pathlib import Path

import typer
from rich.console import Console
from rich.markup import escape

from agent.commands.aws_options import (
    AwsOptions,
    aws_config_option,
    backend_option,
    check_kind,
    open_cli_backend,
    profile_option,
    region_option,
)
from agent.commands.common import fail_on_sleuth_error
from agent.commands.drain import exit_zero_on_sigterm, leave_after_drain
from agent.commands.job_options import (
    drain_seconds_option,
    lease_seconds_option,
    max_attempts_option,
    reasoner_option,
    reports_option,
    store_option,
)
from mcp_server.config import data_dir

console = Console()


def register(app: typer.Typer) -> None:
    app.command("serve")(serve)


def default_queue_path() -> Path:
    return data_dir() / "service" / "queue.sqlite"


@fail_on_sleuth_error
def serve(
    config: Path | None = typer.Option(
        None, "--config", help="YAML file of settings (the long option names, with _); flags win."
    ),
    host: str | None = typer.Option(None, "--host", help="Interface to listen on (default 127.0.0.1)."),
    port: int | None = typer.Option(None, "--port", help="TCP port (default 8080)."),
    public_url: str | None = typer.Option(
        None,
        "--public-url",
        help="How people reach this service, for report links (default http://HOST:PORT).",
    ),
    store: Path | None = store_option(),
    queue_path: Path | None = typer.Option(
        None, "--queue", help="Durable queue (default: $SLEUTH_DATA_DIR/service/queue.sqlite)."
    ),
    workers: int | None = typer.Option(
        None, "--workers", help="Concurrent investigations (default 2; 0: accept and queue only)."
    ),
    no_workers: bool = typer.Option(
        False,
        "--no-workers",
        help="Intake only (a replica behind a load balancer); `sleuth worker` runs the investigations.",
    ),
    max_attempts: int | None = max_attempts_option(),
    lease_seconds: float | None = lease_seconds_option(),
    secret: str | None = typer.Option(
        None,
        "--secret",
        envvar="SLEUTH_WEBHOOK_SECRET",
        help="Shared secret for /alarms/eventbridge, /alarms/alertmanager and reading investigations.",
    ),
    sns_topic: list[str] = typer.Option(
        [],
        "--sns-topic",
        envvar="SLEUTH_SNS_TOPICS",
        help="SNS topic ARN (globs allowed) or 12-digit AWS account id allowed to send alarms "
        "(repeatable; required for SNS intake).",
    ),
    sns_max_age: float | None = typer.Option(
        None, "--sns-max-age", help="Reject SNS messages older than this many seconds (default 3900)."
    ),
    sns_test_cert: Path | None = typer.Option(
        None,
        "--sns-test-cert",
        help="Trust this certificate (from `sleuth test-alarm keygen`) for signed local test alarms.",
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
    slack_allow_channel: list[str] = typer.Option(
        [],
        "--slack-allow-channel",
        envvar="SLACK_ALLOWED_CHANNELS",
        help="Channel ids where people may use the bot (repeatable; default: --slack-channel).",
    ),
    slack_allow_user: list[str] = typer.Option(
        [],
        "--slack-allow-user",
        envvar="SLACK_ALLOWED_USERS",
        help="User ids who may use the bot (repeatable; default: anyone in an allowed channel).",
    ),
    confidence_floor: float | None = typer.Option(
        None, "--confidence-floor", help="Fold hypotheses below this confidence in Slack (default 0.2)."
    ),
    draft_report: bool | None = typer.Option(
        None,
        "--draft-report/--no-draft-report",
        help="Draft the COE report during each investigation (default) or only when asked in Slack.",
    ),
    reasoner: str | None = reasoner_option(),
    drain_seconds: float | None = drain_seconds_option(),
    reports: str | None = reports_option(),
    backend_kind: str = backend_option(),
    aws_config: Path | None = aws_config_option(),
    region: str | None = region_option(),
    profile: str | None = profile_option(),
) -> None:
    """Receive alarms (SNS, EventBridge, Alertmanager) and Slack requests; investigate in the background."""
    import uvicorn

    from agent.service.compose import build_service, read_settings_file, settings_from

    aws = AwsOptions(config_path=aws_config, region=region, profile=profile)
    check_kind(backend_kind)
    file_values = read_settings_file(config) if config is not None else {}
    settings = settings_from(
        {
            "host": host,
            "port": port,
            "public_url": public_url,
            "store": store,
            "queue": queue_path or (None if "queue" in file_values else default_queue_path()),
            "workers": 0 if no_workers else workers,
            "max_attempts": max_attempts,
            "lease_seconds": lease_seconds,
            "secret": secret,
            "sns_topics": sns_topic,
            "sns_max_age": sns_max_age,
            "sns_test_cert": sns_test_cert,
            "known_alarms": known_alarm,
            "notify_webhooks": webhook,
            "slack_channel": slack_channel,
            "slack_allow_channels": slack_allow_channel,
            "slack_allow_users": slack_allow_user,
            "confidence_floor": confidence_floor,
            "draft_report": draft_report,
            "reasoner": reasoner,
            "drain_seconds": drain_seconds,
            "reports": reports,
        },
        file_values,
    )
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    live = open_cli_backend(backend_kind, aws, {"--store": store})
    service = build_service(settings, os.environ, backend=live)
    console.print(
        escape(
            f"Sleuth service on http://{settings.host}:{settings.port} · queue {settings.queue} · "
            f"{settings.workers} worker(s) · lease {settings.lease_seconds:g}s · "
            f"SNS topics: {', '.join(settings.sns_topics) or 'none (SNS off)'}"
        ),
        soft_wrap=True,
    )
    with exit_zero_on_sigterm():  # uvicorn drains (lifespan shutdown), then we exit 0
        uvicorn.run(
            service.app,
            host=settings.host,
            port=settings.port,
            log_level="warning",
            timeout_graceful_shutdown=5,
        )
    leave_after_drain(any(pool.busy() for pool in service.pools))
