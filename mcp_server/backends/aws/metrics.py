"""CloudWatch metrics: ListMetrics to find the series, GetMetricData (batched, metric math) to read them.

A Sleuth metric is a CloudWatch metric name; its service is the value of the first configured
service dimension (``Service`` for Application Signals), and its other dimensions are its
attributes. Several CloudWatch metrics that fall into one requested group are combined with
metric math (``SUM(...)``, weighted averages as ``SUM(sums)/SUM(counts)``) on the CloudWatch side.
"""

from __future__ import annotations

import fnmatch
import threading
from collections import defaultdict
from datetime import datetime
from typing import Any

from mcp_server.backends.aws.clients import paginate
from mcp_server.backends.aws.config import AwsBackendConfig
from mcp_server.backends.aws.errors import aws_errors
from mcp_server.backends.aws.notes import NoteBook
from mcp_server.backends.base import MetricBucket, MetricQuery
from mcp_server.errors import UnknownMetricError
from mcp_server.telemetry import MetricDescriptor, MetricKind, MetricSeries, SeriesPoint, TimeWindow

CW_STATISTIC = {
    "avg": "Average",
    "sum": "Sum",
    "min": "Minimum",
    "max": "Maximum",
    "count": "SampleCount",
    "p50": "p50",
    "p95": "p95",
    "p99": "p99",
    "rate": "Sum",
}
MAX_LISTED_METRICS = 5_000


class MetricReader:
    def __init__(self, client: Any, config: AwsBackendConfig, notes: NoteBook) -> None:
        self._client = client
        self._config = config
        self._notes = notes
        self._listed: dict[str | None, list[dict[str, Any]]] = {}
        self._lock = threading.Lock()

    # ------------------------------------------------------------------------- discovery

    def _list(self, metric_name: str | None = None) -> list[dict[str, Any]]:
        """ListMetrics over the configured namespaces, cached for the life of the reader."""
        with self._lock:
            every = self._listed.get(None)
            if every is not None:
                return [m for m in every if metric_name is None or m["MetricName"] == metric_name]
            if metric_name in self._listed:
                return self._listed[metric_name]
        found = self._list_uncached(metric_name)
        with self._lock:
            self._listed[metric_name] = found
        return found

    def _list_uncached(self, metric_name: str | None) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = []
        for namespace in self._config.metric_namespaces:
            params: dict[str, Any] = {"Namespace": namespace}
            if metric_name:
                params["MetricName"] = metric_name
            with aws_errors("cloudwatch:ListMetrics"):
                found.extend(paginate(self._client, "list_metrics", "Metrics", MAX_LISTED_METRICS, **params))
        if len(found) >= MAX_LISTED_METRICS:
            self._notes.add(
                "metrics", f"ListMetrics stopped after {MAX_LISTED_METRICS} metrics per namespace"
            )
        return found

    def service_of(self, metric: dict[str, Any]) -> str:
        dims = _dims(metric)
        for key in self._config.service_dimensions:
            if dims.get(key):
                return dims[key]
        return str(metric.get("Namespace", ""))

    def attributes_of(self, metric: dict[str, Any]) -> dict[str, str]:
        return {k: v for k, v in _dims(metric).items() if k not in self._config.service_dimensions}

    def kind_of(self, name: str) -> MetricKind:
        for pattern, kind in self._config.metric_kinds.items():
            if fnmatch.fnmatchcase(name, pattern):
                return MetricKind(kind)
        return MetricKind.GAUGE

    def services(self) -> set[str]:
        return {self.service_of(m) for m in self._list() if self._has_service(m)}

    def _has_service(self, metric: dict[str, Any]) -> bool:
        return any(k in self._config.service_dimensions for k in _dims(metric))

    def list_metrics(self, service: str | None = None) -> list[MetricDescriptor]:
        grouped: dict[tuple[str, str], set[str]] = defaultdict(set)
        for metric in self._list():
            svc = self.service_of(metric)
            if service is not None and svc != service:
                continue
            grouped[(str(metric["MetricName"]), svc)].update(self.attributes_of(metric))
        return [
            MetricDescriptor(name=name, service=svc, kind=self.kind_of(name), attribute_keys=sorted(keys))
            for (name, svc), keys in sorted(grouped.items(), key=lambda item: (item[0][1], item[0][0]))
        ]

    # ----------------------------------------------------------------------------- reads

    def query(self, query: MetricQuery) -> list[MetricSeries]:
        candidates = [
            m
            for m in self._list(query.name)
            if (query.service is None or self.service_of(m) == query.service)
            and all(self.attributes_of(m).get(k) == str(v) for k, v in query.attributes.items())
        ]
        if not candidates:
            known = sorted({d.name for d in self.list_metrics(query.service)})
            raise UnknownMetricError(query.name, query.service, known)
        groups: dict[tuple[Any, ...], list[dict[str, Any]]] = defaultdict(list)
        for metric in candidates:
            attrs = self.attributes_of(metric)
            groups[(self.service_of(metric), *(attrs.get(k) for k in query.group_by))].append(metric)
        if query.period_seconds < 60 or query.period_seconds % 60:
            self._notes.add(
                "metrics", f"period {query.period_seconds}s needs high-resolution metrics in CloudWatch"
            )
        plans = [_plan(i, metrics, query) for i, metrics in enumerate(groups.values())]
        results = self._get_metric_data(plans, query)
        series = []
        for key, plan in zip(groups, plans, strict=True):
            timestamps, values = results.get(plan.result_id, ([], []))
            points = sorted(
                (SeriesPoint(time=t, value=float(v)) for t, v in zip(timestamps, values, strict=True)),
                key=lambda p: p.time,
            )
            if not points:
                continue
            series.append(
                MetricSeries(
                    name=query.name,
                    service=str(key[0]),
                    kind=self.kind_of(query.name),
                    statistic=query.statistic,
                    attributes=dict(zip(query.group_by, key[1:], strict=True)),
                    points=points,
                )
            )
        return sorted(series, key=lambda s: (s.service, tuple(str(v) for v in s.attributes.values())))

    def buckets(self, window: TimeWindow, bucket_seconds: int, service: str | None) -> list[MetricBucket]:
        """Every metric of every service (or one) at its natural statistic, in batched GetMetricData
        calls: the average for gauges and histograms, the per-second rate for counters."""
        groups: dict[tuple[str, str], list[dict[str, Any]]] = defaultdict(list)
        for metric in self._list():
            svc = self.service_of(metric)
            if self._has_service(metric) and (service is None or svc == service):
                groups[(str(metric["MetricName"]), svc)].append(metric)
        if not groups:
            return []
        keys = sorted(groups)
        queries = [
            MetricQuery(
                name=name,
                service=svc,
                window=window,
                statistic="rate" if self.kind_of(name) == MetricKind.SUM else "avg",
                period_seconds=bucket_seconds,
            )
            for name, svc in keys
        ]
        plans = [_plan(i, groups[key], q) for i, (key, q) in enumerate(zip(keys, queries, strict=True))]
        results = self._get_metric_data(plans, queries[0])
        buckets: list[MetricBucket] = []
        for (name, svc), plan in zip(keys, plans, strict=True):
            timestamps, values = results.get(plan.result_id, ([], []))
            buckets.extend(
                MetricBucket(name=name, service=svc, kind=self.kind_of(name), bucket_start=t, value=float(v))
                for t, v in sorted(zip(timestamps, values, strict=True))
            )
        return buckets

    def _get_metric_data(
        self, plans: list[_Plan], query: MetricQuery
    ) -> dict[str, tuple[list[datetime], list[float]]]:
        period = query.period_seconds
        start = _floor(query.window.start, period)
        results: dict[str, tuple[list[datetime], list[float]]] = {}
        batch: list[dict[str, Any]] = []
        batches: list[list[dict[str, Any]]] = []
        for plan in plans:
            if len(batch) + len(plan.queries) > self._config.max_metric_queries and batch:
                batches.append(batch)
                batch = []
            batch.extend(plan.queries)
        if batch:
            batches.append(batch)
        for queries in batches:
            with aws_errors("cloudwatch:GetMetricData"):
                for item in paginate(
                    self._client,
                    "get_metric_data",
                    "MetricDataResults",
                    None,
                    MetricDataQueries=queries,
                    StartTime=start,
                    EndTime=query.window.end,
                    ScanBy="TimestampAscending",
                ):
                    times, values = results.setdefault(str(item["Id"]), ([], []))
                    times.extend(item.get("Timestamps") or [])
                    values.extend(item.get("Values") or [])
                    if item.get("StatusCode") == "PartialData":
                        self._notes.add("metrics", f"GetMetricData returned partial data for {query.name}")
        return results


class _Plan:
    def __init__(self, result_id: str, queries: list[dict[str, Any]]) -> None:
        self.result_id = result_id
        self.queries = queries


def _plan(index: int, metrics: list[dict[str, Any]], query: MetricQuery) -> _Plan:
    """GetMetricData queries answering one group: a MetricStat, or hidden stats and metric math."""
    period = query.period_seconds
    result_id = f"g{index}"

    def stat(qid: str, metric: dict[str, Any], statistic: str, visible: bool) -> dict[str, Any]:
        return {
            "Id": qid,
            "MetricStat": {
                "Metric": {k: metric[k] for k in ("Namespace", "MetricName", "Dimensions") if k in metric},
                "Period": period,
                "Stat": statistic,
            },
            "ReturnData": visible,
        }

    def expression(text: str) -> dict[str, Any]:
        return {"Id": result_id, "Expression": text, "Label": query.name, "ReturnData": True}

    statistic = CW_STATISTIC[query.statistic]
    if len(metrics) == 1 and query.statistic != "rate":
        return _Plan(result_id, [stat(result_id, metrics[0], statistic, True)])
    if query.statistic == "avg":
        sums = [stat(f"{result_id}s{i}", m, "Sum", False) for i, m in enumerate(metrics)]
        counts = [stat(f"{result_id}c{i}", m, "SampleCount", False) for i, m in enumerate(metrics)]
        text = f"SUM([{_ids(sums)}]) / SUM([{_ids(counts)}])"
        return _Plan(result_id, [*sums, *counts, expression(text)])
    parts = [stat(f"{result_id}m{i}", m, statistic, False) for i, m in enumerate(metrics)]
    if query.statistic == "rate":
        text = f"SUM([{_ids(parts)}]) / PERIOD({parts[0]['Id']})"
    elif query.statistic in ("sum", "count"):
        text = f"SUM([{_ids(parts)}])"
    elif query.statistic == "min":
        text = f"MIN([{_ids(parts)}])"
    else:  # max and percentiles: the worst series (percentiles of a union are not computable)
        text = f"MAX([{_ids(parts)}])"
    return _Plan(result_id, [*parts, expression(text)])


def _ids(queries: list[dict[str, Any]]) -> str:
    return ", ".join(q["Id"] for q in queries)


def _dims(metric: dict[str, Any]) -> dict[str, str]:
    return {str(d["Name"]): str(d["Value"]) for d in metric.get("Dimensions") or []}


def _floor(moment: datetime, period_seconds: int) -> datetime:
    epoch = int(moment.timestamp())
    return datetime.fromtimestamp(epoch - epoch % period_seconds, tz=moment.tzinfo)
