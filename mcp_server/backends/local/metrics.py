"""The local backend's metric queries: descriptors, series by statistic, and every series bucketed."""

from __future__ import annotations

import math
from typing import Any

from mcp_server.backends.base import MetricBucket, MetricQuery
from mcp_server.backends.local.database import Database, attr_expr, json_path, where_sql, window_clause
from mcp_server.errors import UnknownMetricError
from mcp_server.span_conventions import PEER_KEYS, peer_service
from mcp_server.telemetry import (
    MetricDescriptor,
    MetricKind,
    MetricSeries,
    SeriesPoint,
    ServiceEdge,
    TimeWindow,
    from_nanos,
)

STATISTICS = {"avg", "sum", "min", "max", "p50", "p95", "p99", "count", "rate"}
# what a point adds: a cumulative counter's rise since the point before (a drop is a reset: all of
# its value), a delta counter's or a gauge's own value (over window ``w``, one series in time order)
INCREASE = (
    "CASE WHEN temporality = 2 OR (kind = 'sum' AND temporality <> 1) THEN CASE WHEN value - lag(value) "
    "OVER w < 0 THEN value ELSE value - lag(value) OVER w END ELSE value END AS increase"
)
# the nanoseconds a counter's point counted: a delta point since its start, a cumulative increase
# since the point before (over window ``w``, one series in time order)
COUNTED_NS = (
    "CASE WHEN kind = 'sum' THEN CASE WHEN temporality = 1 AND start_ns > 0 AND start_ns < time_ns "
    "THEN time_ns - start_ns ELSE time_ns - lag(time_ns) OVER w END END AS counted_ns"
)
# per bucket, the seconds each series' points counted (several hosts' series side by side count the
# same minutes, not more of them)
COUNTED_SECONDS = (
    "sum(counted_ns) / 1e9 / nullif(count(DISTINCT CASE WHEN counted_ns IS NOT NULL THEN series_key END), 0)"
)


class MetricQueries:
    def __init__(self, db: Database) -> None:
        self.db = db

    def list_metrics(self, service: str | None = None) -> list[MetricDescriptor]:
        self.db.check_service(service)
        where: list[str] = []
        params: list[Any] = []
        if service is not None:
            where.append("service = ?")
            params.append(service)
        rows = self.db.fetchall(
            "SELECT name, service, any_value(kind), any_value(unit), any_value(description), count(*), "
            "list_distinct(flatten(list(DISTINCT json_keys(attributes)))) "
            f"FROM metrics {where_sql(where)} GROUP BY name, service ORDER BY service, name",
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
        self.db.check_service(query.service)
        where = ["name = ?"]
        params: list[Any] = [query.name]
        if query.service is not None:
            where.append("service = ?")
            params.append(query.service)
        exists = self.db.fetchone(
            f"SELECT any_value(kind), any_value(unit) FROM metrics {where_sql(where)}", params
        )
        if not exists or exists[0] is None:
            known = [m.name for m in self.list_metrics(query.service)]
            raise UnknownMetricError(query.name, query.service, sorted(set(known)))
        kind, unit = MetricKind(exists[0]), exists[1] or ""
        for key, value in query.attributes.items():
            where.append(f"{attr_expr(key)} = ?")
            params.extend([json_path(key), json_path(key), str(value)])
        group_exprs = [attr_expr(key) for key in query.group_by]
        group_params = [p for key in query.group_by for p in (json_path(key), json_path(key))]
        width = query.period_seconds * 1_000_000_000
        value_sql = statistic_sql(query.statistic, kind, query.period_seconds)
        group_cols = "".join(f", {expr} AS g{i}" for i, expr in enumerate(group_exprs))
        inner_where = list(where)
        window_clause("time_ns", query.window, inner_where, params)
        source = (
            f"(SELECT *, {INCREASE}, {COUNTED_NS} FROM metrics "
            f"{where_sql(inner_where)} WINDOW w AS (PARTITION BY series_key ORDER BY time_ns))"
        )
        sql = (
            f"SELECT service{group_cols}, (time_ns // {width}) * {width} AS bucket, {value_sql}, "
            f"{COUNTED_SECONDS} FROM {source} GROUP BY ALL ORDER BY ALL"
        )
        rows = self.db.fetchall(sql, [*group_params, *params])
        series: dict[tuple[Any, ...], list[SeriesPoint]] = {}
        for row in rows:
            if row[-2] is None:
                continue
            series_id = tuple(row[: 1 + len(group_exprs)])
            counted = float(row[-1]) if kind == MetricKind.SUM and row[-1] else None
            point = SeriesPoint(time=from_nanos(int(row[-3])), value=float(row[-2]), counted_seconds=counted)
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
        self,
        window: TimeWindow,
        bucket_seconds: int = 60,
        service: str | None = None,
        *,
        by_host: bool = False,
    ) -> list[MetricBucket]:
        where, params = self.db.filters("time_ns", window, service)
        host = "host" if by_host else "NULL::VARCHAR AS host"
        width = bucket_seconds * 1_000_000_000
        source = (
            f"(SELECT name, service, {host}, kind, unit, time_ns, value, count, sum, series_key, {INCREASE}, "
            f"{COUNTED_NS} FROM metrics "
            f"{where_sql(where)} WINDOW w AS (PARTITION BY series_key ORDER BY time_ns))"
        )
        value_sql = (
            f"CASE WHEN any_value(kind) = 'sum' THEN sum(increase) / {float(bucket_seconds)} "
            "WHEN any_value(kind) IN ('histogram', 'exponential_histogram', 'summary') "
            "THEN sum(sum) / nullif(sum(count), 0) ELSE avg(value) END"
        )
        rows = self.db.fetchall(
            f"SELECT name, service, host, any_value(kind), any_value(unit), "
            f"(time_ns // {width}) * {width} AS bucket, {value_sql}, {COUNTED_SECONDS} FROM {source} "
            "GROUP BY name, service, host, bucket ORDER BY name, service, host, bucket",
            params,
        )
        return [
            MetricBucket(
                name=r[0],
                service=r[1],
                host=r[2],
                kind=r[3],
                unit=r[4] or "",
                bucket_start=from_nanos(int(r[5])),
                value=float(r[6]),
                counted_seconds=float(r[7]) if r[3] == "sum" and r[7] else None,
            )
            for r in rows
            if r[6] is not None and math.isfinite(r[6])
        ]

    def peer_edges(self, window: TimeWindow) -> list[ServiceEdge]:
        """Caller→callee pairs named by client-side metrics (a peer attribute), for data without traces.

        Requests and errors are the increases of the counters (unit ``{request}``/``{call}``) in the
        window, errors those whose name says so; a pair seen only through gauges or histograms still
        counts as an edge, with 0 requests."""
        where: list[str] = []
        params: list[Any] = []
        window_clause("time_ns", window, where, params)
        peer = "coalesce(" + ", ".join("json_extract_string(attributes, ?)" for _ in PEER_KEYS) + ")"
        peer_params = [json_path(key) for key in PEER_KEYS]
        source = (
            f"(SELECT service, {peer} AS peer, name, kind, unit, {INCREASE} FROM metrics "
            f"{where_sql(where)} WINDOW w AS (PARTITION BY series_key ORDER BY time_ns))"
        )
        counter = "kind = 'sum' AND unit IN ('{request}', '{call}', '{requests}', '{calls}')"
        rows = self.db.fetchall(
            f"SELECT service, peer, sum(CASE WHEN {counter} AND name NOT LIKE '%error%' THEN increase END), "
            f"sum(CASE WHEN {counter} AND name LIKE '%error%' THEN increase END) FROM {source} "
            "WHERE peer IS NOT NULL AND peer <> service GROUP BY 1, 2 ORDER BY 1, 2",
            [*peer_params, *params],
        )
        known = set(self.db.services())
        # a peer named by its address ("orders.prod.svc.cluster.local") is the service it names
        counted: dict[tuple[str, str], list[float]] = {}
        for caller, peer, requests, errors in rows:
            callee = peer_service(peer, known) or peer
            if callee != caller:
                total = counted.setdefault((caller, callee), [0.0, 0.0])
                total[0] += requests or 0.0
                total[1] += errors or 0.0
        return [
            ServiceEdge(
                caller=caller,
                callee=callee,
                requests=max(0, round(requests)),
                errors=max(0, round(errors)),
                callee_is_external=callee not in known,
                traced=False,
            )
            for (caller, callee), (requests, errors) in sorted(counted.items())
        ]


def statistic_sql(statistic: str, kind: MetricKind, period_seconds: int) -> str:
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
