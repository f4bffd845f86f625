"""Settings of the AWS backend: where the telemetry lives and how much a query may cost.

Defaults are cautious: Logs Insights bills per GB scanned, so each query is capped to a time
range and a number of log groups, and the caps are reported in the backend's notes whenever they
cut a query.
"""

from __future__ import annotations

import os
import re
import string
from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from mcp_server.errors import InputFileError

CONFIG_ENV = "SLEUTH_AWS_CONFIG"
LOG_GROUP_NAME = re.compile(r"[A-Za-z0-9_\-./#]{1,512}")  # what CloudWatch Logs accepts as a group name

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
    # pacing: Logs Insights allows about 30 concurrent queries and 5 StartQuery calls a second per
    # account and region (Standard log class); Sleuth takes at most this share of both
    insights_account_concurrency: int = Field(default=30, gt=0)
    insights_account_start_rate: float = Field(default=5.0, gt=0)
    insights_account_share: float = Field(default=0.5, gt=0, le=1)
    log_patterns_with_insights: bool = True  # Insights' own `pattern` command counts every event
    log_sample_bins: int = Field(default=60, gt=0, le=500)  # samples spread over a window, per stratum
    filter_max_window_seconds: int = Field(default=15 * 60, ge=0)  # narrower: FilterLogEvents
    filter_max_events: int = Field(default=10_000, gt=0)  # events scanned by FilterLogEvents
    log_anomaly_detectors: bool = True  # read CloudWatch Logs anomaly detectors' findings

    # metrics
    metric_namespaces: list[str] = Field(default_factory=lambda: ["ApplicationSignals"])
    service_dimensions: list[str] = Field(default_factory=lambda: ["Service", "service.name", "ServiceName"])
    metric_kinds: dict[str, str] = Field(default_factory=lambda: dict(DEFAULT_METRIC_KINDS))
    max_metric_queries: int = Field(default=500, gt=0, le=500)  # per GetMetricData call
    metric_anomaly_bands: bool = True  # read metrics that have a CloudWatch anomaly detector
    max_anomaly_detectors: int = Field(default=100, ge=0)  # detectors whose band is read per call

    # traces
    max_trace_summaries: int = Field(default=2_000, gt=0)
    max_traces: int = Field(default=300, gt=0)  # full traces fetched (BatchGetTraces) per question
    trace_margin_seconds: int = Field(default=60, ge=0)
    transaction_search: bool = True  # span statistics over aws/spans when Transaction Search is on
    spans_log_group: str = "aws/spans"

    # Application Signals
    application_signals: bool = True  # operations, dependencies, audit findings, entity events
    max_signal_services: int = Field(default=20, ge=0)  # services whose operations are read per call

    # changes
    change_events: dict[str, str] = Field(default_factory=lambda: dict(DEFAULT_CHANGE_EVENTS))
    resource_services: dict[str, str] = Field(default_factory=dict)  # CloudTrail resource -> service
    max_change_events: int = Field(default=1_000, gt=0)

    # alarms
    max_alarm_histories: int = Field(default=50, ge=0)  # histories read: alarms in ALARM or changed lately

    # when the caller gives no window
    default_lookback_seconds: int = Field(default=3600, gt=0)

    # calls: every backend call has a deadline that covers its retries, polls and chunks (the
    # caller's, e.g. a tool's time limit, when shorter); a failing API is not asked again for a while
    call_deadline_seconds: float = Field(default=60.0, gt=0)
    max_attempts: int = Field(default=4, gt=0)  # tries per AWS request (first try included)
    retry_base_seconds: float = Field(default=0.5, ge=0)  # backoff: base * 2^attempt, jittered
    retry_max_seconds: float = Field(default=8.0, ge=0)
    failure_memory_seconds: float = Field(default=120.0, ge=0)  # 0: never remember failures
    connect_timeout: float = Field(default=5.0, gt=0)
    read_timeout: float = Field(default=10.0, gt=0)

    @field_validator("log_group_template")
    @classmethod
    def _one_placeholder(cls, template: str | None) -> str | None:
        if template is None:
            return None
        fields = {name for _, name, _, _ in string.Formatter().parse(template) if name is not None}
        if fields != {"service"}:
            raise ValueError(f"must contain {{service}} and no other {{...}} field, got {template!r}")
        return template

    def log_groups_for(self, service: str) -> list[str]:
        """Configured groups of ``service``, else the template's (None when the name cannot be one)."""
        groups = self.log_groups.get(service)
        if groups:
            return list(groups)
        if self.log_group_template:
            name = self.log_group_template.replace("{service}", service)
            return [name] if LOG_GROUP_NAME.fullmatch(name) else []
        return []

    def template_prefix(self) -> str | None:
        """The fixed part of the template before ``{service}`` (for DescribeLogGroups)."""
        if not self.log_group_template:
            return None
        return self.log_group_template.split("{service}", 1)[0]

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
