"""The embedded default backend: telemetry in DuckDB (a file, or in memory).

Queries push filtering, bucketing and aggregation into SQL. Each call uses its own cursor, so
the backend can serve the investigation graph's parallel branches from several threads.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb
import orjson

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
from mcp_server.backends.local.alarm_evaluation import evaluate_alarm
from mcp_server.backends.local.importer import DecodedScenario, ImportSummary, read_scenario
from mcp_server.backends.local.schema import (
    DDL,
    DERIVE_SPANS,
    LOG_ARROW,
    METRIC_ARROW,
    SCHEMA_VERSION,
    SPAN_ARROW,
)
from mcp_server.errors import QueryError, SleuthError, UnknownMetricError, UnknownServiceError
from mcp_server.scenario import ScenarioSpec
from mcp_server.telemetry import (
    Alarm,
    AlarmState,
    ChangeEvent,
    ChangeKind,
    LogRecord,
    MetricDescriptor,
    MetricKind,
    MetricSeries,
    SeriesPoint,
    ServiceEdge,
    Severity,
    SliKind,
    SloDefinition,
    Span,
    SpanEvent,
    SpanLink,
    TimeWindow,
    from_nanos,
    to_nanos,
)

_SPAN_SELECT = (
    "trace_id, span_id, parent_span_id, service, operation, kind, start_ns, end_ns, status_code, "
    "status_message, attributes, resource, events, links, trace_state, scope_name, scope_version"
)
_GROUP_COLUMNS = {
    "service": "service",
    "operation": "operation",
    "host": "host",
    "availability_zone": "az",
    "peer": "peer",
}
_SEVERITY_ORDER = [s.value for s in sorted(Severity, key=lambda s: s.rank)]


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
        # queries running on other threads (an MCP server's warm-up, abandoned tool calls): close()
        # interrupts them and waits, since DuckDB refuses to close a connection that is in use
        self._running: set[duckdb.DuckDBPyConnection] = set()
        self._running_changed = threading.Condition()
        self._closed = False
        self._alarm_cache: list[Alarm] | None = None
        # Every query with a service filter checks the name: keep the list between imports.
        self._services: list[str] | None = None
        if not read_only:
            self._con.execute(DDL)
            self._con.execute("INSERT OR REPLACE INTO meta VALUES ('schema_version', ?)", [SCHEMA_VERSION])

    @classmethod
    def from_scenario(cls, directory: str | Path, path: str | Path | None = None) -> LocalBackend:
        """A store (in memory unless ``path`` is given) holding one imported scenario directory."""
        backend = cls(path)
        backend.import_scenario(directory)
        return backend

    def interrupt(self) -> None:
        """Abort the queries running now (each raises in its thread); later queries run as usual."""
        with self._running_changed:
            for cursor in self._running:
                cursor.interrupt()

    def close(self) -> None:
        """Interrupt queries still running on other threads, wait for them to unwind, then close."""
        with self._running_changed:
            if self._closed:
                return
            self._closed = True
            for cursor in self._running:
                cursor.interrupt()
            self._running_changed.wait_for(lambda: not self._running, timeout=30)
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
            self._alarm_cache = None
            self._services = None
        return ImportSummary(
            scenario=decoded.spec.name if decoded.spec else None,
            spans=len(decoded.spans),
            logs=len(decoded.logs),
            metric_points=len(decoded.metrics),
            changes=len(decoded.changes),
            slos=len(decoded.slos),
            alarms=len(decoded.alarms),
            files=tuple(decoded.files),
        )

    def scenario_spec(self) -> ScenarioSpec | None:
        """The most recently imported scenario's description (window and trigger), if any."""
        row = self._fetchone("SELECT document FROM scenarios ORDER BY imported_at DESC LIMIT 1")
        return ScenarioSpec.model_validate_json(row[0]) if row else None

    # ---------------------------------------------------------------------------- helpers

    def _fetchall(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        with self._running_changed:
            if self._closed:
                raise SleuthError("the local store is closed")
            cursor = self._con.cursor()
            self._running.add(cursor)
        try:
            return cursor.execute(sql, list(params)).fetchall()
        except duckdb.InvalidInputException as exc:
            raise QueryError(str(exc).split("\n")[0]) from None
        except duckdb.InterruptException:
            raise SleuthError("the query was interrupted: the local store is closing") from None
        finally:
            with self._running_changed:  # out of the running set first: interrupt() never sees it closed
                self._running.discard(cursor)
                self._running_changed.notify_all()
            cursor.close()

    def _fetchone(self, sql: str, params: Sequence[Any] = ()) -> tuple[Any, ...] | None:
        rows = self._fetchall(sql, params)
        return rows[0] if rows else None

    def _check_service(self, service: str | None) -> None:
        if service is None:
            return
        known = self.list_services()
        if service not in known:
            raise UnknownServiceError(service, known)

    def _filters(
        self, time_column: str, window: TimeWindow | None, service: str | None
    ) -> tuple[list[str], list[Any]]:
        """WHERE clauses (and their parameters) for a time window and an optional known service."""
        self._check_service(service)
        where: list[str] = []
        params: list[Any] = []
        self._window_clause(time_column, window, where, params)
        if service is not None:
            where.append("service = ?")
            params.append(service)
        return where, params

    @staticmethod
    def _window_clause(column: str, window: TimeWindow | None, where: list[str], params: list[Any]) -> None:
        if window is not None:
            where.append(f"{column} >= ? AND {column} < ?")
            params.extend([window.start_ns, window.end_ns])

    # ---------------------------------------------------------------------------- general

    def list_services(self) -> list[str]:
        if self._services is None:
            self._services = self._read_services()
        return list(self._services)

    def _read_services(self) -> list[str]:
        rows = self._fetchall(
            "SELECT DISTINCT service FROM spans UNION SELECT DISTINCT service FROM logs "
            "UNION SELECT DISTINCT service FROM metrics UNION SELECT DISTINCT service FROM changes"
        )
        services = {row[0] for row in rows if row[0] is not None}
        services.update(slo.service for slo in self.list_slo_definitions())
        return sorted(services)

    def time_range(self) -> TimeWindow | None:
        row = self._fetchone(
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

    @staticmethod
    def _row_to_span(row: tuple[Any, ...]) -> Span:
        events = orjson.loads(row[12])
        links = orjson.loads(row[13])
        return Span(
            trace_id=row[0],
            span_id=row[1],
            parent_span_id=row[2],
            service=row[3],
            operation=row[4],
            kind=row[5],
            start_time_unix_nano=row[6],
            end_time_unix_nano=row[7],
            status_code=row[8],
            status_message=row[9] or "",
            attributes=orjson.loads(row[10]),
            resource=orjson.loads(row[11]),
            events=[SpanEvent(**event) for event in events],
            links=[SpanLink(**link) for link in links],
            trace_state=row[14] or "",
            scope_name=row[15] or "",
            scope_version=row[16] or "",
        )

    def query_spans(self, query: SpanQuery) -> list[Span]:
        self._check_service(query.service)
        where: list[str] = []
        params: list[Any] = []
        self._window_clause("start_ns", query.window, where, params)
        for column, value in (
            ("service", query.service),
            ("operation", query.operation),
            ("trace_id", query.trace_id.lower() if query.trace_id else None),
            ("kind", query.kind),
        ):
            if value is not None:
                where.append(f"{column} = ?")
                params.append(value)
        if query.errors_only:
            where.append("is_error")
        if query.min_duration_ms is not None:
            where.append("duration_ms >= ?")
            params.append(query.min_duration_ms)
        for key, value in query.attributes.items():
            where.append("json_extract_string(attributes, ?) = ?")
            params.extend([_json_path(key), str(value).lower() if isinstance(value, bool) else str(value)])
        order = "start_ns" if query.order == "start" else "duration_ms DESC"
        if not query.one_per_trace:
            sql = f"SELECT {_SPAN_SELECT} FROM spans {_where(where)} ORDER BY {order} LIMIT ?"
            return [self._row_to_span(row) for row in self._fetchall(sql, [*params, query.limit])]
        # one row per trace (its first or slowest match), keyset-paged by (key, trace_id)
        key = "start_ns" if query.order == "start" else "duration_ms"
        # ties (spans starting together) go to the span where a failure starts, then by id
        pick = "start_ns, is_origin DESC, span_id" if query.order == "start" else "duration_ms DESC, span_id"
        outer: list[str] = ["pick = 1"]
        if query.after is not None:
            if query.order == "start":
                outer.append("(start_ns > ? OR (start_ns = ? AND trace_id > ?))")
            else:
                outer.append("(duration_ms < ? OR (duration_ms = ? AND trace_id > ?))")
            params.extend([query.after[0], query.after[0], query.after[1]])
        direction = "" if query.order == "start" else " DESC"
        sql = (
            f"SELECT {_SPAN_SELECT} FROM (SELECT *, row_number() OVER (PARTITION BY trace_id ORDER BY {pick}) "
            f"AS pick FROM spans {_where(where)}) {_where(outer)} ORDER BY {key}{direction}, trace_id LIMIT ?"
        )
        return [self._row_to_span(row) for row in self._fetchall(sql, [*params, query.limit])]

    def get_trace(self, trace_id: str) -> list[Span]:
        rows = self._fetchall(
            f"SELECT {_SPAN_SELECT} FROM spans WHERE trace_id = ? ORDER BY start_ns", [trace_id.lower()]
        )
        return [self._row_to_span(row) for row in rows]

    def count_spans(self, window: TimeWindow | None = None, service: str | None = None) -> int:
        where: list[str] = []
        params: list[Any] = []
        self._window_clause("start_ns", window, where, params)
        if service is not None:
            where.append("service = ?")
            params.append(service)
        row = self._fetchone(f"SELECT count(*) FROM spans {_where(where)}", params)
        return int(row[0]) if row else 0

    def span_stats(self, query: SpanStatsQuery) -> list[SpanBucket]:
        where, params = self._filters("start_ns", query.window, query.service)
        if query.kinds is not None:
            where.append(f"kind IN ({', '.join(str(int(k)) for k in query.kinds)})")
        width = query.bucket_seconds * 1_000_000_000
        groups = [_GROUP_COLUMNS[g] for g in query.group_by]
        group_sql = "".join(f", {g}" for g in groups)
        sql = (
            f"SELECT (start_ns // {width}) * {width} AS bucket{group_sql}, count(*), "
            "sum(is_error::INTEGER), sum(duration_ms), sum(self_ms), "
            "quantile_cont(duration_ms, [0.5, 0.95, 0.99]) "
            f"FROM spans {_where(where)} GROUP BY ALL ORDER BY 1"
        )
        result = []
        for row in self._fetchall(sql, params):
            n = len(groups)
            quantiles = row[5 + n] or [None, None, None]
            result.append(
                SpanBucket(
                    bucket_start=from_nanos(int(row[0])),
                    group={name: row[1 + i] for i, name in enumerate(query.group_by)},
                    count=int(row[1 + n]),
                    errors=int(row[2 + n] or 0),
                    duration_ms_sum=float(row[3 + n] or 0.0),
                    self_ms_sum=float(row[4 + n] or 0.0),
                    p50_ms=quantiles[0],
                    p95_ms=quantiles[1],
                    p99_ms=quantiles[2],
                )
            )
        return result

    def error_origins(
        self, window: TimeWindow, service: str | None = None, limit: int = DEFAULT_LIMIT
    ) -> list[ErrorOrigin]:
        self._check_service(service)
        where = ["is_origin"]
        params: list[Any] = []
        self._window_clause("start_ns", window, where, params)
        if service is not None:
            where.append("service = ?")
            params.append(service)
        rows = self._fetchall(
            "SELECT service, operation, peer, count(*), min(start_ns), max(start_ns), arg_min(trace_id, start_ns), "
            "coalesce(max(status_message), ''), coalesce(max(exception_type), '') || "
            "coalesce(': ' || max(exception_message), ''), "
            "histogram(coalesce(host, '')), histogram(coalesce(az, '')) "
            f"FROM spans {_where(where)} GROUP BY service, operation, peer ORDER BY count(*) DESC LIMIT ?",
            [*params, limit],
        )
        return [
            ErrorOrigin(
                service=row[0],
                operation=row[1],
                peer=row[2],
                count=int(row[3]),
                first_seen=from_nanos(row[4]),
                last_seen=from_nanos(row[5]),
                sample_trace_id=row[6],
                sample_message=row[7] or "",
                sample_exception=row[8] or "",
                hosts={k: int(v) for k, v in (row[9] or {}).items() if k},
                availability_zones={k: int(v) for k, v in (row[10] or {}).items() if k},
            )
            for row in rows
        ]

    def service_edges(self, window: TimeWindow) -> list[ServiceEdge]:
        params = [window.start_ns, window.end_ns]
        internal = self._fetchall(
            "SELECT p.service, c.service, count(*), sum(c.is_error::INTEGER), "
            "quantile_cont(c.duration_ms, 0.5), quantile_cont(c.duration_ms, 0.95) "
            "FROM spans c JOIN spans p ON c.trace_id = p.trace_id AND c.parent_span_id = p.span_id "
            "WHERE c.service <> p.service AND c.start_ns >= ? AND c.start_ns < ? GROUP BY 1, 2",
            params,
        )
        external = self._fetchall(
            "SELECT s.service, s.peer, count(*), sum(s.is_error::INTEGER), "
            "quantile_cont(s.duration_ms, 0.5), quantile_cont(s.duration_ms, 0.95) FROM spans s "
            "WHERE s.peer IS NOT NULL AND s.start_ns >= ? AND s.start_ns < ? AND NOT EXISTS ("
            "  SELECT 1 FROM spans c WHERE c.trace_id = s.trace_id AND c.parent_span_id = s.span_id "
            "  AND c.service <> s.service) GROUP BY 1, 2",
            params,
        )
        edges = [
            ServiceEdge(
                caller=r[0],
                callee=r[1],
                requests=int(r[2]),
                errors=int(r[3] or 0),
                p50_ms=r[4],
                p95_ms=r[5],
                callee_is_external=is_external,
            )
            for rows, is_external in ((internal, False), (external, True))
            for r in rows
        ]
        return sorted(edges, key=lambda e: (e.caller, e.callee))

    # ------------------------------------------------------------------------------- logs

    def query_logs(self, query: LogQuery) -> list[LogRecord]:
        where, params = self._filters("time_ns", query.window, query.service)
        if query.min_severity is not None:
            allowed = [s for s in _SEVERITY_ORDER if Severity(s).rank >= query.min_severity.rank]
            where.append(f"severity IN ({', '.join('?' for _ in allowed)})")
            params.extend(allowed)
        if query.text:
            where.append("contains(lower(body), ?)")
            params.append(query.text.lower())
        if query.regex:
            try:
                re.compile(query.regex)
            except re.error as exc:
                raise QueryError(f"bad regex {query.regex!r}: {exc}") from None
            where.append("regexp_matches(body, ?)")
            params.append(query.regex)
        if query.trace_id:
            where.append("trace_id = ?")
            params.append(query.trace_id.lower())
        order = "ASC" if query.order == "asc" else "DESC"
        rows = self._fetchall(
            "SELECT time_ns, observed_ns, service, severity, severity_number, severity_text, body, trace_id, "
            "span_id, attributes, resource, scope_name, flags, event_name "
            f"FROM logs {_where(where)} ORDER BY time_ns {order} LIMIT ?",
            [*params, query.limit],
        )
        return [
            LogRecord(
                time_unix_nano=r[0],
                observed_time_unix_nano=r[1] or 0,
                service=r[2],
                severity=r[3],
                severity_number=r[4] or 0,
                severity_text=r[5] or "",
                body=r[6] or "",
                trace_id=r[7],
                span_id=r[8],
                attributes=orjson.loads(r[9]),
                resource=orjson.loads(r[10]),
                scope_name=r[11] or "",
                flags=r[12] or 0,
                event_name=r[13] or "",
            )
            for r in rows
        ]

    def log_counts(
        self, window: TimeWindow, bucket_seconds: int = 60, service: str | None = None
    ) -> list[LogCountBucket]:
        where, params = self._filters("time_ns", window, service)
        width = bucket_seconds * 1_000_000_000
        rows = self._fetchall(
            f"SELECT (time_ns // {width}) * {width}, service, severity, count(*) FROM logs {_where(where)} "
            "GROUP BY ALL ORDER BY 1",
            params,
        )
        return [
            LogCountBucket(bucket_start=from_nanos(int(r[0])), service=r[1], severity=r[2], count=int(r[3]))
            for r in rows
        ]

    def log_groups(
        self,
        window: TimeWindow,
        service: str | None = None,
        limit: int = DEFAULT_LIMIT,
        sample_rows: int | None = None,
    ) -> list[LogGroup]:
        where, params = self._filters("time_ns", window, service)
        masked = f"regexp_replace(body, '{_LOG_MASK}', '<*>', 'g')"
        high = "severity IN ('WARN', 'ERROR', 'FATAL')"
        source = f"SELECT service, severity, body, time_ns, 1.0 AS w FROM logs {_where(where)}"
        source_params = list(params)
        if sample_rows is not None:
            # two strata (WARN and above, the rest), each sampled down to ``sample_rows`` lines with
            # counts scaled back up, so rare warnings are not drowned by the bulk of INFO lines
            parts: list[str] = []
            source_params = []
            for stratum in (high, f"NOT ({high})"):
                clause = _where([*where, stratum])
                row = self._fetchone(f"SELECT count(*) FROM logs {clause}", params)
                n = int(row[0]) if row else 0
                select = f"SELECT service, severity, body, time_ns FROM logs {clause}"
                if n > sample_rows:
                    parts.append(
                        f"SELECT *, {n / sample_rows} AS w FROM ({select}) "
                        f"USING SAMPLE reservoir({int(sample_rows)} ROWS) REPEATABLE (7)"
                    )
                else:
                    parts.append(f"SELECT *, 1.0 AS w FROM ({select})")
                source_params += params
            source = " UNION ALL ".join(parts)
        rows = self._fetchall(
            f"SELECT service, severity, {masked} AS pattern, any_value(body), round(sum(w)), min(time_ns), "
            f"max(time_ns) FROM ({source}) GROUP BY 1, 2, 3 ORDER BY 5 DESC, 1, 3 LIMIT ?",
            [*source_params, limit],
        )
        return [
            LogGroup(
                service=r[0],
                severity=r[1],
                pattern=r[2] or "",
                sample=r[3] or "",
                count=int(r[4]),
                first_seen=from_nanos(r[5]),
                last_seen=from_nanos(r[6]),
            )
            for r in rows
        ]

    # ---------------------------------------------------------------------------- metrics

    def list_metrics(self, service: str | None = None) -> list[MetricDescriptor]:
        self._check_service(service)
        where: list[str] = []
        params: list[Any] = []
        if service is not None:
            where.append("service = ?")
            params.append(service)
        rows = self._fetchall(
            "SELECT name, service, any_value(kind), any_value(unit), any_value(description), count(*), "
            "list_distinct(flatten(list(DISTINCT json_keys(attributes)))) "
            f"FROM metrics {_where(where)} GROUP BY name, service ORDER BY service, name",
            params,
        )
        return [
            MetricDescriptor(
                name=r[0],
                service=r[1],
                kind=r[2],
                unit=r[3] or "",
                description=r[4] or "",
                point_count=int(r[5]),
                attribute_keys=sorted(r[6] or []),
            )
            for r in rows
        ]

    def query_metrics(self, query: MetricQuery) -> list[MetricSeries]:
        self._check_service(query.service)
        where = ["name = ?"]
        params: list[Any] = [query.name]
        if query.service is not None:
            where.append("service = ?")
            params.append(query.service)
        exists = self._fetchone(
            f"SELECT any_value(kind), any_value(unit) FROM metrics {_where(where)}", params
        )
        if not exists or exists[0] is None:
            known = [m.name for m in self.list_metrics(query.service)]
            raise UnknownMetricError(query.name, query.service, sorted(set(known)))
        kind, unit = MetricKind(exists[0]), exists[1] or ""
        for key, value in query.attributes.items():
            where.append(f"{_attr_expr(key)} = ?")
            params.extend([_json_path(key), _json_path(key), str(value)])
        group_exprs = [_attr_expr(key) for key in query.group_by]
        group_params = [p for key in query.group_by for p in (_json_path(key), _json_path(key))]
        width = query.period_seconds * 1_000_000_000
        value_sql = _statistic_sql(query.statistic, kind, query.period_seconds)
        group_cols = "".join(f", {expr} AS g{i}" for i, expr in enumerate(group_exprs))
        inner_where = list(where)
        self._window_clause("time_ns", query.window, inner_where, params)
        source = (
            "(SELECT *, CASE WHEN temporality = 2 OR (kind = 'sum' AND temporality <> 1) THEN "
            "  CASE WHEN value - lag(value) OVER w < 0 THEN value ELSE value - lag(value) OVER w END "
            "  ELSE value END AS increase FROM metrics "
            f"{_where(inner_where)} WINDOW w AS (PARTITION BY series_key ORDER BY time_ns))"
        )
        sql = (
            f"SELECT service{group_cols}, (time_ns // {width}) * {width} AS bucket, {value_sql} "
            f"FROM {source} GROUP BY ALL ORDER BY ALL"
        )
        rows = self._fetchall(sql, [*group_params, *params])
        series: dict[tuple[Any, ...], list[SeriesPoint]] = {}
        for row in rows:
            if row[-1] is None:
                continue
            series_id = tuple(row[: 1 + len(group_exprs)])
            point = SeriesPoint(time=from_nanos(int(row[-2])), value=float(row[-1]))
            series.setdefault(series_id, []).append(point)
        return [
            MetricSeries(
                name=query.name,
                service=key[0],
                unit=unit,
                kind=kind,
                statistic=query.statistic,
                attributes=dict(zip(query.group_by, key[1:], strict=True)),
                points=points,
            )
            for key, points in series.items()
        ]

    def metric_buckets(
        self, window: TimeWindow, bucket_seconds: int = 60, service: str | None = None
    ) -> list[MetricBucket]:
        where, params = self._filters("time_ns", window, service)
        width = bucket_seconds * 1_000_000_000
        source = (
            "(SELECT name, service, kind, unit, time_ns, value, count, sum, CASE WHEN temporality = 2 OR "
            "(kind = 'sum' AND temporality <> 1) THEN CASE WHEN value - lag(value) OVER w < 0 THEN value "
            "ELSE value - lag(value) OVER w END ELSE value END AS increase FROM metrics "
            f"{_where(where)} WINDOW w AS (PARTITION BY series_key ORDER BY time_ns))"
        )
        value_sql = (
            f"CASE WHEN any_value(kind) = 'sum' THEN sum(increase) / {float(bucket_seconds)} "
            "WHEN any_value(kind) IN ('histogram', 'exponential_histogram', 'summary') "
            "THEN sum(sum) / nullif(sum(count), 0) ELSE avg(value) END"
        )
        rows = self._fetchall(
            f"SELECT name, service, any_value(kind), any_value(unit), (time_ns // {width}) * {width} AS bucket, "
            f"{value_sql} FROM {source} GROUP BY name, service, bucket ORDER BY name, service, bucket",
            params,
        )
        return [
            MetricBucket(
                name=r[0],
                service=r[1],
                kind=r[2],
                unit=r[3] or "",
                bucket_start=from_nanos(int(r[4])),
                value=float(r[5]),
            )
            for r in rows
            if r[5] is not None
        ]

    # ---------------------------------------------------------------------------- changes

    def list_changes(
        self,
        window: TimeWindow | None = None,
        service: str | None = None,
        kinds: list[ChangeKind] | None = None,
    ) -> list[ChangeEvent]:
        where, params = self._filters("time_ns", window, service)
        rows = self._fetchall(f"SELECT document FROM changes {_where(where)} ORDER BY time_ns", params)
        changes = [ChangeEvent.model_validate_json(r[0]) for r in rows]
        return [c for c in changes if kinds is None or c.kind in kinds]

    # ----------------------------------------------------------------------- SLOs, alarms

    def list_slo_definitions(self) -> list[SloDefinition]:
        rows = self._fetchall("SELECT document FROM slos ORDER BY name")
        return [SloDefinition.model_validate_json(r[0]) for r in rows]

    def sli_buckets(
        self, slo: SloDefinition, window: TimeWindow, bucket_seconds: int = 60
    ) -> list[SliBucket]:
        where = ["service = ?", "is_entry"]
        params: list[Any] = [slo.service]
        if slo.operation:
            where.append("operation = ?")
            params.append(slo.operation)
        self._window_clause("start_ns", window, where, params)
        good = (
            "NOT is_error"
            if slo.sli == SliKind.AVAILABILITY
            else f"duration_ms <= {float(slo.threshold_ms or 0)}"
        )
        width = bucket_seconds * 1_000_000_000
        rows = self._fetchall(
            f"SELECT (start_ns // {width}) * {width}, count(*), sum(({good})::INTEGER) FROM spans {_where(where)} "
            "GROUP BY 1 ORDER BY 1",
            params,
        )
        return [
            SliBucket(bucket_start=from_nanos(int(r[0])), total=int(r[1]), good=int(r[2] or 0)) for r in rows
        ]

    def list_alarms(self, state: AlarmState | None = None) -> list[Alarm]:
        alarms = self._evaluated_alarms()
        return [a for a in alarms if state is None or a.state == state]

    def alarm_history(self, name: str, window: TimeWindow | None = None) -> Alarm:
        for alarm in self._evaluated_alarms():
            if alarm.name == name:
                if window is None:
                    return alarm
                kept = [t for t in alarm.history if window.contains(t.time)]
                return alarm.model_copy(update={"history": kept})
        known = ", ".join(a.name for a in self._evaluated_alarms()) or "(none)"
        raise QueryError(f"unknown alarm {name!r}; known alarms: {known}")

    def _evaluated_alarms(self) -> list[Alarm]:
        if self._alarm_cache is not None:
            return self._alarm_cache
        alarms = []
        window = self.time_range()
        for (document,) in self._fetchall("SELECT document FROM alarms ORDER BY name"):
            alarm = Alarm.model_validate_json(document)
            if not alarm.history and window is not None:
                alarm = evaluate_alarm(alarm, self._alarm_series(alarm, window))
            alarms.append(alarm)
        self._alarm_cache = alarms
        return alarms

    def _alarm_series(self, alarm: Alarm, window: TimeWindow) -> MetricSeries | None:
        statistic = alarm.statistic if alarm.statistic in _STATISTICS else "avg"
        try:
            series = self.query_metrics(
                MetricQuery(
                    name=alarm.metric,
                    window=window,
                    service=alarm.service,
                    statistic=statistic,  # type: ignore[arg-type]
                    period_seconds=alarm.period_seconds,
                    attributes=dict(alarm.dimensions),
                )
            )
        except (UnknownMetricError, UnknownServiceError):
            return None
        return series[0] if series else None


# numbers and hex ids masked (one pass) before grouping log bodies: uuids, long hex ids, numbers;
# mcp_server.analysis.log_patterns.mask applies the same expression
_LOG_MASK = (
    r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"
    r"|\b[0-9a-fA-F]{8,}\b|\d+(\.\d+)?"
)
_STATISTICS = {"avg", "sum", "min", "max", "p50", "p95", "p99", "count", "rate"}


def _where(clauses: list[str]) -> str:
    return "WHERE " + " AND ".join(clauses) if clauses else ""


def _json_path(key: str) -> str:
    return '$."' + key.replace('"', '\\"') + '"'


def _attr_expr(key: str) -> str:
    """A data point attribute, falling back to the resource attribute of the same key."""
    return "coalesce(json_extract_string(attributes, ?), json_extract_string(resource, ?))"


def _statistic_sql(statistic: str, kind: MetricKind, period_seconds: int) -> str:
    histogram = kind in (MetricKind.HISTOGRAM, MetricKind.EXPONENTIAL_HISTOGRAM, MetricKind.SUMMARY)
    if statistic == "avg":
        return "sum(sum) / nullif(sum(count), 0)" if histogram else "avg(value)"
    if statistic == "sum":
        return "sum(sum)" if histogram else "sum(increase)" if kind == MetricKind.SUM else "sum(value)"
    if statistic == "count":
        return "sum(count)" if histogram else "count(*)"
    if statistic == "rate":
        if histogram:
            return f"sum(count) / {float(period_seconds)}"
        return f"sum(increase) / {float(period_seconds)}" if kind == MetricKind.SUM else "avg(value)"
    if statistic in ("min", "max"):
        return f"{statistic}({statistic})" if histogram else f"{statistic}(value)"
    quantile = {"p50": 0.5, "p95": 0.95, "p99": 0.99}[statistic]
    if histogram:
        # Per-point means are what survive without merging buckets: a fair proxy for tail movement.
        return f"quantile_cont(CASE WHEN count > 0 THEN sum / count END, {quantile})"
    return f"quantile_cont(value, {quantile})"
