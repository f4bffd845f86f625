"""Alarm notifications as they arrive (SNS, EventBridge, Alertmanager) and the one shape Sleuth uses.

Each source's payload is parsed by a pydantic model and normalised into :class:`AlarmEvent`.
Only ALARM / firing transitions start investigations; OK / resolved update a running one.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum

from pydantic import AliasChoices, BaseModel, ConfigDict, Field, ValidationError

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
    account: str | None = None
    labels: dict[str, str] = Field(default_factory=dict)  # dimensions / alert labels: part of the identity
    # Where a person asked for it (Slack channel, thread, user): not part of the identity.
    origin: dict[str, str] = Field(default_factory=dict)

    @property
    def identity(self) -> str:
        """Which alarm this is: source + account + region + name + labels. Deduplication keys on it,
        so the same alert name for two services (or two dimension sets) is two alarms."""
        parts = [self.source.value, self.account or "", self.region or "", self.alarm_name]
        parts += [f"{k}={v}" for k, v in sorted(self.labels.items())]
        return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()[:32]

    @property
    def question(self) -> str:
        where = f" on {self.service}" if self.service else ""
        return f"Alarm {self.alarm_name} fired{where}: {self.reason}".strip()


_SERVICE_KEYS = ("service", "Service", "ServiceName", "service_name", "service.name", "app", "job")


def _service_from(mapping: dict[str, str]) -> str | None:
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


_DURATION = re.compile(r"^(\d{1,5})([smhd])$")
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_duration(text: str) -> timedelta:
    """``30m`` -> 30 minutes (units s, m, h, d); raises ValueError otherwise."""
    match = _DURATION.match(text.strip())
    if match is None or int(match[1]) == 0:
        raise ValueError(f"{text!r} is not a duration like 30m, 2h or 1d")
    return timedelta(seconds=int(match[1]) * _UNIT_SECONDS[match[2]])


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


class CloudWatchDimension(BaseModel):
    model_config = ConfigDict(extra="ignore", populate_by_name=True)

    name: str = Field(default="", validation_alias=AliasChoices("name", "Name"))
    value: str = Field(default="", validation_alias=AliasChoices("value", "Value"))


class CloudWatchMetric(BaseModel):
    model_config = ConfigDict(extra="ignore")

    MetricName: str | None = None
    Namespace: str | None = None
    Dimensions: list[CloudWatchDimension] | None = None


class CloudWatchMetricStat(BaseModel):
    model_config = ConfigDict(extra="ignore")

    Metric: CloudWatchMetric | None = None


class CloudWatchMetricQuery(BaseModel):
    model_config = ConfigDict(extra="ignore")

    MetricStat: CloudWatchMetricStat | None = None


class CloudWatchTrigger(BaseModel):
    model_config = ConfigDict(extra="ignore")

    MetricName: str | None = None
    Namespace: str | None = None
    Dimensions: list[CloudWatchDimension] | None = None
    Metrics: list[CloudWatchMetricQuery] | None = None  # metric-math alarms

    def metrics(self) -> list[CloudWatchMetric]:
        own = CloudWatchMetric(
            MetricName=self.MetricName, Namespace=self.Namespace, Dimensions=self.Dimensions
        )
        nested = [q.MetricStat.Metric for q in self.Metrics or [] if q.MetricStat and q.MetricStat.Metric]
        return [own, *nested]


class CloudWatchAlarmMessage(BaseModel):
    """The JSON CloudWatch puts in an SNS Message when an alarm changes state."""

    model_config = ConfigDict(extra="ignore")

    AlarmName: str
    NewStateValue: str
    NewStateReason: str = ""
    StateChangeTime: str | None = None
    Region: str | None = None
    AlarmArn: str | None = None
    AWSAccountId: str | None = None
    AlarmDescription: str | None = None
    Trigger: CloudWatchTrigger | None = None


def parse_sns_envelope(body: bytes) -> SnsEnvelope:
    try:
        return SnsEnvelope.model_validate_json(body)
    except ValidationError as exc:
        raise PayloadError(f"not an SNS message: {_first_error(exc)}") from None


def arn_parts(arn: str) -> tuple[str, str, str, str, str]:
    """(partition, service, region, account, resource) of an ARN; raises PayloadError."""
    parts = arn.split(":", 5)
    if len(parts) != 6 or parts[0] != "arn":
        raise PayloadError(f"{arn!r} is not an ARN")
    return parts[1], parts[2], parts[3], parts[4], parts[5]


def alarm_from_sns(envelope: SnsEnvelope) -> AlarmEvent:
    try:
        message = CloudWatchAlarmMessage.model_validate_json(envelope.Message)
    except ValidationError as exc:
        raise PayloadError(
            f"SNS Message is not a CloudWatch alarm notification: {_first_error(exc)}"
        ) from None
    metrics = message.Trigger.metrics() if message.Trigger else []
    dimensions = {d.name: d.value for m in metrics for d in m.Dimensions or [] if d.name}
    _, _, region, account, _ = arn_parts(message.AlarmArn or envelope.TopicArn)
    return AlarmEvent(
        source=AlarmSource.SNS,
        message_id=envelope.MessageId,
        alarm_name=message.AlarmName,
        status=_status_from_state(message.NewStateValue),
        time=_parse_time(message.StateChangeTime or envelope.Timestamp),
        service=_service_from(dimensions),
        reason=message.NewStateReason,
        metric=next((m.MetricName for m in metrics if m.MetricName), None),
        region=region or None,
        account=message.AWSAccountId or account or None,
        labels=dimensions,
    )


# ----------------------------------------------------------------------------- EventBridge


class EventBridgeState(BaseModel):
    model_config = ConfigDict(extra="ignore")

    value: str
    reason: str = ""
    timestamp: str | None = None


class EventBridgeMetric(BaseModel):
    model_config = ConfigDict(extra="ignore")

    name: str | None = None
    namespace: str | None = None
    dimensions: dict[str, str] | None = None


class EventBridgeMetricStat(BaseModel):
    model_config = ConfigDict(extra="ignore")

    metric: EventBridgeMetric | None = None


class EventBridgeMetricQuery(BaseModel):
    model_config = ConfigDict(extra="ignore")

    metricStat: EventBridgeMetricStat | None = None  # null for expressions (metric math)


class EventBridgeConfiguration(BaseModel):
    model_config = ConfigDict(extra="ignore")

    metrics: list[EventBridgeMetricQuery | None] | None = None


class EventBridgeDetail(BaseModel):
    model_config = ConfigDict(extra="ignore")

    alarmName: str
    state: EventBridgeState
    previousState: EventBridgeState | None = None
    configuration: EventBridgeConfiguration | None = None


class EventBridgeEvent(BaseModel):
    model_config = ConfigDict(extra="ignore", populate_by_name=True)

    id: str
    detail_type: str = Field(alias="detail-type")
    source: str
    account: str | None = None
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
    queries = (event.detail.configuration.metrics if event.detail.configuration else None) or []
    metrics = [q.metricStat.metric for q in queries if q and q.metricStat and q.metricStat.metric]
    dimensions = {k: v for m in metrics for k, v in (m.dimensions or {}).items()}
    return AlarmEvent(
        source=AlarmSource.EVENTBRIDGE,
        message_id=event.id,
        alarm_name=event.detail.alarmName,
        status=_status_from_state(event.detail.state.value),
        time=_parse_time(event.detail.state.timestamp or event.time),
        service=_service_from(dimensions),
        reason=event.detail.state.reason,
        metric=next((m.name for m in metrics if m.name), None),
        region=event.region,
        account=event.account,
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


@dataclass(frozen=True)
class Rejected:
    """One alert of a group that cannot be taken: the rest of the group still is."""

    alarm: str
    reason: str


def alarms_from_alertmanager(body: bytes) -> list[AlarmEvent | Rejected]:
    """One event per alert in the group; each alert keeps its own status and is judged on its own."""
    try:
        hook = AlertmanagerWebhook.model_validate_json(body)
    except ValidationError as exc:
        raise PayloadError(f"not an Alertmanager webhook: {_first_error(exc)}") from None
    out: list[AlarmEvent | Rejected] = []
    for index, alert in enumerate(hook.alerts):
        labels = {**hook.commonLabels, **alert.labels}
        name = labels.get("alertname")
        if not name:
            out.append(Rejected(f"alerts[{index}]", "alert without an alertname label"))
            continue
        status = AlarmStatus.FIRING if alert.status == "firing" else AlarmStatus.RESOLVED
        identity = alert.fingerprint or json.dumps(sorted(labels.items()))
        try:
            when = _parse_time(alert.startsAt if status == AlarmStatus.FIRING else alert.endsAt)
        except PayloadError as exc:
            out.append(Rejected(name, str(exc)))
            continue
        out.append(
            AlarmEvent(
                source=AlarmSource.ALERTMANAGER,
                message_id=f"{identity}:{alert.startsAt}:{alert.status}",
                alarm_name=name,
                status=status,
                time=when,
                service=_service_from(labels),
                reason=alert.annotations.get("summary") or alert.annotations.get("description", ""),
                labels=labels,
            )
        )
    return out


def _first_error(exc: ValidationError) -> str:
    first = exc.errors()[0]
    where = ".".join(str(part) for part in first["loc"])
    return f"{where}: {first['msg']}" if where else first["msg"]
