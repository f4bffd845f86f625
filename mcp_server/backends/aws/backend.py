"""``AwsBackend``: the TelemetryBackend port on CloudWatch, Logs, X-Ray, Application Signals and CloudTrail.

Clients come from an injected :class:`AwsClients` (built once from a ``boto3.Session``), so tests
hand in moto-backed or stubbed clients. Aggregations CloudWatch cannot run over spans
(``span_stats``, ``error_origins``, ``sli_buckets``, ``count_spans``) are computed from a bounded,
evenly spread sample of X-Ray traces; :attr:`notes` says when and how much was sampled or cut.
A throttled or denied API raises :class:`AwsApiUnavailableError` for that call only.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import boto3

from mcp_server.backends.aws import span_analysis
from mcp_server.backends.aws.alarms import AlarmReader
from mcp_server.backends.aws.changes import ChangeReader
from mcp_server.backends.aws.clients import AwsClients, session_for
from mcp_server.backends.aws.config import AwsBackendConfig
from mcp_server.backends.aws.errors import AwsApiUnavailableError
from mcp_server.backends.aws.logs import Clock, LogReader, Sleeper
from mcp_server.backends.aws.metrics import MetricReader
from mcp_server.backends.aws.notes import BackendNote, NoteBook
from mcp_server.backends.aws.slos import ApplicationSignalsReader, SloBudgetReport
from mcp_server.backends.aws.traces import TRACE_CACHE_SIZE, TraceReader, filter_expression
from mcp_server.backends.base import (
    DEFAULT_LIMIT,
    ErrorOrigin,
    LogCountBucket,
    LogGroup,
    LogQuery,
    MetricBucket,
    MetricQuery,
    SliBucket,
    SpanBucket,
    SpanQuery,
    SpanStatsQuery,
)
from mcp_server.redaction import Redactor, install_response_redaction
from mcp_server.telemetry import (
    Alarm,
    AlarmState,
    ChangeEvent,
    ChangeKind,
    LogRecord,
    MetricDescriptor,
    MetricSeries,
    ServiceEdge,
    SloDefinition,
    Span,
    TimeWindow,
)

_TRACE_CACHE_SIZE = 8


def _utc_now() -> datetime:
    return datetime.now(UTC)


class AwsBackend:
    """Read-only telemetry from one AWS account and region."""

    name = "aws"

    def __init__(
        self,
        clients: AwsClients,
        config: AwsBackendConfig | None = None,
        *,
        now: Callable[[], datetime] = _utc_now,
        clock: Clock = time.monotonic,
        sleep: Sleeper = time.sleep,
    ) -> None:
        self.config = config or AwsBackendConfig()
        self.clients = clients
        install_response_redaction(clients.all(), Redactor())  # no secret gets past the boundary
        self._now = now
        self._notes = NoteBook()
        self._lock = threading.Lock()
        self._traces = TraceReader(clients.xray, self.config, self._notes)
        self._metrics = MetricReader(clients.cloudwatch, self.config, self._notes)
        self._alarms = AlarmReader(clients.cloudwatch, self.config)
        self._signals = ApplicationSignalsReader(clients.application_signals, self._notes)
        self._changes = ChangeReader(clients.cloudtrail, self.config, self._notes, now)
        self._logs = LogReader(clients.logs, self.config, self._notes, self._log_groups, now, clock, sleep)
        self._service_keys: dict[str, dict[str, str]] | None = None
        self._group_cache: dict[str, list[str]] = {}
        self._slo_cache: list[SloDefinition] | None = None
        self._derived: dict[str, list[span_analysis.DerivedSpan]] = {}
        self._sample_cache: OrderedDict[tuple[object, ...], tuple[list[span_analysis.DerivedSpan], float]] = (
            OrderedDict()
        )

    @classmethod
    def from_session(cls, session: boto3.Session, config: AwsBackendConfig | None = None) -> AwsBackend:
        config = config or AwsBackendConfig()
        return cls(AwsClients.from_session(session, config), config)

    @classmethod
    def from_environment(cls, config: AwsBackendConfig | None = None) -> AwsBackend:
        """Credentials, profile and region from the usual AWS environment and ~/.aws files."""
        config = config or AwsBackendConfig.from_env()
        return cls.from_session(session_for(config), config)

    def close(self) -> None:
        for client in self.clients.all():
            client.close()

    @property
    def notes(self) -> list[BackendNote]:
        """What was sampled, capped or skipped so far (for the investigation's report)."""
        return self._notes.all()

    def _default_window(self) -> TimeWindow:
        end = self._now()
        return TimeWindow(start=end - timedelta(seconds=self.config.default_lookback_seconds), end=end)

    # ---------------------------------------------------------------------------- general

    def list_services(self) -> list[str]:
        services = set(self.config.log_groups)
        failures: list[AwsApiUnavailableError] = []
        try:
            services.update(self._known_services())
        except AwsApiUnavailableError as exc:
            failures.append(exc)
            self._notes.add("services", str(exc))
        try:
            services.update(self._metrics.services())
        except AwsApiUnavailableError as exc:
            failures.append(exc)
            self._notes.add("services", str(exc))
        try:
            services.update(slo.service for slo in self.list_slo_definitions())
        except AwsApiUnavailableError as exc:
            self._notes.add("services", str(exc))
        if not services and failures:
            raise failures[0]
        return sorted(services)

    def _known_services(self) -> dict[str, dict[str, str]]:
        with self._lock:
            if self._service_keys is not None:
                return self._service_keys
        keys = {k["Name"]: k for k in self._signals.services(self._default_window())}
        with self._lock:
            self._service_keys = keys
        return keys

    def time_range(self) -> TimeWindow | None:
        """AWS keeps data for weeks; the default question window is the configured lookback."""
        return self._default_window()

    # ----------------------------------------------------------------------------- traces

    def _sample(
        self, window: TimeWindow, expression: str | None, purpose: str
    ) -> tuple[list[span_analysis.DerivedSpan], float]:
        key = (window.start, window.end, expression)
        with self._lock:
            if key in self._sample_cache:
                self._sample_cache.move_to_end(key)
                return self._sample_cache[key]
        traces, total = self._traces.sample(window, expression, purpose)
        scale = total / len(traces) if traces and total > len(traces) else 1.0
        derived: list[span_analysis.DerivedSpan] = []
        for trace in traces:
            if not trace:
                continue
            trace_id = trace[0].trace_id
            with self._lock:
                cached = self._derived.get(trace_id)
            if cached is None or len(cached) != len(trace):
                cached = span_analysis.derive(trace)
                with self._lock:
                    if len(self._derived) >= TRACE_CACHE_SIZE:
                        self._derived.clear()
                    self._derived[trace_id] = cached
            derived.extend(cached)
        result = (derived, scale)
        with self._lock:
            self._sample_cache[key] = result
            while len(self._sample_cache) > _TRACE_CACHE_SIZE:
                self._sample_cache.popitem(last=False)
        return result

    def query_spans(self, query: SpanQuery) -> list[Span]:
        if query.trace_id:
            candidates = [
                span_analysis.DerivedSpan(s, s.is_error, 0.0, False, False, None, None)
                for s in self.get_trace(query.trace_id)
            ]
        else:
            window = query.window or self._default_window()
            expression = filter_expression(query.service, query.errors_only, query.min_duration_ms)
            candidates, _ = self._sample(window, expression, "span search")
        spans = []
        for d in span_analysis.in_window(candidates, query.window):
            s = d.span
            if query.service is not None and s.service != query.service:
                continue
            if query.operation is not None and s.operation != query.operation:
                continue
            if query.kind is not None and int(s.kind) != query.kind:
                continue
            if query.errors_only and not d.is_error:
                continue
            if query.min_duration_ms is not None and s.duration_ms < query.min_duration_ms:
                continue
            if any(str(s.attributes.get(k)).lower() != str(v).lower() for k, v in query.attributes.items()):
                continue
            spans.append(s)
        if query.order == "start":
            spans.sort(key=lambda s: (s.start_time_unix_nano, s.span_id))
        else:
            spans.sort(key=lambda s: -s.duration_ms)
        return spans[: query.limit]

    def get_trace(self, trace_id: str) -> list[Span]:
        traces = self._traces.batch_get([trace_id])
        return sorted((s for trace in traces for s in trace), key=lambda s: s.start_time_unix_nano)

    def count_spans(self, window: TimeWindow | None = None, service: str | None = None) -> int:
        window_ = window or self._default_window()
        spans, scale = self._sample(window_, filter_expression(service), "span count")
        matching = [
            d for d in span_analysis.in_window(spans, window_) if service is None or d.span.service == service
        ]
        return round(len(matching) * scale)

    def span_stats(self, query: SpanStatsQuery) -> list[SpanBucket]:
        spans, scale = self._sample(query.window, filter_expression(query.service), "span statistics")
        return span_analysis.span_stats(spans, query, scale)

    def error_origins(
        self, window: TimeWindow, service: str | None = None, limit: int = DEFAULT_LIMIT
    ) -> list[ErrorOrigin]:
        spans, scale = self._sample(window, filter_expression(service, errors_only=True), "error origins")
        return span_analysis.error_origins(spans, window, service, limit, scale)

    def service_edges(self, window: TimeWindow) -> list[ServiceEdge]:
        try:
            return self._traces.service_graph(window)
        except AwsApiUnavailableError as exc:
            self._notes.add("traces", f"{exc}; edges computed from sampled traces instead")
            spans, _ = self._sample(window, None, "service edges")
            return span_analysis.service_edges(spans, window)

    # ------------------------------------------------------------------------------- logs

    def _log_groups(self, service: str | None) -> list[tuple[str, str]]:
        if service is not None:
            return [(group, service) for group in self._groups_of(service)]
        services = set(self.config.log_groups)
        try:
            services.update(self._known_services())
        except AwsApiUnavailableError as exc:
            self._notes.add("logs", str(exc))
        pairs: dict[str, str] = {}
        for name in sorted(services):
            for group in self._groups_of(name):
                pairs.setdefault(group, name)
        return list(pairs.items())

    def _groups_of(self, service: str) -> list[str]:
        configured = self.config.log_groups_for(service)
        if configured:
            return configured
        with self._lock:
            if service in self._group_cache:
                return self._group_cache[service]
        groups: list[str] = []
        try:
            keys = self._known_services().get(service)
            if keys is not None:
                groups = self._signals.log_groups(keys, self._default_window())
        except AwsApiUnavailableError as exc:
            self._notes.add("logs", str(exc))
        with self._lock:
            self._group_cache[service] = groups
        return groups

    def query_logs(self, query: LogQuery) -> list[LogRecord]:
        return self._logs.query(query)

    def log_counts(
        self, window: TimeWindow, bucket_seconds: int = 60, service: str | None = None
    ) -> list[LogCountBucket]:
        return self._logs.counts(window, bucket_seconds, service)

    def log_groups(
        self,
        window: TimeWindow,
        service: str | None = None,
        limit: int = DEFAULT_LIMIT,
        sample_rows: int | None = None,
    ) -> list[LogGroup]:
        return self._logs.groups(window, service, limit, sample_rows)

    # ---------------------------------------------------------------------------- metrics

    def list_metrics(self, service: str | None = None) -> list[MetricDescriptor]:
        return self._metrics.list_metrics(service)

    def query_metrics(self, query: MetricQuery) -> list[MetricSeries]:
        return self._metrics.query(query)

    def metric_buckets(
        self, window: TimeWindow, bucket_seconds: int = 60, service: str | None = None
    ) -> list[MetricBucket]:
        return self._metrics.buckets(window, bucket_seconds, service)

    # ---------------------------------------------------------------------------- changes

    def list_changes(
        self,
        window: TimeWindow | None = None,
        service: str | None = None,
        kinds: list[ChangeKind] | None = None,
    ) -> list[ChangeEvent]:
        return self._changes.list(window, service, kinds)

    # ----------------------------------------------------------------------- SLOs, alarms

    def list_slo_definitions(self) -> list[SloDefinition]:
        with self._lock:
            if self._slo_cache is not None:
                return list(self._slo_cache)
        definitions = self._signals.slo_definitions()
        with self._lock:
            self._slo_cache = definitions
        return list(definitions)

    def slo_budget_reports(self, at: datetime | None = None) -> list[SloBudgetReport]:
        """Application Signals' own error-budget view of every SLO (AWS only)."""
        names = [slo.name for slo in self.list_slo_definitions()]
        return self._signals.budget_reports(names, at or self._now()) if names else []

    def sli_buckets(
        self, slo: SloDefinition, window: TimeWindow, bucket_seconds: int = 60
    ) -> list[SliBucket]:
        spans, scale = self._sample(window, filter_expression(slo.service), f"SLI of {slo.name}")
        return span_analysis.sli_buckets(spans, slo, window, bucket_seconds, scale)

    def list_alarms(self, state: AlarmState | None = None) -> list[Alarm]:
        alarms = self._alarms.describe(state)
        recent = self._now() - timedelta(seconds=self.config.default_lookback_seconds)
        candidates = [
            a for a in alarms if a.state == AlarmState.ALARM or self._alarms.updated_since(a.name, recent)
        ]
        candidates.sort(key=lambda a: a.state != AlarmState.ALARM)
        chosen = candidates[: self.config.max_alarm_histories]
        if len(candidates) > len(chosen):
            self._notes.add(
                "alarms", f"history read for {len(chosen)} of {len(candidates)} recently changed alarms"
            )
        with_history = {}
        for alarm in chosen:
            try:
                with_history[alarm.name] = alarm.model_copy(
                    update={"history": self._alarms.history(alarm.name)}
                )
            except AwsApiUnavailableError as exc:
                self._notes.add("alarms", str(exc))
                break
        return [with_history.get(a.name, a) for a in alarms]

    def alarm_history(self, name: str, window: TimeWindow | None = None) -> Alarm:
        return self._alarms.alarm_with_history(name, window)
