"""The telemetry backend port.

Every backend (the embedded DuckDB store, AWS) implements :class:`TelemetryBackend`. Filtering,
time ranges, aggregation and limits are part of each call so the backend does the heavy lifting
(SQL, CloudWatch queries), not Python loops over raw rows. Methods raise
:class:`mcp_server.errors.QueryError` subclasses for questions they cannot answer as asked.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal, Protocol, runtime_checkable

from pydantic import BaseModel, ConfigDict, Field

from mcp_server.telemetry import (
    Alarm,
    AlarmState,
    AttributeValue,
    ChangeEvent,
    ChangeKind,
    LogRecord,
    MetricDescriptor,
    MetricKind,
    MetricSeries,
    ServiceEdge,
    Severity,
    SloDefinition,
    Span,
    TimeWindow,
)

DEFAULT_LIMIT = 100
MAX_LIMIT = 10_000


class _Query(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class SpanQuery(_Query):
    window: TimeWindow | None = None
    service: str | None = None
    operation: str | None = None
    trace_id: str | None = None
    errors_only: bool = False
    min_duration_ms: float | None = None
    kind: int | None = None
    attributes: dict[str, AttributeValue] = Field(default_factory=dict)  # exact matches
    order: Literal["start", "duration_desc"] = "start"
    limit: int = Field(default=DEFAULT_LIMIT, gt=0, le=MAX_LIMIT)
    # One span per trace, its first match (order "start") or its slowest ("duration_desc"): the
    # limit then counts traces. ``after`` pages on: the (start_ns or duration_ms, trace_id) of
    # the last span a previous page returned; rows come after it in the same order.
    one_per_trace: bool = False
    after: tuple[int | float, str] | None = None


# ``callee``: the instrumented service a span's own children run in (set on the caller's client
# span); ``parent_service``/``parent_operation``: the span's parent (who called it);
# ``last_callee``: the service the span's last-ending child called (after whom it returned).
SpanGroup = Literal[
    "service",
    "operation",
    "host",
    "availability_zone",
    "peer",
    "callee",
    "parent_service",
    "parent_operation",
    "last_callee",
]


class SpanStatsQuery(_Query):
    """Per-bucket RED statistics of spans grouped by service and operation."""

    window: TimeWindow
    bucket_seconds: int = Field(default=60, gt=0)
    service: str | None = None
    kinds: list[int] | None = None  # SpanKind values; None = all
    # only spans without a parent: the requests that entered the system, where spans carry no kind
    roots_only: bool = False
    group_by: list[SpanGroup] = Field(default_factory=lambda: list[SpanGroup](["service", "operation"]))
    # also count distinct traces and failed traces (SpanBucket.traces): a distinct count is the
    # dearest part of the query, so only the count tests that need requests ask for it
    count_traces: bool = False


class SpanBucket(_Query):
    """RED statistics for one group in one time bucket. ``self_ms_sum`` excludes child time."""

    bucket_start: datetime
    group: dict[str, str | None]
    count: int
    errors: int
    duration_ms_sum: float
    self_ms_sum: float
    p50_ms: float | None = None
    p95_ms: float | None = None
    p99_ms: float | None = None
    self_p50_ms: float | None = None  # median self time: robust to the few spans that stall
    self_mad_ms: float | None = None  # median absolute deviation of self time
    # Requests, not spans, are the independent events: one failed request leaves an error on its
    # server span, its client spans and every retry, so a count test on spans overstates its
    # surprise. Distinct traces as observed (never scaled up for sampling); None when unknown or
    # not asked for (SpanStatsQuery.count_traces).
    traces: int | None = None
    error_traces: int | None = None
    # spans that say how their request ended (span_conventions.span_states_outcome); None when
    # the backend cannot tell, which counts as "they do"
    with_outcome: int | None = None


class ErrorOrigin(_Query):
    """Spans that fail while none of their children fail: where errors start, not where they spread."""

    service: str
    operation: str
    peer: str | None = None  # the dependency a failing client span calls (db.system, peer.service...)
    count: int
    first_seen: datetime
    last_seen: datetime
    sample_trace_id: str
    sample_span_id: str | None = None  # the sample failing span in that trace
    sample_message: str = ""
    sample_exception: str = ""
    hosts: dict[str, int] = Field(default_factory=dict)
    availability_zones: dict[str, int] = Field(default_factory=dict)


class LogQuery(_Query):
    window: TimeWindow | None = None
    service: str | None = None
    min_severity: Severity | None = None
    text: str | None = None  # case-insensitive substring
    regex: str | None = None
    trace_id: str | None = None
    order: Literal["asc", "desc"] = "asc"
    limit: int = Field(default=DEFAULT_LIMIT, gt=0, le=MAX_LIMIT * 100)


class LogCountBucket(_Query):
    bucket_start: datetime
    service: str
    severity: Severity
    count: int


class LogGroup(_Query):
    """Log lines of one service and severity whose bodies are identical once numbers and hex ids
    are masked (``pattern``): the cheap first pass before template mining."""

    service: str
    severity: Severity
    pattern: str
    sample: str
    count: int
    first_seen: datetime
    last_seen: datetime


class MetricQuery(_Query):
    name: str
    window: TimeWindow
    service: str | None = None
    statistic: Literal["avg", "sum", "min", "max", "p50", "p95", "p99", "count", "rate"] = "avg"
    period_seconds: int = Field(default=60, gt=0)
    group_by: list[str] = Field(default_factory=list)  # attribute keys (data point or resource)
    attributes: dict[str, AttributeValue] = Field(default_factory=dict)  # exact matches


class MetricBucket(_Query):
    """One metric of one service in one time bucket, at its natural statistic: the average for
    gauges, the per-second rate of increase for sums (counters), the mean for histograms."""

    name: str
    service: str
    host: str | None = None  # the host/pod/instance the series comes from, when the source says
    kind: MetricKind
    unit: str = ""
    bucket_start: datetime
    value: float
    # a counter's: the seconds its points counted, when the source says (a five-minute point in a
    # one-minute bucket counted 300, so its per-second rate is a fifth of ``value``)
    counted_seconds: float | None = None


class SliBucket(_Query):
    bucket_start: datetime
    total: int
    good: int


class BackendNote(_Query):
    """What a backend cut, sampled, skipped or could not reach while answering: so an answer never
    looks more complete than it is. ``source`` is the evidence source (logs, metrics, traces...)."""

    source: str
    message: str


class OperationStats(_Query):
    """Requests, faults (5xx), errors (4xx) and latency of one operation of a service, or of its
    calls to one dependency, over a window: counted by the platform from every request, not from
    sampled traces (Application Signals' RED metrics on AWS)."""

    service: str
    operation: str
    dependency: str | None = None  # set for a call to a dependency (the remote service)
    dependency_operation: str | None = None
    requests: float
    faults: float
    errors: float
    latency_ms: float | None = None  # the mean


PlatformFindingKind = Literal["error_rate", "latency", "metric", "log", "dependency", "slo", "quota", "other"]


class PlatformFinding(_Query):
    """Something the platform itself concluded (an audit finding, a log anomaly, a metric outside
    its anomaly band), as opposed to what the backend computed from raw telemetry."""

    source: str  # e.g. "application-signals audit", "logs anomaly detector", "cloudwatch anomaly band"
    kind: PlatformFindingKind
    service: str
    description: str
    severity: float = Field(ge=0.0, le=1.0)  # the platform's own rating, 0..1
    operation: str | None = None
    component: str | None = None  # the dependency, log group or metric the finding is about
    first_seen: datetime | None = None
    last_seen: datetime | None = None
    value: float | None = None
    baseline: float | None = None
    attributes: dict[str, str] = Field(default_factory=dict)


@runtime_checkable
class TelemetryBackend(Protocol):
    """Read-only access to one system's telemetry."""

    name: str

    def list_services(self) -> list[str]:
        """Every service seen in any signal, sorted."""
        ...

    def time_range(self) -> TimeWindow | None:
        """The span of time the backend holds data for (None when empty)."""
        ...

    # traces
    def query_spans(self, query: SpanQuery) -> list[Span]: ...

    def get_trace(self, trace_id: str) -> list[Span]: ...

    def count_spans(self, window: TimeWindow | None = None, service: str | None = None) -> int: ...

    def span_stats(self, query: SpanStatsQuery) -> list[SpanBucket]: ...

    def error_origins(
        self, window: TimeWindow, service: str | None = None, limit: int = DEFAULT_LIMIT
    ) -> list[ErrorOrigin]: ...

    def service_edges(self, window: TimeWindow) -> list[ServiceEdge]: ...

    # logs
    def query_logs(self, query: LogQuery) -> list[LogRecord]: ...

    def log_counts(
        self, window: TimeWindow, bucket_seconds: int = 60, service: str | None = None
    ) -> list[LogCountBucket]: ...

    def log_groups(
        self,
        window: TimeWindow,
        service: str | None = None,
        limit: int = DEFAULT_LIMIT,
        sample_rows: int | None = None,
    ) -> list[LogGroup]:
        """Counted masked-body groups in a window, most frequent first. With ``sample_rows``, the
        lines of each stratum (WARN and above, the rest) may be sampled down to about that many
        and their counts estimated."""
        ...

    # metrics
    def list_metrics(self, service: str | None = None) -> list[MetricDescriptor]: ...

    def query_metrics(self, query: MetricQuery) -> list[MetricSeries]: ...

    def metric_buckets(
        self,
        window: TimeWindow,
        bucket_seconds: int = 60,
        service: str | None = None,
        *,
        by_host: bool = False,
    ) -> list[MetricBucket]:
        """Every metric of every service (or one service) bucketed in one pass: the bulk input of
        anomaly detection, so it need not ask metric by metric. One row per metric, service and
        bucket; with ``by_host`` one per host too (``host`` None where the source names none, or
        cannot split by host). Non-finite values are dropped."""
        ...

    # changes
    def list_changes(
        self,
        window: TimeWindow | None = None,
        service: str | None = None,
        kinds: list[ChangeKind] | None = None,
    ) -> list[ChangeEvent]: ...

    # SLOs and alarms
    def list_slo_definitions(self) -> list[SloDefinition]: ...

    def sli_buckets(
        self, slo: SloDefinition, window: TimeWindow, bucket_seconds: int = 60
    ) -> list[SliBucket]: ...

    def list_alarms(self, state: AlarmState | None = None) -> list[Alarm]: ...

    def alarm_history(self, name: str, window: TimeWindow | None = None) -> Alarm: ...

    # what the platform itself knows (empty on backends without such a platform)
    def operation_stats(self, window: TimeWindow, service: str | None = None) -> list[OperationStats]:
        """Per-operation and per-dependency RED totals counted by the platform over ``window``."""
        ...

    def platform_findings(self, window: TimeWindow, service: str | None = None) -> list[PlatformFinding]:
        """Audit findings, log anomalies and anomaly-band breaches the platform reports in ``window``."""
        ...

    # notes: what was cut, sampled or skipped while answering
    def note_mark(self) -> int:
        """A position in the backend's notes: pass it to :meth:`notes_since` after a call."""
        ...

    def notes_since(self, mark: int) -> list[BackendNote]:
        """Notes added after ``mark``, each once, oldest first (other threads' notes included)."""
        ...
