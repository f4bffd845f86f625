"""Sample notifications as each source sends them."""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime, timedelta
from typing import Any

from agent.service.payloads import AlarmEvent, AlarmSource, AlarmStatus

ALERTMANAGER: dict[str, Any] = {
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

EVENTBRIDGE: dict[str, Any] = {
    "version": "0",
    "id": "c4c1c1c9-6542-e61b-6ef0-8c4d36933a92",
    "detail-type": "CloudWatch Alarm State Change",
    "source": "aws.cloudwatch",
    "account": "123456789012",
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


def eventbridge(
    event_id: str,
    alarm: str,
    *,
    state: str = "ALARM",
    at: datetime | None = None,
    service: str = "visits",
    reason: str = "Threshold Crossed",
) -> bytes:
    doc = copy.deepcopy(EVENTBRIDGE)
    when = (at or datetime.now(UTC)).astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.000+0000")
    doc["id"] = event_id
    doc["detail"]["alarmName"] = alarm
    doc["detail"]["state"] = {"value": state, "reason": reason, "timestamp": when}
    doc["detail"]["configuration"]["metrics"][0]["metricStat"]["metric"]["dimensions"] = {"Service": service}
    return json.dumps(doc).encode()


def alertmanager(alerts: list[dict[str, Any]], status: str = "firing") -> bytes:
    return json.dumps({"version": "4", "status": status, "groupKey": "g", "alerts": alerts}).encode()


T0 = datetime(2026, 1, 1, 10, 0, tzinfo=UTC)


class FakeClock:
    """A job store's clock that moves only when a test moves it."""

    def __init__(self) -> None:
        self.now = 1_000.0

    def __call__(self) -> float:
        return self.now


def stored_alarm(
    message_id: str,
    *,
    name: str = "visits-5xx",
    status: AlarmStatus = AlarmStatus.FIRING,
    minutes: float = 0,
    service: str = "visits",
) -> AlarmEvent:
    """An alarm as intake hands it to a job store, ``minutes`` after :data:`T0`."""
    return AlarmEvent(
        source=AlarmSource.SNS,
        message_id=message_id,
        alarm_name=name,
        status=status,
        time=T0 + timedelta(minutes=minutes),
        service=service,
        labels={"Service": service},
    )


def frontend_alarm(message_id: str = "e1", name: str = "frontend-5xx") -> AlarmEvent:
    """An alarm on the frontend inside the test scenario's incident (payments throttling)."""
    return AlarmEvent(
        source=AlarmSource.EVENTBRIDGE,
        message_id=message_id,
        alarm_name=name,
        status=AlarmStatus.FIRING,
        time=datetime(2026, 3, 2, 10, 20, tzinfo=UTC),
        service="frontend",
        reason="5xx above 1%",
    )
