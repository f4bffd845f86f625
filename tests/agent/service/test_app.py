from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from agent.service.app import ServiceConfig, ServiceDeps, build_app
from agent.service.auth import ReportLinks, signed_headers
from agent.service.queue import InvestigationQueue
from agent.service.reports import ResultStore
from agent.service.sns import SnsVerifier
from agent.service.sns_certs import CertificateSource
from agent.service.sns_testing import SnsSigner, alarm_message, certificate_url
from agent.service.topics import TopicAllowList
from tests.agent.service.samples import ALERTMANAGER, EVENTBRIDGE

SECRET = "s3cret-token"
TOPIC = "arn:aws:sns:eu-west-1:123456789012:sleuth-alarms"
CERT_URL = certificate_url(TOPIC, "/SimpleNotificationService-0123.pem")


class Harness:
    def __init__(self, tmp_path: Path, **config: Any) -> None:
        self.signer = SnsSigner()
        self.fetched: list[str] = []
        self.queue = InvestigationQueue(tmp_path / "q.sqlite", rng=random.Random(0))
        self.confirmed: list[str] = []
        self.results = ResultStore(tmp_path / "results")
        self.links = ReportLinks("http://testserver", SECRET)
        deps = ServiceDeps(
            queue=self.queue,
            verifier=SnsVerifier(CertificateSource(self._fetch), TopicAllowList.parse([TOPIC])),
            config=ServiceConfig(shared_secret=SECRET, **config),
            confirm_subscription=self.confirmed.append,
            results=self.results,
            report_links=self.links,
        )
        self.client = TestClient(build_app(deps))

    def _fetch(self, url: str) -> bytes:
        self.fetched.append(url)
        return self.signer.certificate_pem()

    def envelope(self, message: str, **fields: Any) -> dict[str, Any]:
        options: dict[str, Any] = {"topic_arn": TOPIC, "message_id": "m-1", "cert_url": CERT_URL, **fields}
        return self.signer.envelope(message, **options)

    def post_sns(self, fields: dict[str, Any]) -> Any:
        return self.client.post(
            "/alarms/sns",
            content=json.dumps(fields),
            headers={"x-amz-sns-message-type": fields.get("Type", "")},
        )


def test_a_signed_sns_alarm_is_queued_and_its_redelivery_is_not(tmp_path: Path) -> None:
    h = Harness(tmp_path)
    fields = h.envelope(alarm_message("visits-availability", dimensions={"Service": "visits"}))

    first = h.post_sns(fields)
    again = h.post_sns(fields)

    assert first.status_code == 202 and first.json()["accepted"][0]["outcome"] == "created"
    assert again.status_code == 202 and again.json()["accepted"][0]["outcome"] == "duplicate"
    assert len(h.queue.jobs()) == 1 and h.fetched == [CERT_URL]


def test_an_sns_subscription_is_confirmed_through_its_subscribe_url(tmp_path: Path) -> None:
    h = Harness(tmp_path)
    url = f"https://sns.eu-west-1.amazonaws.com/?Action=ConfirmSubscription&TopicArn={TOPIC}&Token=tok"

    response = h.post_sns(
        h.envelope("confirm", kind="SubscriptionConfirmation", Token="tok", SubscribeURL=url)
    )

    assert response.status_code == 200 and h.confirmed == [url]
    assert h.queue.delivery_count() == 0


def test_a_subscribe_url_for_another_topic_is_not_followed(tmp_path: Path) -> None:
    h = Harness(tmp_path)
    other = TOPIC.replace("sleuth-alarms", "other")
    url = f"https://sns.eu-west-1.amazonaws.com/?Action=ConfirmSubscription&TopicArn={other}&Token=tok"

    response = h.post_sns(
        h.envelope("confirm", kind="SubscriptionConfirmation", Token="tok", SubscribeURL=url)
    )

    assert response.status_code == 403 and h.confirmed == []


def test_alertmanager_groups_become_one_investigation_per_alert(tmp_path: Path) -> None:
    h = Harness(tmp_path)
    body = json.dumps(ALERTMANAGER).encode()

    response = h.client.post(
        "/alarms/alertmanager", content=body, headers={"authorization": f"Bearer {SECRET}"}
    )

    assert response.status_code == 202
    assert sorted((j.alarm_name, j.service) for j in h.queue.jobs()) == [
        ("BillingLatency", "billing"),
        ("HighErrorRate", "visits"),
    ]


def test_each_alert_of_a_group_is_judged_alone_against_the_known_alarms(tmp_path: Path) -> None:
    h = Harness(tmp_path, known_alarms=["HighErrorRate"])

    response = h.client.post(
        "/alarms/alertmanager", content=json.dumps(ALERTMANAGER), headers={"x-sleuth-token": SECRET}
    )

    assert response.status_code == 202
    assert [a["alarm"] for a in response.json()["accepted"]] == ["HighErrorRate"]
    assert [r["alarm"] for r in response.json()["rejected"]] == ["BillingLatency"]
    assert [j.alarm_name for j in h.queue.jobs()] == ["HighErrorRate"]


def test_an_eventbridge_alarm_state_change_signed_with_a_fresh_hmac_is_queued(tmp_path: Path) -> None:
    h = Harness(tmp_path)
    body = json.dumps(EVENTBRIDGE).encode()

    response = h.client.post("/alarms/eventbridge", content=body, headers=signed_headers(SECRET, body))

    assert response.status_code == 202
    [job] = h.queue.jobs()
    assert (job.alarm_name, job.service, job.event.metric) == ("visits-availability", "visits", "Fault")


def test_reading_an_investigation_needs_the_same_credentials_as_posting_alarms(tmp_path: Path) -> None:
    h = Harness(tmp_path)
    response = h.client.post(
        "/alarms/eventbridge", content=json.dumps(EVENTBRIDGE), headers={"x-sleuth-token": SECRET}
    )
    job_id = response.json()["accepted"][0]["investigation"]

    anonymous = h.client.get(f"/investigations/{job_id}")
    allowed = h.client.get(f"/investigations/{job_id}", headers={"authorization": f"Bearer {SECRET}"})

    assert anonymous.status_code == 401 and allowed.status_code == 200 and allowed.json()["id"] == job_id


def test_a_report_opens_with_its_signed_link_or_credentials_and_not_otherwise(tmp_path: Path) -> None:
    h = Harness(tmp_path)
    (tmp_path / "results" / "abc123").mkdir(parents=True)
    (tmp_path / "results" / "abc123" / "coe-x.html").write_text("<h1>COE</h1>")
    link = h.links.url("abc123").removeprefix("http://testserver")

    assert h.client.get(link).text == "<h1>COE</h1>"
    assert h.client.get("/investigations/abc123/report").status_code == 401
    assert h.client.get(link.replace("abc123", "other1")).status_code == 401
    assert (
        h.client.get("/investigations/abc123/report", headers={"x-sleuth-token": SECRET}).status_code == 200
    )


def test_unverified_sns_posts_from_one_address_are_throttled(tmp_path: Path) -> None:
    h = Harness(tmp_path, sns_failure_burst=3, sns_failures_per_second=0.001)
    forged = h.envelope(alarm_message("visits-availability"))
    forged["Message"] = alarm_message("forged")

    statuses = [h.post_sns(forged).status_code for _ in range(5)]

    assert statuses == [403, 403, 403, 429, 429]
    assert h.queue.delivery_count() == 0


def _forged(h: Harness) -> Any:
    fields = h.envelope(alarm_message("visits-availability"))
    fields["Message"] = alarm_message("visits-availability", dimensions={"Service": "billing"})
    return h.post_sns(fields)


def _foreign_cert(h: Harness) -> Any:
    return h.post_sns(
        h.envelope(alarm_message("visits-availability"), cert_url="https://certs.example.org/sns.pem")
    )


def _malformed(h: Harness) -> Any:
    return h.client.post("/alarms/alertmanager", content=b"{not json", headers={"x-sleuth-token": SECRET})


def _oversized(h: Harness) -> Any:
    return h.client.post(
        "/alarms/alertmanager", content=b" " * (300 * 1024), headers={"x-sleuth-token": SECRET}
    )


def _wrong_secret(h: Harness) -> Any:
    return h.client.post(
        "/alarms/eventbridge", content=json.dumps(EVENTBRIDGE), headers={"x-sleuth-token": "nope"}
    )


def _unknown_alarm(h: Harness) -> Any:
    return h.post_sns(h.envelope(alarm_message("not-ours")))


def _bad_shape(h: Harness) -> Any:
    doc = json.loads(json.dumps(EVENTBRIDGE))
    doc["detail"]["configuration"]["metrics"] = 42
    return h.client.post("/alarms/eventbridge", content=json.dumps(doc), headers={"x-sleuth-token": SECRET})


@pytest.mark.parametrize(
    ("send", "status"),
    [
        (_forged, 403),
        (_foreign_cert, 403),
        (_malformed, 400),
        (_bad_shape, 400),
        (_oversized, 413),
        (_wrong_secret, 401),
        (_unknown_alarm, 422),
    ],
)
def test_bad_input_is_rejected_with_the_right_status_and_nothing_is_queued(
    tmp_path: Path, send: Any, status: int
) -> None:
    h = Harness(tmp_path, known_alarms=["visits-*", "HighErrorRate"])

    response = send(h)

    assert response.status_code == status, response.text
    assert "error" in response.json()
    assert h.queue.jobs() == [] and h.queue.delivery_count() == 0


def test_readyz_answers_503_when_the_job_store_cannot_be_read(tmp_path: Path) -> None:
    harness = Harness(tmp_path)
    assert harness.client.get("/readyz").json() == {"status": "ready"}

    def broken() -> dict[str, int]:
        raise OSError("disk gone")

    harness.queue.counts = broken  # type: ignore[method-assign]
    response = harness.client.get("/readyz")
    assert response.status_code == 503 and response.json()["status"] == "unavailable"
