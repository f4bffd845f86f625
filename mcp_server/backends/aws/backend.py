"""``AwsBackend``: the TelemetryBackend port on CloudWatch, Logs, X-Ray, Application Signals and CloudTrail.

Clients come from an injected :class:`AwsClients` (built once from a ``boto3.Session``), so tests
hand in moto-backed or stubbed clients. Aggregations CloudWatch cannot run over spans
(``span_stats``, ``error_origins``, ``sli_buckets``, ``count_spans``) are computed from a bounded,
evenly spread sample of X-Ray traces (or, with Transaction Search on, from every span in
``aws/spans``); the notes (:meth:`notes_since`) say when and how much was sampled or cut.

Every public method runs under one deadline covering its retries, polls and chunks
(:class:`ApiCaller`); a throttled, denied or timed-out API raises :class:`AwsApiUnavailableError`
for that call only, and is not asked again for ``failure_memory_seconds``.
"""

from __future__ import annotations

import functools
import random
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

import boto3

from mcp_server.backends.aws import span_analysis
from mcp_server.backends.aws.alarms import AlarmReader
from mcp_server.backends.aws.calls import ApiCaller, Clock, Sleeper
from mcp_server.backends.aws.changes import ChangeReader
from mcp_server.backends.aws.clients import AwsClients, session_for
from mcp_server.backends.aws.config import AwsBackendConfig
from mcp_server.backends.aws.errors import AwsApiUnavailableError
from mcp_server.backends.aws.log_sources import LogSources
from mcp_server.backends.aws.logs import LogReader
from mcp_server.backends.aws.metrics import MetricReader
from mcp_server.backends.aws.notes import BackendNote, aws_notebook
from mcp_server.backends.aws.pacing import InsightsPacer
from mcp_server.backends.aws.platform import AwsPlatform
from mcp_server.backends.aws.slos import ApplicationSignalsReader, SloBudgetReport
from mcp_server.backends.aws.traces import TRACE_CACHE_SIZE, TraceReader, filter_expression
from mcp_server.backends.aws.transaction_search import SUPPORTED_GROUPS, TransactionSearch
from mcp_server.backends.base import (
    DEFAULT_LIMIT,
    ErrorOrigin,
    LogCountBucket,
    LogGroup,
    LogQuery,
    MetricBucket,
    MetricQuery,
    OperationStats,
    PlatformFinding,
    SliBucket,
    SpanBucket,
    SpanQuery,
    SpanStatsQuery,
)
from mcp_server.errors import SleuthError
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
T = TypeVar("T")
SERVICES_SECONDS = 300.0  # how long Application Signals' service list is reused


def _utc_now() -> datetime:
    return datetime.now(UTC)


def bounded(method: Callable[..., T]) -> Callable[..., T]:
    """Run a public backend method under one deadline (nested calls share the outer one)."""

    @functools.wraps(method)
    def run(self: AwsBackend, *args: Any, **kwargs: Any) -> T:
        with self.calls.bounded():
            return method(self, *args, **kwargs)

    return run


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
        jitter: Callable[[], float] = random.random,
    ) -> None:
        self.config = config or AwsBackendConfig()
        self.clients = clients
        install_response_redaction(clients.all(), Redactor())  # no secret gets past the boundary
        self._now = now
        self._notes = aws_notebook()
        self.calls = ApiCaller(self.config, self._notes, clock, sleep, jitter)
        self._lock = threading.Lock()
        self._traces = TraceReader(clients.xray, self.calls)
        self._metrics = MetricReader(clients.cloudwatch, self.calls, now)
        self._alarms = AlarmReader(clients.cloudwatch, self.calls)
        self._signals = ApplicationSignalsReader(clients.application_signals, self.calls)
        self._changes = ChangeReader(clients.cloudtrail, self.calls, now)
        self._sources = LogSources(
            clients.logs,
            self.calls,
            self._signals,
            self._known_services,
            self._services_quietly,
            self._default_window,
        )
        self.pacer = InsightsPacer(self.config, clock, sleep)
        self._logs = LogReader(clients.logs, self.calls, self._sources.pairs, now, self.pacer)
        self._spans_search = TransactionSearch(clients.xray, self._logs.insights, self.calls)
        self._platform = AwsPlatform(
            clients, self.calls, self._known_services, self._sources.pairs, self._metrics
        )
        self._service_keys: tuple[dict[str, dict[str, str]], float] | None = None
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
        """Every note so far (what was sampled, capped, skipped or unreachable)."""
        return self._notes.all()

    def note_mark(self) -> int:
        return self._notes.mark()

    @property
    def insights_usage(self) -> tuple[int, float]:
        """Logs Insights queries started so far and the bytes they scanned (what Insights bills)."""
        return self._logs.insights.started, self._logs.insights.bytes_scanned

    def notes_since(self, mark: int) -> list[BackendNote]:
        return self._notes.since(mark)

    def _default_window(self) -> TimeWindow:
        end = self._now()
        return TimeWindow(start=end - timedelta(seconds=self.config.default_lookback_seconds), end=end)

    # ---------------------------------------------------------------------------- general

    @bounded
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

    def _services_quietly(self) -> list[str]:
        try:
            return self.list_services()
        except AwsApiUnavailableError:
            return sorted(self.config.log_groups)

    def _known_services(self) -> dict[str, dict[str, str]]:
        """Application Signals' services (name -> key attributes), re-read every few minutes."""
        now = self.calls.clock()
        with self._lock:
            if self._service_keys is not None and now - self._service_keys[1] < SERVICES_SECONDS:
                return self._service_keys[0]
        if not self.config.application_signals:
            keys: dict[str, dict[str, str]] = {}
        else:
            summaries = self._signals.services(self._default_window())
            keys = {s["KeyAttributes"]["Name"]: dict(s["KeyAttributes"]) for s in summaries}
        with self._lock:
            self._service_keys = (keys, now)
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

    @bounded
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

    @bounded
    def get_trace(self, trace_id: str) -> list[Span]:
        traces = self._traces.batch_get([trace_id])
        return sorted((s for trace in traces for s in trace), key=lambda s: s.start_time_unix_nano)

    @bounded
    def count_spans(self, window: TimeWindow | None = None, service: str | None = None) -> int:
        window_ = window or self._default_window()
        if self._spans_search.enabled():
            return self._spans_search.count(window_, service)
        spans, scale = self._sample(window_, filter_expression(service), "span count")
        matching = [
            d for d in span_analysis.in_window(spans, window_) if service is None or d.span.service == service
        ]
        return round(len(matching) * scale)

    @bounded
    def span_stats(self, query: SpanStatsQuery) -> list[SpanBucket]:
        spans, scale = self._sample(query.window, filter_expression(query.service), "span statistics")
        searchable = set(query.group_by) <= SUPPORTED_GROUPS and not query.roots_only
        if not searchable or not self._spans_search.enabled():
            if self._spans_search.enabled():
                what = "of root spans" if query.roots_only else "by peer (aws/spans has no peer)"
                self._notes.add("traces", f"span statistics {what} come from sampled traces")
            return span_analysis.span_stats(spans, query, scale)
        sampled = span_analysis.span_stats(spans, query.model_copy(update={"bucket_seconds": 10**9}), 1.0)
        ratios = {
            tuple(b.group.values()): (b.self_ms_sum / b.duration_ms_sum if b.duration_ms_sum else 1.0)
            for b in sampled
        }
        return self._spans_search.span_stats(query, lambda group: ratios.get(group, 1.0))

    @bounded
    def error_origins(
        self, window: TimeWindow, service: str | None = None, limit: int = DEFAULT_LIMIT
    ) -> list[ErrorOrigin]:
        spans, scale = self._sample(window, filter_expression(service, errors_only=True), "error origins")
        return span_analysis.error_origins(spans, window, service, limit, scale)

    @bounded
    def service_edges(self, window: TimeWindow) -> list[ServiceEdge]:
        """X-Ray's service graph; edges from sampled traces when it fails or is empty."""
        try:
            edges = self._traces.service_graph(window)
        except AwsApiUnavailableError as exc:
            self._notes.add("traces", f"{exc}; edges computed from sampled traces instead")
        else:
            if edges:
                return edges
            self._notes.add(
                "traces", "X-Ray's service graph is empty for the window; edges computed from sampled traces"
            )
        spans, _ = self._sample(window, None, "service edges")
        return span_analysis.service_edges(spans, window)

    # ------------------------------------------------------------------------------- logs

    @bounded
    def query_logs(self, query: LogQuery) -> list[LogRecord]:
        return self._logs.query(query)

    @bounded
    def log_counts(
        self, window: TimeWindow, bucket_seconds: int = 60, service: str | None = None
    ) -> list[LogCountBucket]:
        return self._logs.counts(window, bucket_seconds, service)

    @bounded
    def log_groups(
        self,
        window: TimeWindow,
        service: str | None = None,
        limit: int = DEFAULT_LIMIT,
        sample_rows: int | None = None,
    ) -> list[LogGroup]:
        return self._logs.groups(window, service, limit, sample_rows)

    def log_group_names(self, service: str | None = None) -> list[tuple[str, str]]:
        """(log group, service) pairs a log read of ``service`` (or of every service) covers."""
        with self.calls.bounded():
            return self._sources.pairs(service)

    # ---------------------------------------------------------------------------- metrics

    @bounded
    def list_metrics(self, service: str | None = None) -> list[MetricDescriptor]:
        return self._metrics.list_metrics(service)

    @bounded
    def query_metrics(self, query: MetricQuery) -> list[MetricSeries]:
        return self._metrics.query(query)

    @bounded
    def metric_buckets(
        self,
        window: TimeWindow,
        bucket_seconds: int = 60,
        service: str | None = None,
        *,
        by_host: bool = False,
    ) -> list[MetricBucket]:
        # CloudWatch series are per service here; ``by_host`` is accepted and answered per service
        return self._metrics.buckets(window, bucket_seconds, service)

    # ---------------------------------------------------------------------------- changes

    @bounded
    def list_changes(
        self,
        window: TimeWindow | None = None,
        service: str | None = None,
        kinds: list[ChangeKind] | None = None,
    ) -> list[ChangeEvent]:
        """CloudTrail's change events, and Application Signals' entity events (once each)."""
        window_ = window or TimeWindow(start=self._now() - timedelta(days=1), end=self._now())
        changes = self._changes.list(window_, service, kinds)
        seen: set[object] = {c.id for c in changes if c.id}
        seen |= {(c.service, c.kind, c.time.replace(microsecond=0)) for c in changes}
        for change in self._platform.entity_changes(window_, service):
            if kinds is not None and change.kind not in kinds:
                continue
            keys: set[object] = {change.id, (change.service, change.kind, change.time.replace(microsecond=0))}
            if keys & seen or not window_.contains(change.time):
                continue
            seen |= keys
            changes.append(change)
        return sorted(changes, key=lambda c: (c.time, c.service))

    # ------------------------------------------------------------------------- platform

    @bounded
    def operation_stats(self, window: TimeWindow, service: str | None = None) -> list[OperationStats]:
        return self._platform.operation_stats(window, service)

    @bounded
    def platform_findings(self, window: TimeWindow, service: str | None = None) -> list[PlatformFinding]:
        return self._platform.findings(window, service)

    # ----------------------------------------------------------------------- SLOs, alarms

    @bounded
    def list_slo_definitions(self) -> list[SloDefinition]:
        with self._lock:
            if self._slo_cache is not None:
                return list(self._slo_cache)
        definitions = self._signals.slo_definitions()
        with self._lock:
            self._slo_cache = definitions
        return list(definitions)

    @bounded
    def slo_budget_reports(self, at: datetime | None = None) -> list[SloBudgetReport]:
        """Application Signals' own error-budget view of every SLO (AWS only)."""
        names = [slo.name for slo in self.list_slo_definitions()]
        return self._signals.budget_reports(names, at or self._now()) if names else []

    @bounded
    def sli_buckets(
        self, slo: SloDefinition, window: TimeWindow, bucket_seconds: int = 60
    ) -> list[SliBucket]:
        spans, scale = self._sample(window, filter_expression(slo.service), f"SLI of {slo.name}")
        return span_analysis.sli_buckets(spans, slo, window, bucket_seconds, scale)

    @bounded
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
        return self._with_slo_services([with_history.get(a.name, a) for a in alarms])

    def _with_slo_services(self, alarms: list[Alarm]) -> list[Alarm]:
        """A burn-rate alarm carries its SLO's name, not the service: take the service from the SLO."""
        if not any(a.slo and a.service is None for a in alarms):
            return alarms
        try:
            services = {d.name: d.service for d in self.list_slo_definitions()}
        except SleuthError as exc:
            self._notes.add("alarms", f"burn-rate alarms left without a service: {exc}")
            return alarms
        return [
            a.model_copy(update={"service": services.get(a.slo)}) if a.slo and a.service is None else a
            for a in alarms
        ]

    @bounded
    def alarm_history(self, name: str, window: TimeWindow | None = None) -> Alarm:
        return self._alarms.alarm_with_history(name, window)
