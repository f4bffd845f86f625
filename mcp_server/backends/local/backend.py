"""The embedded default backend: telemetry in DuckDB (a file, or in memory).

:class:`LocalBackend` is a facade: it opens the database and imports scenarios, and hands each
query to the module of its signal (``traces``, ``logs``, ``metrics``, ``events`` for changes,
SLOs and alarms). Queries push filtering, bucketing and aggregation into SQL; each uses its own
cursor, so the backend serves the investigation graph's parallel branches from several threads.
"""

from __future__ import annotations

import threading
from datetime import UTC, datetime
from pathlib import Path

import duckdb

from mcp_server.backends.base import (
    DEFAULT_LIMIT,
    BackendNote,
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
from mcp_server.backends.local.database import Database
from mcp_server.backends.local.events import AlarmQueries, ChangeQueries, SloQueries
from mcp_server.backends.local.importer import DecodedScenario, ImportSummary, read_scenario
from mcp_server.backends.local.logs import LogQueries
from mcp_server.backends.local.metrics import MetricQueries
from mcp_server.backends.local.schema import (
    DDL,
    DERIVE_SPANS,
    LOG_ARROW,
    METRIC_ARROW,
    SCHEMA_VERSION,
    SPAN_ARROW,
)
from mcp_server.backends.local.traces import SpanQueries
from mcp_server.errors import SleuthError
from mcp_server.scenario import ScenarioSpec
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
    from_nanos,
    to_nanos,
)


class LocalBackend:
    """Telemetry in an embedded DuckDB database."""

    name = "local"

    def __init__(self, path: str | Path | None = None, *, read_only: bool = False) -> None:
        self.path = Path(path) if path is not None else None
        if self.path is not None and not read_only:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        if self.path is not None and read_only and not self.path.exists():
            raise SleuthError(
                f"no local store at {self.path}; run `sleuth import --data DIR` or `make demo` first"
            )
        try:
            self._con = duckdb.connect(str(self.path) if self.path else ":memory:", read_only=read_only)
        except duckdb.IOException as exc:
            raise SleuthError(f"cannot open the local store {self.path}: {exc}") from None
        self._lock = threading.Lock()
        if not read_only:
            self._con.execute(DDL)
            self._con.execute("INSERT OR REPLACE INTO meta VALUES ('schema_version', ?)", [SCHEMA_VERSION])
        self._db = Database(self._con)
        self._spans = SpanQueries(self._db)
        self._logs = LogQueries(self._db)
        self._metrics = MetricQueries(self._db)
        self._changes = ChangeQueries(self._db)
        self._slos = SloQueries(self._db)
        self._alarms = AlarmQueries(self._db, self._metrics, self.time_range)

    @classmethod
    def from_scenario(cls, directory: str | Path, path: str | Path | None = None) -> LocalBackend:
        """A store (in memory unless ``path`` is given) holding one imported scenario directory."""
        backend = cls(path)
        backend.import_scenario(directory)
        return backend

    def interrupt(self) -> None:
        """Abort the queries running now (each raises in its thread); later queries run as usual."""
        self._db.interrupt()

    def close(self) -> None:
        """Interrupt queries still running on other threads, wait for them to unwind, then close."""
        if self._db.stop():
            self._con.close()

    def __enter__(self) -> LocalBackend:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ----------------------------------------------------------------------------- import

    def import_scenario(self, directory: str | Path, *, replace: bool = False) -> ImportSummary:
        """Import a scenario directory; all-or-nothing (nothing is written if any file is bad)."""
        decoded = read_scenario(Path(directory), require_spec=False)
        return self.write_decoded(decoded, replace=replace)

    def write_decoded(self, decoded: DecodedScenario, *, replace: bool = False) -> ImportSummary:
        with self._lock:
            con = self._con
            con.execute("BEGIN TRANSACTION")
            try:
                if replace:
                    for table in ("spans", "logs", "metrics", "changes", "slos", "alarms", "scenarios"):
                        con.execute(f"DELETE FROM {table}")
                for table, buffer, schema in (
                    ("spans", decoded.spans, SPAN_ARROW),
                    ("logs", decoded.logs, LOG_ARROW),
                    ("metrics", decoded.metrics, METRIC_ARROW),
                ):
                    if len(buffer):
                        arrow = buffer.to_arrow(schema)  # noqa: F841 - read by DuckDB by name
                        columns = ", ".join(schema.names)
                        con.execute(f"INSERT INTO {table} ({columns}) SELECT {columns} FROM arrow")
                for change in decoded.changes:
                    con.execute(
                        "INSERT INTO changes VALUES (?, ?, ?)",
                        [to_nanos(change.time), change.service, change.model_dump_json()],
                    )
                for slo in decoded.slos:
                    con.execute(
                        "INSERT OR REPLACE INTO slos VALUES (?, ?)", [slo.name, slo.model_dump_json()]
                    )
                for alarm in decoded.alarms:
                    con.execute(
                        "INSERT OR REPLACE INTO alarms VALUES (?, ?)", [alarm.name, alarm.model_dump_json()]
                    )
                if decoded.spec is not None:
                    con.execute(
                        "INSERT INTO scenarios VALUES (?, ?, ?)",
                        [decoded.spec.name, datetime.now(UTC).isoformat(), decoded.spec.model_dump_json()],
                    )
                if len(decoded.spans):
                    con.execute(DERIVE_SPANS)
                con.execute("COMMIT")
            except Exception:
                con.execute("ROLLBACK")
                raise
            self._alarms.forget()
            self._db.forget()
        return ImportSummary(
            scenario=decoded.spec.name if decoded.spec else None,
            spans=len(decoded.spans),
            logs=len(decoded.logs),
            metric_points=len(decoded.metrics),
            changes=len(decoded.changes),
            slos=len(decoded.slos),
            alarms=len(decoded.alarms),
            files=tuple(decoded.files),
            warnings=tuple(decoded.warnings),
        )

    def scenario_spec(self) -> ScenarioSpec | None:
        """The most recently imported scenario's description (window and trigger), if any."""
        row = self._db.fetchone("SELECT document FROM scenarios ORDER BY imported_at DESC LIMIT 1")
        return ScenarioSpec.model_validate_json(row[0]) if row else None

    # ---------------------------------------------------------------------------- general

    def list_services(self) -> list[str]:
        return self._db.services()

    def time_range(self) -> TimeWindow | None:
        row = self._db.fetchone(
            "SELECT min(lo), max(hi) FROM ("
            "SELECT min(start_ns) lo, max(end_ns) hi FROM spans UNION ALL "
            "SELECT min(time_ns), max(time_ns) FROM logs UNION ALL "
            "SELECT min(time_ns), max(time_ns) FROM metrics)"
        )
        if not row or row[0] is None:
            return None
        lo, hi = int(row[0]), int(row[1])
        return TimeWindow(start=from_nanos(lo), end=from_nanos(max(hi, lo + 1_000) + 1_000))

    # ----------------------------------------------------------------------------- traces

    def query_spans(self, query: SpanQuery) -> list[Span]:
        return self._spans.query_spans(query)

    def get_trace(self, trace_id: str) -> list[Span]:
        return self._spans.get_trace(trace_id)

    def count_spans(self, window: TimeWindow | None = None, service: str | None = None) -> int:
        return self._spans.count_spans(window, service)

    def span_stats(self, query: SpanStatsQuery) -> list[SpanBucket]:
        return self._spans.span_stats(query)

    def error_origins(
        self, window: TimeWindow, service: str | None = None, limit: int = DEFAULT_LIMIT
    ) -> list[ErrorOrigin]:
        return self._spans.error_origins(window, service, limit)

    def service_edges(self, window: TimeWindow) -> list[ServiceEdge]:
        """From spans; with no traces in the window, from client-side metrics that name their peer.

        Not merged when spans exist: the two name uninstrumented dependencies differently, and a
        pair missing from partial traces is better missing than doubled."""
        return self._spans.service_edges(window) or self._metrics.peer_edges(window)

    # ------------------------------------------------------------------------------- logs

    def query_logs(self, query: LogQuery) -> list[LogRecord]:
        return self._logs.query_logs(query)

    def log_counts(
        self, window: TimeWindow, bucket_seconds: int = 60, service: str | None = None
    ) -> list[LogCountBucket]:
        return self._logs.log_counts(window, bucket_seconds, service)

    def log_groups(
        self,
        window: TimeWindow,
        service: str | None = None,
        limit: int = DEFAULT_LIMIT,
        sample_rows: int | None = None,
    ) -> list[LogGroup]:
        return self._logs.log_groups(window, service, limit, sample_rows)

    # ---------------------------------------------------------------------------- metrics

    def list_metrics(self, service: str | None = None) -> list[MetricDescriptor]:
        return self._metrics.list_metrics(service)

    def query_metrics(self, query: MetricQuery) -> list[MetricSeries]:
        return self._metrics.query_metrics(query)

    def metric_buckets(
        self,
        window: TimeWindow,
        bucket_seconds: int = 60,
        service: str | None = None,
        *,
        by_host: bool = False,
    ) -> list[MetricBucket]:
        return self._metrics.metric_buckets(window, bucket_seconds, service, by_host=by_host)

    # ------------------------------------------------------------------ changes, SLOs, alarms

    def list_changes(
        self,
        window: TimeWindow | None = None,
        service: str | None = None,
        kinds: list[ChangeKind] | None = None,
    ) -> list[ChangeEvent]:
        return self._changes.list_changes(window, service, kinds)

    def list_slo_definitions(self) -> list[SloDefinition]:
        return self._slos.list_slo_definitions()

    def sli_buckets(
        self, slo: SloDefinition, window: TimeWindow, bucket_seconds: int = 60
    ) -> list[SliBucket]:
        return self._slos.sli_buckets(slo, window, bucket_seconds)

    def list_alarms(self, state: AlarmState | None = None) -> list[Alarm]:
        return self._alarms.list_alarms(state)

    def alarm_history(self, name: str, window: TimeWindow | None = None) -> Alarm:
        return self._alarms.alarm_history(name, window)

    # A recording has no platform of its own to ask, and answers every question in full.
    def operation_stats(self, window: TimeWindow, service: str | None = None) -> list[OperationStats]:
        return []

    def platform_findings(self, window: TimeWindow, service: str | None = None) -> list[PlatformFinding]:
        return []

    def note_mark(self) -> int:
        return 0

    def notes_since(self, mark: int) -> list[BackendNote]:
        return []
