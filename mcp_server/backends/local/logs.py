"""The local backend's log queries: search, counts per bucket and severity, masked body groups."""

from __future__ import annotations

import re

import orjson

from mcp_server.backends.base import DEFAULT_LIMIT, LogCountBucket, LogGroup, LogQuery
from mcp_server.backends.local.database import Database, where_sql
from mcp_server.errors import QueryError
from mcp_server.telemetry import LogRecord, Severity, TimeWindow, from_nanos

SEVERITY_ORDER = [s.value for s in sorted(Severity, key=lambda s: s.rank)]
# numbers and hex ids masked (one pass) before grouping log bodies: uuids, long hex ids, numbers;
# mcp_server.analysis.log_patterns.mask applies the same expression
LOG_MASK = (
    r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"
    r"|\b[0-9a-fA-F]{8,}\b|\d+(\.\d+)?"
)


class LogQueries:
    def __init__(self, db: Database) -> None:
        self.db = db

    def query_logs(self, query: LogQuery) -> list[LogRecord]:
        where, params = self.db.filters("time_ns", query.window, query.service)
        if query.min_severity is not None:
            allowed = [s for s in SEVERITY_ORDER if Severity(s).rank >= query.min_severity.rank]
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
        rows = self.db.fetchall(
            "SELECT time_ns, observed_ns, service, severity, severity_number, severity_text, body, trace_id, "
            "span_id, attributes, resource, scope_name, flags, event_name "
            f"FROM logs {where_sql(where)} ORDER BY time_ns {order} LIMIT ?",
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
        where, params = self.db.filters("time_ns", window, service)
        width = bucket_seconds * 1_000_000_000
        rows = self.db.fetchall(
            f"SELECT (time_ns // {width}) * {width}, service, severity, count(*) FROM logs {where_sql(where)} "
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
        where, params = self.db.filters("time_ns", window, service)
        masked = f"regexp_replace(body, '{LOG_MASK}', '<*>', 'g')"
        high = "severity IN ('WARN', 'ERROR', 'FATAL')"
        source = f"SELECT service, severity, body, time_ns, 1.0 AS w FROM logs {where_sql(where)}"
        source_params = list(params)
        if sample_rows is not None:
            # two strata (WARN and above, the rest), each sampled down to ``sample_rows`` lines with
            # counts scaled back up, so rare warnings are not drowned by the bulk of INFO lines
            parts: list[str] = []
            source_params = []
            for stratum in (high, f"NOT ({high})"):
                clause = where_sql([*where, stratum])
                row = self.db.fetchone(f"SELECT count(*) FROM logs {clause}", params)
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
        rows = self.db.fetchall(
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
