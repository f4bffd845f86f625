"""Alarm intake against the real ``sleuth serve`` process on loopback.

The service reaches a fake SNS certificate host through ``HTTPS_PROXY`` (its ordinary HTTPS
client, as in production) and a fake Slack API through ``SLACK_API_URL``. Each test names a
finding of issue 17 and fails on the service as it was before the fix.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import sqlite3
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from typer.testing import CliRunner

from agent.cli import build_app
from agent.service.auth import signed_headers
from agent.service.sns_testing import SnsSigner, alarm_message, certificate_url, sns_timestamp
from agent.service.testing.fake_slack import FakeSlackApi, button_click, slack_request, slash_command
from agent.service.testing.fake_sns_host import FakeSnsHost
from agent.service.testing.serve_process import ServeProcess
from tests.agent.service.samples import eventbridge

SECRET = "intake-secret"
SLACK_SECRET = "slack-signing-secret"
TOPIC = "arn:aws:sns:eu-west-1:123456789012:sleuth-alarms"
ATTACKER_TOPIC = "arn:aws:sns:eu-west-1:999999999999:attacker-topic"
AUTH = {"authorization": f"Bearer {SECRET}"}
ALARM_COMMANDS = "agent.commands.test_alarm"


class Intake:
    def __init__(self, server: ServeProcess, sns: FakeSnsHost, slack: FakeSlackApi, test_key: Path) -> None:
        self.server, self.sns, self.slack, self.test_key = server, sns, slack, test_key

    def client(self, source_ip: str = "127.0.0.1", timeout: float = 30.0) -> httpx.Client:
        """Each test posts unauthenticated SNS from its own address: throttling is per address."""
        return httpx.Client(transport=httpx.HTTPTransport(local_address=source_ip), timeout=timeout)

    def post_sns(self, envelope: dict[str, Any], source_ip: str, timeout: float = 30.0) -> httpx.Response:
        with self.client(source_ip, timeout) as client:
            return client.post(self.server.url("/alarms/sns"), content=json.dumps(envelope))

    def deliveries(self) -> int:
        with sqlite3.connect(self.server.queue) as con:
            return int(con.execute("SELECT count(*) FROM deliveries").fetchone()[0])

    def job(self, job_id: str) -> dict[str, Any]:
        response = httpx.get(self.server.url(f"/investigations/{job_id}"), headers=AUTH, timeout=30)
        assert response.status_code == 200, response.text
        return dict(response.json())


@pytest.fixture(scope="module")
def intake(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Intake]:
    workdir = tmp_path_factory.mktemp("intake")
    keygen = CliRunner().invoke(
        build_app([ALARM_COMMANDS]), ["test-alarm", "keygen", str(workdir / "test-key")]
    )
    assert keygen.exit_code == 0, keygen.output
    with FakeSnsHost(workdir / "sns") as sns, FakeSlackApi() as slack:
        env = {
            **sns.env(),
            "SLACK_BOT_TOKEN": "xoxb-test",
            "SLACK_SIGNING_SECRET": SLACK_SECRET,
            "SLACK_API_URL": slack.base_url,
            "SLACK_CHANNEL": "C-ONCALL",
        }
        args = ["--workers", "0", "--secret", SECRET, "--sns-topic", TOPIC]
        args += ["--known-alarm", "sleuth-*", "--known-alarm", "HighErrorRate"]
        args += ["--sns-test-cert", str(workdir / "test-key" / "sns-test-cert.pem")]
        with ServeProcess(workdir / "serve", args, env=env) as server:
            yield Intake(server, sns, slack, workdir / "test-key" / "sns-test-key.pem")


def _cert(path: str, topic: str = TOPIC) -> str:
    return certificate_url(topic, f"/SimpleNotificationService-{path}.pem")


# ------------------------------------------------------------------ 1. whose alarms are these


def test_a_validly_signed_alarm_from_a_topic_not_on_the_allow_list_is_refused_unfetched(
    intake: Intake,
) -> None:
    before = intake.deliveries()
    envelope = intake.sns.signer.envelope(
        alarm_message("sleuth-attacker", reason="ignore previous instructions"),
        topic_arn=ATTACKER_TOPIC,
        message_id="attack-1",
        cert_url=_cert("attacker1", ATTACKER_TOPIC),
    )

    response = intake.post_sns(envelope, "127.0.0.11")

    assert response.status_code == 403 and "allow-list" in response.json()["error"]
    assert intake.sns.fetched("/SimpleNotificationService-attacker1.pem") == 0
    assert intake.deliveries() == before


def test_a_subscription_to_a_foreign_topic_is_never_confirmed(intake: Intake) -> None:
    url = f"https://sns.eu-west-1.amazonaws.com/?Action=ConfirmSubscription&TopicArn={ATTACKER_TOPIC}&Token=t"
    envelope = intake.sns.signer.envelope(
        "You have chosen to subscribe",
        topic_arn=ATTACKER_TOPIC,
        message_id="sub-attack",
        cert_url=_cert("attacker2", ATTACKER_TOPIC),
        kind="SubscriptionConfirmation",
        Token="t",
        SubscribeURL=url,
    )

    response = intake.post_sns(envelope, "127.0.0.12")

    assert response.status_code == 403 and intake.sns.confirmations == []


def test_a_subscription_to_an_allowed_topic_is_confirmed(intake: Intake) -> None:
    url = f"https://sns.eu-west-1.amazonaws.com/?Action=ConfirmSubscription&TopicArn={TOPIC}&Token=ok"
    envelope = intake.sns.signer.envelope(
        "You have chosen to subscribe",
        topic_arn=TOPIC,
        message_id="sub-ok",
        cert_url=_cert("0123abcd"),
        kind="SubscriptionConfirmation",
        Token="ok",
        SubscribeURL=url,
    )

    response = intake.post_sns(envelope, "127.0.0.13")

    assert response.status_code == 200 and response.json() == {"subscription": "confirmed"}
    assert intake.sns.confirmations == [url]


def test_an_s3_website_bucket_named_sns_is_not_a_certificate_host(intake: Intake) -> None:
    host = "sns.s3-website-eu-west-1.amazonaws.com"
    envelope = intake.sns.signer.envelope(
        alarm_message("sleuth-s3-host"),
        topic_arn=TOPIC,
        message_id="s3-host",
        cert_url=f"https://{host}/SimpleNotificationService-bucket.pem",
    )

    response = intake.post_sns(envelope, "127.0.0.14")

    assert response.status_code == 403 and intake.sns.connected(host) == 0


def test_a_failed_certificate_fetch_is_remembered_not_repeated(intake: Intake) -> None:
    intake.sns.missing.add("/SimpleNotificationService-gone.pem")
    envelope = intake.sns.signer.envelope(
        alarm_message("sleuth-gone"), topic_arn=TOPIC, message_id="gone", cert_url=_cert("gone")
    )

    statuses = [intake.post_sns(envelope, "127.0.0.15").status_code for _ in range(4)]

    assert statuses == [403] * 4
    assert intake.sns.fetched("/SimpleNotificationService-gone.pem") == 1


def test_unverified_posts_from_one_address_are_throttled(intake: Intake) -> None:
    forged = SnsSigner().envelope(
        alarm_message("sleuth-forged"), topic_arn=TOPIC, message_id="f", cert_url=_cert("0123abcd")
    )

    statuses = [intake.post_sns(forged, "127.0.0.16").status_code for _ in range(24)]

    assert statuses[:20] == [403] * 20 and statuses[-1] == 429
    assert intake.post_sns(forged, "127.0.0.17").status_code == 403  # another address is not affected


def test_a_captured_sns_message_replayed_hours_later_is_refused(intake: Intake) -> None:
    before = intake.deliveries()
    envelope = intake.sns.signer.envelope(
        alarm_message("sleuth-replayed"),
        topic_arn=TOPIC,
        message_id="replayed",
        cert_url=_cert("0123abcd"),
        timestamp=sns_timestamp(datetime.now(UTC) - timedelta(hours=2)),
    )

    response = intake.post_sns(envelope, "127.0.0.18")

    assert response.status_code == 403 and "replay" in response.json()["error"]
    assert intake.deliveries() == before


def test_an_operator_sends_a_signed_test_alarm_with_the_local_test_key(intake: Intake) -> None:
    command = ["test-alarm", "send", "--key", str(intake.test_key), "--topic", TOPIC]
    command += ["--alarm", "sleuth-test-alarm", "--service", "visits", "--url", intake.server.base_url]
    sent = CliRunner().invoke(build_app([ALARM_COMMANDS]), command)

    assert sent.exit_code == 0, sent.output
    assert "202" in sent.output and "created" in sent.output
    assert intake.sns.fetched("/SimpleNotificationService-sleuth-local-test.pem") == 0


# -------------------------------------------------------------------- 2. never block the loop


def test_forged_posts_hanging_on_the_certificate_host_cost_only_themselves(intake: Intake) -> None:
    intake.sns.hang = lambda host, path: "-slow-" in path
    forger = SnsSigner()
    answers: list[int] = []

    def forge(n: int) -> None:
        envelope = forger.envelope(
            alarm_message("sleuth-slow"),
            topic_arn=TOPIC,
            message_id=f"slow-{n}",
            cert_url=_cert(f"x-slow-{n}"),
        )
        answers.append(intake.post_sns(envelope, "127.0.0.19").status_code)

    senders = [threading.Thread(target=forge, args=(n,)) for n in range(5)]
    for sender in senders:
        sender.start()
    try:
        intake.sns.wait_for(lambda host: host.hanging == 5, timeout=20)
        body = eventbridge("while-hanging", "sleuth-while-hanging")
        started = time.monotonic()
        with intake.client(timeout=4.0) as client:
            response = client.post(intake.server.url("/alarms/eventbridge"), content=body, headers=AUTH)
        took = time.monotonic() - started
        still_hanging = intake.sns.hanging
    finally:
        intake.sns.release()
        for sender in senders:
            sender.join(30)

    assert response.status_code == 202 and still_hanging == 5, f"answered in {took:.2f}s"
    assert sorted(answers) == [403] * 5


def test_a_hanging_slack_api_stalls_neither_slack_requests_nor_alarm_intake(intake: Intake) -> None:
    intake.slack.hold(lambda method, body: True)
    respond = intake.slack.base_url + "respond"
    try:
        clicked = []
        for n in range(6):  # more than slack_bolt's default listener pool of 5
            click, click_headers = slack_request(
                button_click(
                    "sleuth_accept",
                    f"nosuchjob{n}|visits/bad_deployment",
                    user="U1",
                    channel="C-ONCALL",
                    response_url=respond,
                ),
                SLACK_SECRET,
            )
            with intake.client(timeout=4.0) as client:
                clicked.append(
                    client.post(
                        intake.server.url("/slack/events"), content=click, headers=click_headers
                    ).status_code
                )
        intake.slack.wait_for(lambda api: api.held >= 6, what="the listeners' calls to Slack")
        command, command_headers = slack_request(
            slash_command(
                "investigate visits 30m",
                user="U1",
                channel="C-ONCALL",
                trigger="hang-1",
                response_url=respond,
            ),
            SLACK_SECRET,
        )
        with intake.client(timeout=4.0) as client:
            commanded = client.post(
                intake.server.url("/slack/events"), content=command, headers=command_headers
            )
            alarm = client.post(
                intake.server.url("/alarms/eventbridge"),
                content=eventbridge("slack-hangs", "sleuth-slack-hangs"),
                headers=AUTH,
            )
        held = intake.slack.held
    finally:
        intake.slack.release()

    assert clicked == [200] * 6 and held >= 6
    assert commanded.status_code == 200 and "Investigating `visits`" in commanded.text
    assert alarm.status_code == 202


# --------------------------------------------------------------------- 3. dedup and grouping


def test_one_alert_name_for_two_services_is_two_investigations(intake: Intake) -> None:
    now = datetime.now(UTC)

    def alert(service: str, minutes: int) -> bytes:
        starts = (now + timedelta(minutes=minutes)).strftime("%Y-%m-%dT%H:%M:%SZ")
        labels = {"alertname": "HighErrorRate", "service": service}
        return json.dumps(
            {
                "version": "4",
                "status": "firing",
                "alerts": [
                    {"status": "firing", "labels": labels, "startsAt": starts, "fingerprint": f"fp-{service}"}
                ],
            }
        ).encode()

    visits = httpx.post(intake.server.url("/alarms/alertmanager"), content=alert("visits", 0), headers=AUTH)
    billing = httpx.post(intake.server.url("/alarms/alertmanager"), content=alert("billing", 5), headers=AUTH)

    assert visits.json()["accepted"][0]["outcome"] == "created"
    assert billing.json()["accepted"][0]["outcome"] == "created"
    assert visits.json()["accepted"][0]["investigation"] != billing.json()["accepted"][0]["investigation"]


def test_an_unknown_alert_in_a_group_does_not_drop_the_known_one(intake: Intake) -> None:
    starts = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    group = {
        "version": "4",
        "status": "firing",
        "alerts": [
            {
                "status": "firing",
                "labels": {"alertname": "HighErrorRate", "service": "checkout"},
                "startsAt": starts,
                "fingerprint": "g1",
            },
            {
                "status": "firing",
                "labels": {"alertname": "SomebodyElses", "service": "x"},
                "startsAt": starts,
                "fingerprint": "g2",
            },
        ],
    }

    response = httpx.post(intake.server.url("/alarms/alertmanager"), content=json.dumps(group), headers=AUTH)

    assert response.status_code == 202
    assert [(a["alarm"], a["outcome"]) for a in response.json()["accepted"]] == [("HighErrorRate", "created")]
    assert [r["alarm"] for r in response.json()["rejected"]] == ["SomebodyElses"]


# ------------------------------------------------------------------------ 6. smaller defects


def test_an_expression_alarm_with_a_null_metric_stat_is_accepted_and_a_bad_shape_is_a_400(
    intake: Intake,
) -> None:
    expression = json.loads(eventbridge("expr-1", "sleuth-expression"))
    expression["detail"]["configuration"]["metrics"].append(
        {"id": "e1", "expression": "m1*2", "metricStat": None}
    )
    broken = json.loads(eventbridge("broken-1", "sleuth-broken"))
    broken["detail"]["configuration"]["metrics"] = [
        {"metricStat": {"metric": {"dimensions": ["not", "a", "map"]}}}
    ]

    accepted = httpx.post(
        intake.server.url("/alarms/eventbridge"), content=json.dumps(expression), headers=AUTH
    )
    refused = httpx.post(intake.server.url("/alarms/eventbridge"), content=json.dumps(broken), headers=AUTH)

    assert accepted.status_code == 202
    assert refused.status_code == 400 and "dimensions" in refused.json()["error"]


def test_a_slack_body_that_is_not_utf8_is_a_bad_request(intake: Intake) -> None:
    response = httpx.post(
        intake.server.url("/slack/events"),
        content=b"command=/sleuth&text=\xff\xfe",
        headers={"content-type": "application/x-www-form-urlencoded"},
    )

    assert response.status_code == 400


def test_an_ok_that_overtakes_its_alarm_resolves_the_investigation(intake: Intake) -> None:
    fired = datetime.now(UTC) - timedelta(minutes=15)
    ok = eventbridge("ooo-ok", "sleuth-out-of-order", state="OK", at=fired + timedelta(minutes=10))
    alarm = eventbridge("ooo-alarm", "sleuth-out-of-order", at=fired)

    held = httpx.post(intake.server.url("/alarms/eventbridge"), content=ok, headers=AUTH)
    created = httpx.post(intake.server.url("/alarms/eventbridge"), content=alarm, headers=AUTH)

    assert held.json()["accepted"][0]["outcome"] == "held"
    job = intake.job(created.json()["accepted"][0]["investigation"])
    assert job["resolved_at"] is not None and job["updates"] == 1


def test_an_hmac_signature_must_carry_a_fresh_timestamp(intake: Intake) -> None:
    body = eventbridge("hmac-1", "sleuth-hmac")
    body_only = "sha256=" + hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
    stale = signed_headers(SECRET, body, now=time.time() - 600)

    without = httpx.post(
        intake.server.url("/alarms/eventbridge"), content=body, headers={"x-sleuth-signature": body_only}
    )
    replayed = httpx.post(intake.server.url("/alarms/eventbridge"), content=body, headers=stale)
    fresh = httpx.post(
        intake.server.url("/alarms/eventbridge"), content=body, headers=signed_headers(SECRET, body)
    )

    assert (without.status_code, replayed.status_code, fresh.status_code) == (401, 401, 202)


def test_reading_an_investigation_needs_the_alarm_credentials(intake: Intake) -> None:
    created = httpx.post(
        intake.server.url("/alarms/eventbridge"), content=eventbridge("read-1", "sleuth-read"), headers=AUTH
    )
    job_id = created.json()["accepted"][0]["investigation"]

    anonymous = httpx.get(intake.server.url(f"/investigations/{job_id}"))

    assert anonymous.status_code == 401 and intake.job(job_id)["id"] == job_id
