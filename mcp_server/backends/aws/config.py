"""Settings of the AWS backend: where the telemetry lives and how much a query may cost.

Defaults are cautious: Logs Insights bills per GB scanned, so each query is capped to a time
range and a number of log groups, and the caps are reported in the backend's notes whenever they
cut a query.
"""

from __future__ import annotations

import os
from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from mcp_server.errors import InputFileError

CONFIG_ENV = "SLEUTH_AWS_CONFIG"

DEFAULT_CHANGE_EVENTS: dict[str, str] = {
    # CloudTrail event name -> ChangeKind value
    "UpdateFunctionCode20150331v2": "deployment",
    "UpdateFunctionConfiguration20150331v2": "config",
    "PublishVersion20150331": "deployment",
    "UpdateService": "deployment",
    "CreateDeployment": "deployment",
    "StartDeployment": "feature_flag",
    "PutParameter": "config",
    "UpdateStack": "infra",
    "UpdateAutoScalingGroup": "scaling",
    "SetDesiredCapacity": "scaling",
}


DEFAULT_METRIC_KINDS: dict[str, str] = {
    # CloudWatch does not record whether a metric counts or samples; analysis needs to know (a
    # counter is read as a rate). Glob on the metric name -> MetricKind value; first match wins.
    "*.request.count": "sum",
    "*.request.errors": "sum",
    "*.errors": "sum",
    "*_total": "sum",
    "*throttled_requests": "sum",
    "*consumed_*_capacity": "sum",
    "*.request.duration": "histogram",
    # AWS-native and Application Signals metrics
    "Invocations": "sum",
    "Errors": "sum",
    "Throttles": "sum",
    "Fault": "sum",
    "Error": "sum",
    "RequestCount": "sum",
    "HTTPCode_*": "sum",
    "*XXError": "sum",
    "Latency": "histogram",
    "Duration": "histogram",
}


class AwsBackendConfig(BaseModel):
    """Everything the AWS backend needs besides credentials (those come from the boto3 session)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    region: str | None = None
    profile: str | None = None

    # logs
    log_groups: dict[str, list[str]] = Field(default_factory=dict)  # service -> log group names
    log_group_template: str | None = None  # e.g. "/ecs/{service}" when not in log_groups
    insights_max_window_seconds: int = Field(default=6 * 3600, gt=0)  # cost cap: range scanned per call
    insights_chunk_seconds: int = Field(default=3600, gt=0)  # wide windows are split into chunks
    insights_max_log_groups: int = Field(default=10, gt=0, le=50)  # cost cap: groups per query
    insights_timeout_seconds: float = Field(default=60.0, gt=0)
    insights_poll_seconds: float = Field(default=1.0, gt=0)
    insights_max_rows: int = Field(default=10_000, gt=0, le=10_000)
    log_group_max_events: int = Field(default=50_000, gt=0)  # events read to count log patterns
    filter_max_window_seconds: int = Field(default=15 * 60, ge=0)  # narrower: FilterLogEvents
    filter_max_events: int = Field(default=10_000, gt=0)  # events scanned by FilterLogEvents

    # metrics
    metric_namespaces: list[str] = Field(default_factory=lambda: ["ApplicationSignals"])
    service_dimensions: list[str] = Field(default_factory=lambda: ["Service", "service.name", "ServiceName"])
    metric_kinds: dict[str, str] = Field(default_factory=lambda: dict(DEFAULT_METRIC_KINDS))
    max_metric_queries: int = Field(default=500, gt=0, le=500)  # per GetMetricData call

    # traces
    max_trace_summaries: int = Field(default=2_000, gt=0)
    max_traces: int = Field(default=300, gt=0)  # full traces fetched (BatchGetTraces) per question
    trace_margin_seconds: int = Field(default=60, ge=0)

    # changes
    change_events: dict[str, str] = Field(default_factory=lambda: dict(DEFAULT_CHANGE_EVENTS))
    resource_services: dict[str, str] = Field(default_factory=dict)  # CloudTrail resource -> service
    max_change_events: int = Field(default=1_000, gt=0)

    # alarms
    max_alarm_histories: int = Field(default=50, ge=0)  # histories read: alarms in ALARM or changed lately

    # when the caller gives no window
    default_lookback_seconds: int = Field(default=3600, gt=0)

    # botocore
    max_attempts: int = Field(default=8, gt=0)  # total attempts per call (first try included)
    connect_timeout: float = Field(default=5.0, gt=0)
    read_timeout: float = Field(default=30.0, gt=0)

    def log_groups_for(self, service: str) -> list[str]:
        groups = self.log_groups.get(service)
        if groups:
            return list(groups)
        if self.log_group_template:
            return [self.log_group_template.format(service=service)]
        return []

    @classmethod
    def from_file(cls, path: str | Path) -> AwsBackendConfig:
        path = Path(path)
        try:
            raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        except FileNotFoundError:
            raise InputFileError(path, None, None, "file not found") from None
        except yaml.YAMLError as exc:
            raise InputFileError(path, None, None, f"not valid YAML: {exc}") from None
        if not isinstance(raw, dict):
            raise InputFileError(path, None, None, "expected a mapping of AWS backend settings")
        try:
            return cls.model_validate(raw)
        except ValidationError as exc:
            first = exc.errors()[0]
            field = ".".join(str(part) for part in first["loc"]) or None
            raise InputFileError(path, None, field, first["msg"]) from None

    @classmethod
    def from_env(cls, **overrides: object) -> AwsBackendConfig:
        """``$SLEUTH_AWS_CONFIG`` (a YAML file) if set, then AWS_REGION/AWS_PROFILE, then overrides."""
        path = os.environ.get(CONFIG_ENV)
        base = cls.from_file(path) if path else cls()
        values = base.model_dump()
        region = os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION")
        if region and not values.get("region"):
            values["region"] = region
        if os.environ.get("AWS_PROFILE") and not values.get("profile"):
            values["profile"] = os.environ["AWS_PROFILE"]
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls.model_validate(values)
