from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from agent.service.app import ServiceConfig, ServiceDeps, build_app
from agent.service.auth import sign
from agent.service.queue import InvestigationQueue
from agent.service.sns import SnsVerifier
from tests.agent.service.sns_signing import FakeSns, alarm_message

SECRET = "s3cret-token"


class Harness:
    def __init__(self, tmp_path: Path, **config: Any) -> None:
        self.sns = FakeSns()
        self.queue = InvestigationQueue(tmp_path / "q.sqlite", rng=random.Random(0))
        self.confirmed: list[str] = []
        deps = ServiceDeps(
            queue=self.queue,
            verifier=SnsVerifier(self.sns.fetch),
            config=ServiceConfig(shared_secret=SECRET, **config),
            confirm_subscription=self.confirmed.append,
        )
        self.client = TestClient(build_app(deps))

    def post_sns(self, fields: dict[str, Any]) -> Any:
        return self.client.post(
            "/alarms/sns",
            content=json.dumps(fields),
            headers={"x-amz-sns-message-type": fields.get("Type", "")},
        )


ALERTMANAGER = {
    "version": "4",
    "status": "firing",
    "groupKey": '{}:{alertname="HighErrorRate"}',
    "commonLabels": {"alertname": "HighErrorRate"},
    "alerts": [
        {
            "status": "firing",
            "labels": {"service": "visits"},
            "annotations": {"summary": "5xx above 2%"},
            "startsAt": "2026-01-01T10:05:00Z",
            "fingerprint": "a1",
        },
        {
            "status": "firing",
            "labels": {"service": "billing", "alertname": "BillingLatency"},
            "annotations": {"summary": "p99 above 2s"},
            "startsAt": "2026-01-01T10:06:00Z",
            "fingerprint": "b2",
        },
    ],
}

EVENTBRIDGE = {
    "version": "0",
    "id": "c4c1c1c9-6542-e61b-6ef0-8c4d36933a92",
    "detail-type": "CloudWatch Alarm State Change",
    "source": "aws.cloudwatch",
    "time": "2026-01-01T10:05:00Z",
    "region": "eu-west-1",
    "resources": ["arn:aws:cloudwatch:eu-west-1:123456789012:alarm:visits-availability"],
    "detail": {
        "alarmName": "visits-availability",
        "state": {
            "value": "ALARM",
            "reason": "Threshold Crossed",
            "timestamp": "2026-01-01T10:05:00.000+0000",
        },
        "previousState": {"value": "OK", "reason": ""},
        "configuration": {
            "metrics": [
                {
                    "id": "m1",
                    "metricStat": {
                        "metric": {
                            "namespace": "AWS/ApplicationSignals",
                            "name": "Fault",
                            "dimensions": {"Service": "visits"},
                        }
                    },
                }
            ]
        },
    },
}


def test_a_signed_sns_alarm_is_queued_and_its_redelivery_is_not(tmp_path: Path) -> None:
    h = Harness(tmp_path)
    fields = h.sns.envelope(alarm_message())

    first = h.post_sns(fields)
    again = h.post_sns(fields)

    assert first.status_code == 202 and first.json()["accepted"][0]["outcome"] == "created"
    assert again.status_code == 202 and again.json()["accepted"][0]["outcome"] == "duplicate"
    assert len(h.queue.jobs()) == 1


def test_an_sns_subscription_is_confirmed_through_its_subscribe_url(tmp_path: Path) -> None:
    h = Harness(tmp_path)
    url = "https://sns.eu-west-1.amazonaws.com/?Action=ConfirmSubscription&Token=tok"

    response = h.post_sns(
        h.sns.envelope("confirm", kind="SubscriptionConfirmation", Token="tok", SubscribeURL=url)
    )

    assert response.status_code == 200 and h.confirmed == [url]
    assert h.queue.delivery_count() == 0


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


def test_an_eventbridge_alarm_state_change_signed_with_hmac_is_queued(tmp_path: Path) -> None:
    h = Harness(tmp_path)
    body = json.dumps(EVENTBRIDGE).encode()

    response = h.client.post(
        "/alarms/eventbridge", content=body, headers={"x-sleuth-signature": sign(SECRET, body)}
    )

    assert response.status_code == 202
    [job] = h.queue.jobs()
    assert (job.alarm_name, job.service, job.event.metric) == ("visits-availability", "visits", "Fault")


def _forged(h: Harness) -> Any:
    fields = h.sns.envelope(alarm_message())
    fields["Message"] = alarm_message(service="billing")
    return h.post_sns(fields)


def _foreign_cert(h: Harness) -> Any:
    return h.post_sns(h.sns.envelope(alarm_message(), cert_url="https://certs.example.org/sns.pem"))


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
    return h.post_sns(h.sns.envelope(alarm_message(name="not-ours")))


@pytest.mark.parametrize(
    ("send", "status"),
    [
        (_forged, 403),
        (_foreign_cert, 403),
        (_malformed, 400),
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
