"""``sleuth aws``: set up the AWS backend (print the read-only IAM policy, check access)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import typer
from rich.markup import escape
from rich.table import Table

from agent.commands.common import cli_console, fail_on_sleuth_error

console = cli_console()
aws_app = typer.Typer(
    help="Set up the AWS backend: its IAM policy and an access check.", no_args_is_help=True
)

_STYLES = {"ok": "green", "skipped": "yellow", "denied": "bold red", "throttled": "red", "failed": "red"}


def register(app: typer.Typer) -> None:
    app.add_typer(aws_app, name="aws")


@aws_app.command("policy")
def policy() -> None:
    """Print the least-privilege IAM policy the AWS backend needs (JSON)."""
    from mcp_server.backends.aws.iam import POLICY_PATH

    typer.echo(POLICY_PATH.read_text(encoding="utf-8"), nl=False)


@aws_app.command("check")
@fail_on_sleuth_error
def check(
    region: str | None = typer.Option(None, help="AWS region (default: AWS_REGION / the profile's)"),
    profile: str | None = typer.Option(None, help="AWS profile (default: AWS_PROFILE)"),
    config: Path | None = typer.Option(None, help="AWS backend settings YAML (default: $SLEUTH_AWS_CONFIG)"),
) -> None:
    """Make one cheap call per IAM action and report which ones this identity may make.

    Log actions are probed on a configured log group, else on one matching log_group_template."""
    from botocore.exceptions import BotoCoreError

    from mcp_server.backends.aws.access import check_access
    from mcp_server.backends.aws.clients import AwsClients, check_credentials, session_for
    from mcp_server.backends.aws.config import AwsBackendConfig
    from mcp_server.errors import SleuthError

    if config is not None and config.is_dir():
        raise SleuthError(f"--config {config}: is a directory; give the AWS backend settings YAML file")
    settings = AwsBackendConfig.from_file(config) if config else AwsBackendConfig.from_env()
    settings = settings.model_copy(update={k: v for k, v in (("region", region), ("profile", profile)) if v})
    session = session_for(settings)  # a missing profile, region or credentials: one line, exit 2
    check_credentials(session)
    try:
        clients = AwsClients.from_session(session, settings)
    except BotoCoreError as exc:
        raise SleuthError(f"cannot set up AWS clients: {exc}") from None
    results = check_access(clients, settings, datetime.now(UTC))
    table = Table("action", "access", "detail")
    for result in results:
        table.add_row(result.action, f"[{_STYLES[result.status]}]{result.status}[/]", escape(result.detail))
    console.print(table)
    blocked = [r for r in results if r.status in ("denied", "throttled", "failed")]
    if blocked:
        console.print(
            f"{len(blocked)} of {len(results)} calls failed; `sleuth aws policy` prints the policy to attach."
        )
        raise typer.Exit(1)
