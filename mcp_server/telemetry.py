"""The telemetry model: Sleuth's lingua franca.

Every backend returns these types and every analysis consumes them. Times are kept as integer
nanoseconds since the Unix epoch (as OTLP carries them) so a round trip loses nothing; the
``start``/``end``/``time`` properties give timezone-aware datetimes for display and arithmetic.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from enum import IntEnum, StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

from mcp_server.span_conventions import SpanKind as SpanKind
from mcp_server.span_conventions import StatusCode as StatusCode
from mcp_server.span_conventions import span_http_status, span_is_error, span_peer

NANOS_PER_SECOND = 1_000_000_000

AttributeValue = Any  # str | bool | int | float | list[...] | dict[str, ...] as in OTLP AnyValue


def to_nanos(moment: datetime) -> int:
    """Nanoseconds since the epoch for an aware datetime (naive datetimes are taken as UTC)."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    delta = moment - datetime(1970, 1, 1, tzinfo=UTC)
    return (delta.days * 86_400 + delta.seconds) * NANOS_PER_SECOND + delta.microseconds * 1_000


def from_nanos(nanos: int) -> datetime:
    """An aware UTC datetime (microsecond precision) for nanoseconds since the epoch."""
    return datetime(1970, 1, 1, tzinfo=UTC) + timedelta(microseconds=nanos // 1_000)


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class TimeWindow(_Model):
    """A half-open time range [start, end)."""

    start: datetime
    end: datetime

    @model_validator(mode="after")
    def _ordered(self) -> TimeWindow:
        if self.start.tzinfo is None or self.end.tzinfo is None:
            raise ValueError("window times need a UTC offset, e.g. 2026-01-01T10:00:00Z")
        if self.end <= self.start:
            raise ValueError(
                f"window end {self.end.isoformat()} is not after its start {self.start.isoformat()}"
            )
        return self

    @property
    def start_ns(self) -> int:
        return to_nanos(self.start)

    @property
    def end_ns(self) -> int:
        return to_nanos(self.end)

    @property
    def duration(self) -> timedelta:
        return self.end - self.start

    def contains(self, moment: datetime) -> bool:
        return self.start <= moment < self.end


# ---------------------------------------------------------------------------------------- traces


class SpanEvent(_Model):
    name: str
    time_unix_nano: int
    attributes: dict[str, AttributeValue] = Field(default_factory=dict)


class SpanLink(_Model):
    trace_id: str
    span_id: str
    attributes: dict[str, AttributeValue] = Field(default_factory=dict)


class Span(_Model):
    trace_id: str
    span_id: str
    parent_span_id: str | None = None
    service: str
    operation: str
    kind: SpanKind = SpanKind.UNSPECIFIED
    start_time_unix_nano: int
    end_time_unix_nano: int
    status_code: StatusCode = StatusCode.UNSET
    status_message: str = ""
    attributes: dict[str, AttributeValue] = Field(default_factory=dict)
    resource: dict[str, AttributeValue] = Field(default_factory=dict)
    events: list[SpanEvent] = Field(default_factory=list)
    links: list[SpanLink] = Field(default_factory=list)
    trace_state: str = ""
    scope_name: str = ""
    scope_version: str = ""

    @property
    def start(self) -> datetime:
        return from_nanos(self.start_time_unix_nano)

    @property
    def end(self) -> datetime:
        return from_nanos(self.end_time_unix_nano)

    @property
    def duration_ms(self) -> float:
        return (self.end_time_unix_nano - self.start_time_unix_nano) / 1e6

    @property
    def host(self) -> str | None:
        return _first_str(self.resource, "host.name", "k8s.pod.name", "host.id", "service.instance.id")

    @property
    def availability_zone(self) -> str | None:
        return _first_str(self.resource, "cloud.availability_zone", "cloud.zone")

    @property
    def http_status(self) -> int | None:
        return span_http_status(self.attributes)

    @property
    def peer(self) -> str | None:
        """The dependency a client or producer span calls, named as an operator would name it."""
        return span_peer(int(self.kind), self.attributes)

    @property
    def is_error(self) -> bool:
        """Explicit ERROR status, else inferred from HTTP/RPC status codes and exception events."""
        return span_is_error(self.status_code, self.kind, self.attributes, [e.name for e in self.events])


def _first_str(attrs: dict[str, AttributeValue], *keys: str) -> str | None:
    for key in keys:
        value = attrs.get(key)
        if value not in (None, ""):
            return str(value)
    return None


# ------------------------------------------------------------------------------------------ logs


class Severity(StrEnum):
    TRACE = "TRACE"
    DEBUG = "DEBUG"
    INFO = "INFO"
    WARN = "WARN"
    ERROR = "ERROR"
    FATAL = "FATAL"
    UNSPECIFIED = "UNSPECIFIED"

    @classmethod
    def from_number(cls, number: int) -> Severity:
        """Map an OTLP SeverityNumber (1..24) onto its range name."""
        if number <= 0:
            return cls.UNSPECIFIED
        return [cls.TRACE, cls.DEBUG, cls.INFO, cls.WARN, cls.ERROR, cls.FATAL][min((number - 1) // 4, 5)]

    @classmethod
    def from_text(cls, text: str) -> Severity:
        upper = text.strip().upper()
        aliases = {"WARNING": "WARN", "ERR": "ERROR", "CRITICAL": "FATAL", "CRIT": "FATAL", "PANIC": "FATAL"}
        upper = aliases.get(upper, upper)
        for member in cls:
            if upper.startswith(member.value):
                return member
        return cls.UNSPECIFIED

    @property
    def rank(self) -> int:
        return _SEVERITY_RANK[self]


_SEVERITY_RANK = {
    Severity.UNSPECIFIED: 0,
    Severity.TRACE: 1,
    Severity.DEBUG: 2,
    Severity.INFO: 3,
    Severity.WARN: 4,
    Severity.ERROR: 5,
    Severity.FATAL: 6,
}


class LogRecord(_Model):
    time_unix_nano: int
    observed_time_unix_nano: int = 0
    service: str
    severity: Severity = Severity.UNSPECIFIED
    severity_number: int = 0
    severity_text: str = ""
    body: str
    trace_id: str | None = None
    span_id: str | None = None
    attributes: dict[str, AttributeValue] = Field(default_factory=dict)
    resource: dict[str, AttributeValue] = Field(default_factory=dict)
    scope_name: str = ""
    flags: int = 0
    event_name: str = ""

    @property
    def time(self) -> datetime:
        return from_nanos(self.time_unix_nano)


# --------------------------------------------------------------------------------------- metrics


class MetricKind(StrEnum):
    GAUGE = "gauge"
    SUM = "sum"
    HISTOGRAM = "histogram"
    EXPONENTIAL_HISTOGRAM = "exponential_histogram"
    SUMMARY = "summary"


class AggregationTemporality(IntEnum):
    UNSPECIFIED = 0
    DELTA = 1
    CUMULATIVE = 2


class MetricPoint(_Model):
    """One data point, reduced to what analysis needs but keeping every OTLP field we read.

    Gauges and sums carry ``value``. Histograms carry ``count``/``sum``/``min``/``max`` and their
    buckets; summaries carry quantiles. ``value`` for a histogram is its mean (sum / count), so a
    series of any kind can be plotted and scored.
    """

    name: str
    service: str
    kind: MetricKind = MetricKind.GAUGE
    unit: str = ""
    description: str = ""
    time_unix_nano: int
    start_time_unix_nano: int = 0
    value: float
    attributes: dict[str, AttributeValue] = Field(default_factory=dict)
    resource: dict[str, AttributeValue] = Field(default_factory=dict)
    temporality: AggregationTemporality = AggregationTemporality.UNSPECIFIED
    is_monotonic: bool = False
    count: int | None = None
    sum: float | None = None
    min: float | None = None
    max: float | None = None
    explicit_bounds: list[float] = Field(default_factory=list)
    bucket_counts: list[int] = Field(default_factory=list)
    quantiles: dict[str, float] = Field(default_factory=dict)
    scope_name: str = ""

    @property
    def time(self) -> datetime:
        return from_nanos(self.time_unix_nano)


class MetricDescriptor(_Model):
    name: str
    service: str
    kind: MetricKind
    unit: str = ""
    description: str = ""
    attribute_keys: list[str] = Field(default_factory=list)
    point_count: int = 0


class SeriesPoint(_Model):
    time: datetime
    value: float
    counted_seconds: float | None = None  # a counter's: the seconds the point counted, when known


class MetricSeries(_Model):
    """A time series: one metric, one service, one combination of grouped attribute values."""

    name: str
    service: str
    unit: str = ""
    kind: MetricKind = MetricKind.GAUGE
    attributes: dict[str, AttributeValue] = Field(default_factory=dict)
    statistic: str = "avg"
    points: list[SeriesPoint] = Field(default_factory=list)


# --------------------------------------------------------------------------------------- changes


class ChangeKind(StrEnum):
    DEPLOYMENT = "deployment"
    CONFIG = "config"
    SCALING = "scaling"
    FEATURE_FLAG = "feature_flag"
    INFRA = "infra"


class ChangeEvent(_Model):
    time: datetime
    service: str
    kind: ChangeKind
    version: str | None = None
    previous_version: str | None = None
    description: str = ""
    actor: str = ""
    id: str | None = None
    attributes: dict[str, AttributeValue] = Field(default_factory=dict)


# ------------------------------------------------------------------------------------------ SLOs


class SliKind(StrEnum):
    AVAILABILITY = "availability"
    LATENCY = "latency"


class BurnAlert(_Model):
    """A team's page on an SLO: bad fraction over ``window_minutes`` above ``rate`` x the budget."""

    rate: float = Field(gt=0)
    window_minutes: int = Field(gt=0)
    min_events: int = Field(default=20, ge=1)


class SloDefinition(_Model):
    """A service-level objective over the server spans of a service (optionally one operation).

    Availability: good events are spans that are not errors. Latency: good events are spans that
    finish within ``threshold_ms``. ``goal`` is the target fraction of good events (0.999) over
    ``interval_days``.
    """

    name: str
    service: str
    operation: str | None = None
    sli: SliKind
    goal: float = Field(gt=0, lt=1)
    threshold_ms: float | None = None
    interval_days: int = Field(default=28, gt=0)
    description: str = ""
    burn_alert: BurnAlert | None = None  # the team's burn-rate page on it, when they declare one

    @model_validator(mode="after")
    def _latency_needs_threshold(self) -> SloDefinition:
        if self.sli == SliKind.LATENCY and self.threshold_ms is None:
            raise ValueError(f"latency SLO {self.name!r} needs threshold_ms")
        return self


class SloStatus(_Model):
    """An SLO evaluated over a window."""

    definition: SloDefinition
    window: TimeWindow
    total_events: int
    good_events: int
    attainment: float | None  # None when there were no events
    error_budget_remaining: float | None  # fraction of budget left over the window; may go negative
    burn_rate: float | None  # observed bad fraction / allowed bad fraction (1.0 = on budget)
    breaching: bool


# ---------------------------------------------------------------------------------------- alarms


class AlarmState(StrEnum):
    OK = "OK"
    ALARM = "ALARM"
    INSUFFICIENT_DATA = "INSUFFICIENT_DATA"


class AlarmTransition(_Model):
    time: datetime
    old_state: AlarmState
    new_state: AlarmState
    reason: str = ""


class Alarm(_Model):
    name: str
    service: str | None = None
    metric: str
    statistic: str = "avg"
    comparison: str = ">"  # one of > >= < <=
    threshold: float
    period_seconds: int = 60
    evaluation_periods: int = 1
    dimensions: dict[str, str] = Field(default_factory=dict)
    description: str = ""
    state: AlarmState = AlarmState.INSUFFICIENT_DATA
    state_reason: str = ""
    history: list[AlarmTransition] = Field(default_factory=list)
    slo: str | None = None  # the SLO whose burn rate this alarm pages on; None: a metric threshold


# -------------------------------------------------------------------------------------- topology


class ServiceEdge(_Model):
    """Calls from one service to another (or to an uninstrumented dependency) in a window."""

    caller: str
    callee: str
    requests: int
    errors: int
    p50_ms: float | None = None
    p95_ms: float | None = None
    callee_is_external: bool = False  # a database/queue/API seen only through client spans
    traced: bool = True  # False: named only by client-side metrics (no latency, no per-call errors)
