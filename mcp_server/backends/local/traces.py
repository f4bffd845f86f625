"""The local backend's span queries: search, traces, bucketed statistics, error origins, the call graph."""

from __future__ import annotations

from typing import Any

import orjson

from mcp_server.backends.base import DEFAULT_LIMIT, ErrorOrigin, SpanBucket, SpanQuery, SpanStatsQuery
from mcp_server.backends.local.database import Database, json_path, where_sql, window_clause
from mcp_server.span_conventions import GRPC_STATUS_KEYS
from mcp_server.telemetry import ServiceEdge, Span, SpanEvent, SpanLink, TimeWindow, from_nanos

SPAN_COLUMNS = (
    "trace_id, span_id, parent_span_id, service, operation, kind, start_ns, end_ns, status_code, "
    "status_message, attributes, resource, events, links, trace_state, scope_name, scope_version"
)
# span_conventions.span_states_outcome in SQL (http_status holds the HTTP status keys' value); a
# CASE, so only spans the plain columns leave undecided have their attributes parsed
STATES_OUTCOME = (
    "CASE WHEN is_error OR status_code <> 0 OR http_status IS NOT NULL THEN 1 "
    "WHEN attributes IS NULL OR attributes = '{}' THEN 0 "
    + "".join(f"WHEN json_exists(attributes, '{json_path(key)}') THEN 1 " for key in GRPC_STATUS_KEYS)
    + "ELSE 0 END"
)
TRACE_COUNTS = "count(DISTINCT trace_id), count(DISTINCT trace_id) FILTER (WHERE is_error)"
GROUP_COLUMNS = {
    "service": "service",
    "operation": "operation",
    "host": "host",
    "availability_zone": "az",
    "peer": "peer",
    "callee": "callee",
    "parent_service": "parent_service",
    "parent_operation": "parent_operation",
    "last_callee": "last_callee",
}


def row_to_span(row: tuple[Any, ...]) -> Span:
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


class SpanQueries:
    def __init__(self, db: Database) -> None:
        self.db = db

    def query_spans(self, query: SpanQuery) -> list[Span]:
        self.db.check_service(query.service)
        where: list[str] = []
        params: list[Any] = []
        window_clause("start_ns", query.window, where, params)
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
            params.extend([json_path(key), str(value).lower() if isinstance(value, bool) else str(value)])
        order = "start_ns" if query.order == "start" else "duration_ms DESC"
        if not query.one_per_trace:
            sql = f"SELECT {SPAN_COLUMNS} FROM spans {where_sql(where)} ORDER BY {order} LIMIT ?"
            return [row_to_span(row) for row in self.db.fetchall(sql, [*params, query.limit])]
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
            f"SELECT {SPAN_COLUMNS} FROM (SELECT *, row_number() OVER (PARTITION BY trace_id ORDER BY {pick}) "
            f"AS pick FROM spans {where_sql(where)}) {where_sql(outer)} ORDER BY {key}{direction}, trace_id LIMIT ?"
        )
        return [row_to_span(row) for row in self.db.fetchall(sql, [*params, query.limit])]

    def get_trace(self, trace_id: str) -> list[Span]:
        rows = self.db.fetchall(
            f"SELECT {SPAN_COLUMNS} FROM spans WHERE trace_id = ? ORDER BY start_ns", [trace_id.lower()]
        )
        return [row_to_span(row) for row in rows]

    def count_spans(self, window: TimeWindow | None = None, service: str | None = None) -> int:
        where: list[str] = []
        params: list[Any] = []
        window_clause("start_ns", window, where, params)
        if service is not None:
            where.append("service = ?")
            params.append(service)
        row = self.db.fetchone(f"SELECT count(*) FROM spans {where_sql(where)}", params)
        return int(row[0]) if row else 0

    def span_stats(self, query: SpanStatsQuery) -> list[SpanBucket]:
        where, params = self.db.filters("start_ns", query.window, query.service)
        if query.kinds is not None:
            where.append(f"kind IN ({', '.join(str(int(k)) for k in query.kinds)})")
        if query.roots_only:
            where.append("coalesce(parent_span_id, '') = ''")
        width = query.bucket_seconds * 1_000_000_000
        groups = [GROUP_COLUMNS[g] for g in query.group_by]
        group_sql = "".join(f", {g}" for g in groups)
        sql = (
            f"SELECT (start_ns // {width}) * {width} AS bucket{group_sql}, count(*), "
            "sum(is_error::INTEGER), sum(duration_ms), sum(self_ms), "
            "quantile_cont(duration_ms, [0.5, 0.95, 0.99]), quantile_cont(self_ms, 0.5), mad(self_ms), "
            f"{TRACE_COUNTS if query.count_traces else 'NULL, NULL'}, sum({STATES_OUTCOME}) "
            f"FROM spans {where_sql(where)} GROUP BY ALL ORDER BY 1"
        )
        result = []
        for row in self.db.fetchall(sql, params):
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
                    self_p50_ms=row[6 + n],
                    self_mad_ms=row[7 + n],
                    traces=None if row[8 + n] is None else int(row[8 + n]),
                    error_traces=None if row[9 + n] is None else int(row[9 + n]),
                    with_outcome=int(row[10 + n] or 0),
                )
            )
        return result

    def error_origins(
        self, window: TimeWindow, service: str | None = None, limit: int = DEFAULT_LIMIT
    ) -> list[ErrorOrigin]:
        self.db.check_service(service)
        where = ["is_origin"]
        params: list[Any] = []
        window_clause("start_ns", window, where, params)
        if service is not None:
            where.append("service = ?")
            params.append(service)
        rows = self.db.fetchall(
            "SELECT service, operation, peer, count(*), min(start_ns), max(start_ns), arg_min(trace_id, start_ns), "
            "coalesce(max(status_message), ''), coalesce(max(exception_type), '') || "
            "coalesce(': ' || max(exception_message), ''), "
            "histogram(coalesce(host, '')), histogram(coalesce(az, '')), arg_min(span_id, start_ns) "
            f"FROM spans {where_sql(where)} GROUP BY service, operation, peer ORDER BY count(*) DESC LIMIT ?",
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
                sample_span_id=row[11],
            )
            for row in rows
        ]

    def service_edges(self, window: TimeWindow) -> list[ServiceEdge]:
        params = [window.start_ns, window.end_ns]
        internal = self.db.fetchall(
            "SELECT p.service, c.service, count(*), sum(c.is_error::INTEGER), "
            "quantile_cont(c.duration_ms, 0.5), quantile_cont(c.duration_ms, 0.95) "
            "FROM spans c JOIN spans p ON c.trace_id = p.trace_id AND c.parent_span_id = p.span_id "
            "WHERE c.service <> p.service AND c.start_ns >= ? AND c.start_ns < ? GROUP BY 1, 2",
            params,
        )
        external = self.db.fetchall(
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
