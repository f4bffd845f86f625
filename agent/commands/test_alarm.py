"""``sleuth test-alarm keygen|send``: a signed CloudWatch alarm over SNS, without AWS.

    sleuth test-alarm keygen ~/.sleuth/sns-test
    sleuth serve --sns-topic arn:aws:sns:eu-west-1:123456789012:alarms \\
                 --sns-test-cert ~/.sleuth/sns-test/sns-test-cert.pem
    sleuth test-alarm send --key ~/.sleuth/sns-test/sns-test-key.pem \\
                 --topic arn:aws:sns:eu-west-1:123456789012:alarms --alarm visits-5xx --service visits
"""

from __future__ import annotations

import uuid
from pathlib import Path

import httpx
import typer
from rich.console import Console
from rich.markup import escape

from agent.commands.common import fail_on_sleuth_error
from mcp_server.errors import SleuthError

console = Console()
test_alarm_app = typer.Typer(
    help="Signed test alarms over SNS, with a local key the service is told to trust.", no_args_is_help=True
)


def register(app: typer.Typer) -> None:
    app.add_typer(test_alarm_app, name="test-alarm")


@test_alarm_app.command("keygen")
@fail_on_sleuth_error
def keygen(
    directory: Path = typer.Argument(..., help="Where to write sns-test-key.pem and sns-test-cert.pem."),
) -> None:
    """Write a private key (keep it private) and the certificate to give `sleuth serve --sns-test-cert`."""
    from agent.service.sns_testing import SnsSigner

    key, cert = SnsSigner().write(directory)
    console.print(escape(f"key {key} (mode 600) · certificate {cert}"))
    console.print(escape(f"start the service with --sns-test-cert {cert}"))


@test_alarm_app.command("send")
@fail_on_sleuth_error
def send(
    key: Path = typer.Option(..., "--key", help="sns-test-key.pem from `sleuth test-alarm keygen`."),
    topic: str = typer.Option(..., "--topic", help="An SNS topic ARN the service allows (--sns-topic)."),
    alarm: str = typer.Option(..., "--alarm", help="The CloudWatch alarm name."),
    service: str | None = typer.Option(None, "--service", help="The Service dimension."),
    state: str = typer.Option("ALARM", "--state", help="ALARM or OK."),
    reason: str = typer.Option("Test alarm sent by `sleuth test-alarm`", "--reason"),
    url: str = typer.Option("http://127.0.0.1:8080", "--url", help="The service's base URL."),
) -> None:
    """Sign a CloudWatch alarm notification as SNS would and POST it to /alarms/sns."""
    import json

    from agent.service.payloads import PayloadError
    from agent.service.sns_testing import SnsSigner, alarm_message

    try:
        signer = SnsSigner.load(key)
    except (OSError, ValueError) as exc:
        raise SleuthError(f"cannot load the test key {key}: {exc}") from None
    try:
        envelope = signer.envelope(
            alarm_message(
                alarm, state=state.upper(), dimensions={"Service": service} if service else {}, reason=reason
            ),
            topic_arn=topic,
            message_id=str(uuid.uuid4()),
        )
    except PayloadError as exc:
        raise SleuthError(f"--topic: {exc}") from None
    try:
        response = httpx.post(
            url.rstrip("/") + "/alarms/sns",
            content=json.dumps(envelope),
            headers={"x-amz-sns-message-type": "Notification", "content-type": "text/plain; charset=UTF-8"},
            timeout=10.0,
        )
    except httpx.HTTPError as exc:
        raise SleuthError(f"cannot reach {url}: {exc}") from None
    console.print(escape(f"{response.status_code} {response.text}"))
    if response.status_code >= 400:
        raise typer.Exit(1)
