"""Alarm notifications as they arrive (SNS, EventBridge, Alertmanager) and the one shape Sleuth uses.

Each source's payload is parsed by a pydantic model and normalised into :class:`AlarmEvent`.
Only ALARM / firing transitions start investigations; OK / resolved update a running one.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from mcp_server.errors import SleuthError


class PayloadError(SleuthError):
    """A notification that cannot be understood: names what was wrong."""


class AlarmSource(StrEnum):
    SNS = "sns"
    EVENTBRIDGE = "eventbridge"
    ALERTMANAGER = "alertmanager"
    SLACK = "slack"
    CLI = "cli"


class AlarmStatus(StrEnum):
    FIRING = "firing"
    RESOLVED = "resolved"
    OTHER = "other"  # INSUFFICIENT_DATA and the like: recorded, never investigated


class AlarmEvent(BaseModel):
    """One alarm transition, whatever its source."""

    model_config = ConfigDict(extra="forbid")

    source: AlarmSource
    message_id: str  # unique per delivery of one notification (redeliveries share it)
    alarm_name: str
    status: AlarmStatus
    time: datetime
    service: str | None = None
    reason: str = ""
    metric: str | None = None
    region: str | None = None
    labels: dict[str, str] = Field(default_factory=dict)

    @property
    def question(self) -> str:
        where = f" on {self.service}" if self.service else ""
        return f"Alarm {self.alarm_name} fired{where}: {self.reason}".strip()


_SERVICE_KEYS = ("service", "Service", "ServiceName", "service_name", "service.name", "app", "job")


def _service_from(mapping: dict[str, Any]) -> str | None:
    for key in _SERVICE_KEYS:
        value = mapping.get(key)
        if value:
            return str(value)
    return None


def _parse_time(text: str | None) -> datetime:
    if not text:
        return datetime.now(UTC)
    # CloudWatch writes "2026-01-01T10:00:00.000+0000"; Python wants a colon in the offset.
    cleaned = text.replace("Z", "+00:00")
    if len(cleaned) > 5 and cleaned[-5] in "+-" and cleaned[-3] != ":":
        cleaned = f"{cleaned[:-2]}:{cleaned[-2:]}"
    try:
        moment = datetime.fromisoformat(cleaned)
    except ValueError:
        raise PayloadError(f"unreadable timestamp {text!r}") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _status_from_state(state: str) -> AlarmStatus:
    return {"ALARM": AlarmStatus.FIRING, "OK": AlarmStatus.RESOLVED}.get(state.upper(), AlarmStatus.OTHER)


# ------------------------------------------------------------------------------------ SNS


class SnsEnvelope(BaseModel):
    """An SNS HTTP(S) delivery: Notification, SubscriptionConfirmation or UnsubscribeConfirmation."""

    model_config = ConfigDict(extra="ignore")

    Type: str
    MessageId: str
    TopicArn: str
    Message: str
    Timestamp: str
    SignatureVersion: str
    Signature: str
    SigningCertURL: str
    Subject: str | None = None
    Token: str | None = None
    SubscribeURL: str | None = None
    UnsubscribeURL: str | None = None


class CloudWatchTrigger(BaseModel):
    model_config = ConfigDict(extra="ignore")

    MetricName: str | None = None
    Namespace: str | None = None
    Dimensions: list[dict[str, str]] = Field(default_factory=list)


class CloudWatchAlarmMessage(BaseModel):
    """The JSON CloudWatch puts in an SNS Message when an alarm changes state."""

    model_config = ConfigDict(extra="ignore")

    AlarmName: str
    NewStateValue: str
    NewStateReason: str = ""
    StateChangeTime: str | None = None
    Region: str | None = None
    AlarmDescription: str | None = None
    Trigger: CloudWatchTrigger | None = None


def parse_sns_envelope(body: bytes) -> SnsEnvelope:
    try:
        return SnsEnvelope.model_validate_json(body)
    except ValidationError as exc:
        raise PayloadError(f"not an SNS message: {_first_error(exc)}") from None


def alarm_from_sns(envelope: SnsEnvelope) -> AlarmEvent:
    try:
        message = CloudWatchAlarmMessage.model_validate_json(envelope.Message)
    except ValidationError as exc:
        raise PayloadError(
            f"SNS Message is not a CloudWatch alarm notification: {_first_error(exc)}"
        ) from None
    dimensions = {
        d.get("name", d.get("Name", "")): d.get("value", d.get("Value", "")) for d in _dims(message)
    }
    return AlarmEvent(
        source=AlarmSource.SNS,
        message_id=envelope.MessageId,
        alarm_name=message.AlarmName,
        status=_status_from_state(message.NewStateValue),
        time=_parse_time(message.StateChangeTime or envelope.Timestamp),
        service=_service_from(dimensions),
        reason=message.NewStateReason,
        metric=message.Trigger.MetricName if message.Trigger else None,
        region=message.Region,
        labels=dimensions,
    )


def _dims(message: CloudWatchAlarmMessage) -> list[dict[str, str]]:
    return message.Trigger.Dimensions if message.Trigger else []


# ----------------------------------------------------------------------------- EventBridge


class EventBridgeState(BaseModel):
    model_config = ConfigDict(extra="ignore")

    value: str
    reason: str = ""
    timestamp: str | None = None


class EventBridgeDetail(BaseModel):
    model_config = ConfigDict(extra="ignore")

    alarmName: str
    state: EventBridgeState
    previousState: EventBridgeState | None = None
    configuration: dict[str, Any] = Field(default_factory=dict)


class EventBridgeEvent(BaseModel):
    model_config = ConfigDict(extra="ignore", populate_by_name=True)

    id: str
    detail_type: str = Field(alias="detail-type")
    source: str
    time: str | None = None
    region: str | None = None
    detail: EventBridgeDetail


def alarm_from_eventbridge(body: bytes) -> AlarmEvent:
    try:
        event = EventBridgeEvent.model_validate_json(body)
    except ValidationError as exc:
        raise PayloadError(f"not a CloudWatch Alarm State Change event: {_first_error(exc)}") from None
    if event.detail_type != "CloudWatch Alarm State Change":
        raise PayloadError(f"unsupported EventBridge detail-type {event.detail_type!r}")
    dimensions: dict[str, str] = {}
    metric = None
    for entry in event.detail.configuration.get("metrics", []) or []:
        stat = (entry or {}).get("metricStat", {}).get("metric", {})
        metric = metric or stat.get("name")
        dimensions.update({str(k): str(v) for k, v in (stat.get("dimensions") or {}).items()})
    return AlarmEvent(
        source=AlarmSource.EVENTBRIDGE,
        message_id=event.id,
        alarm_name=event.detail.alarmName,
        status=_status_from_state(event.detail.state.value),
        time=_parse_time(event.detail.state.timestamp or event.time),
        service=_service_from(dimensions),
        reason=event.detail.state.reason,
        metric=metric,
        region=event.region,
        labels=dimensions,
    )


# ---------------------------------------------------------------------------- Alertmanager


class AlertmanagerAlert(BaseModel):
    model_config = ConfigDict(extra="ignore")

    status: str
    labels: dict[str, str] = Field(default_factory=dict)
    annotations: dict[str, str] = Field(default_factory=dict)
    startsAt: str | None = None
    endsAt: str | None = None
    fingerprint: str | None = None


class AlertmanagerWebhook(BaseModel):
    model_config = ConfigDict(extra="ignore")

    version: str = "4"
    status: str
    groupKey: str = ""
    alerts: list[AlertmanagerAlert]
    commonLabels: dict[str, str] = Field(default_factory=dict)


def alarms_from_alertmanager(body: bytes) -> list[AlarmEvent]:
    """One event per alert in the group; each alert keeps its own firing/resolved status."""
    try:
        hook = AlertmanagerWebhook.model_validate_json(body)
    except ValidationError as exc:
        raise PayloadError(f"not an Alertmanager webhook: {_first_error(exc)}") from None
    events = []
    for alert in hook.alerts:
        labels = {**hook.commonLabels, **alert.labels}
        name = labels.get("alertname")
        if not name:
            raise PayloadError("Alertmanager alert without an alertname label")
        status = AlarmStatus.FIRING if alert.status == "firing" else AlarmStatus.RESOLVED
        identity = alert.fingerprint or json.dumps(sorted(labels.items()))
        events.append(
            AlarmEvent(
                source=AlarmSource.ALERTMANAGER,
                message_id=f"{identity}:{alert.startsAt}:{alert.status}",
                alarm_name=name,
                status=status,
                time=_parse_time(alert.startsAt if status == AlarmStatus.FIRING else alert.endsAt),
                service=_service_from(labels),
                reason=alert.annotations.get("summary") or alert.annotations.get("description", ""),
                labels=labels,
            )
        )
    return events


def _first_error(exc: ValidationError) -> str:
    first = exc.errors()[0]
    where = ".".join(str(part) for part in first["loc"])
    return f"{where}: {first['msg']}" if where else first["msg"]
