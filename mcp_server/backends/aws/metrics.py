"""CloudWatch metrics: ListMetrics to find the series, GetMetricData (batched, metric math) to read them.

A Sleuth metric is a CloudWatch metric name; its service is the value of the first configured
service dimension (``Service`` for Application Signals), and its other dimensions are its
attributes.

One question reads one *dimension level*: CloudWatch keeps a metric once per dimension set it
was published with (Application Signals publishes ``Fault`` per ``[Environment, Service]`` and
again per ``[Environment, Service, Operation]``), so adding every set would count each request
once per level. A query reads the smallest set holding the service, the asked attributes and
the group-by keys; ``Remote*`` sets (a service's calls to its dependencies) are read only when
asked for by name. The series of that one set partition the service's traffic and are combined
with metric math (``SUM(...)``, weighted averages as ``SUM(sums)/SUM(counts)``) on CloudWatch.
"""

from __future__ import annotations

import fnmatch
import threading
from collections import defaultdict
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from mcp_server.backends.aws.calls import ApiCaller
from mcp_server.backends.base import MetricBucket, MetricQuery
from mcp_server.errors import QueryError, UnknownMetricError
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
RECENTLY_ACTIVE = timedelta(hours=3)  # ListMetrics' RecentlyActive=PT3H: metrics with data lately
REMOTE_PREFIX = "Remote"  # Application Signals' dependency dimensions (RemoteService, ...)


class MetricReader:
    def __init__(self, client: Any, calls: ApiCaller, now: Callable[[], datetime]) -> None:
        self._client = client
        self._calls = calls
        self._config = calls.config
        self._notes = calls.notes
        self._now = now
        self._listed: dict[tuple[str | None, bool], list[dict[str, Any]]] = {}
        self._lock = threading.Lock()

    # ------------------------------------------------------------------------- discovery

    def _recent(self, window: TimeWindow | None) -> bool:
        return window is None or window.end >= self._now() - RECENTLY_ACTIVE

    def _list(self, metric_name: str | None = None, window: TimeWindow | None = None) -> list[dict[str, Any]]:
        """ListMetrics over the configured namespaces, de-duplicated, cached for the reader's life.

        For a window ending within the last 3 hours only recently active metrics are listed
        (``RecentlyActive=PT3H``): series that stopped weeks ago do not crowd out the live ones.
        """
        recent = self._recent(window)
        found = self._cached(metric_name, recent)
        if recent and not found:  # nothing active lately: an older question, list them all
            found = self._cached(metric_name, False)
        return found

    def _cached(self, metric_name: str | None, recent: bool) -> list[dict[str, Any]]:
        with self._lock:
            every = self._listed.get((None, recent))
            if every is not None:
                return [m for m in every if metric_name is None or m["MetricName"] == metric_name]
            if (metric_name, recent) in self._listed:
                return self._listed[(metric_name, recent)]
        found = self._list_uncached(metric_name, recent)
        with self._lock:
            self._listed[(metric_name, recent)] = found
        return found

    def _list_uncached(self, metric_name: str | None, recent: bool) -> list[dict[str, Any]]:
        found: dict[tuple[Any, ...], dict[str, Any]] = {}
        for namespace in self._config.metric_namespaces:
            params: dict[str, Any] = {"Namespace": namespace}
            if metric_name:
                params["MetricName"] = metric_name
            if recent:
                params["RecentlyActive"] = "PT3H"
            listed = 0
            for metric in self._calls.pages(
                "cloudwatch:ListMetrics",
                self._client,
                "list_metrics",
                "Metrics",
                MAX_LISTED_METRICS,
                **params,
            ):
                listed += 1
                found.setdefault(_identity(metric), metric)
            if listed >= MAX_LISTED_METRICS:
                self._notes.add(
                    "metrics",
                    f"ListMetrics stopped after {MAX_LISTED_METRICS} metrics in namespace {namespace}",
                )
        return list(found.values())

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
        return {self.service_of(m) for m in self._list() if self.has_service(m)}

    def has_service(self, metric: dict[str, Any]) -> bool:
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

    def level(self, metrics: list[dict[str, Any]], keys: set[str], what: str) -> list[dict[str, Any]]:
        """The metrics of the one dimension set to read (see the module docstring)."""
        by_set: dict[frozenset[str], list[dict[str, Any]]] = defaultdict(list)
        for metric in metrics:
            by_set[frozenset(_dims(metric))].append(metric)
        remote_asked = any(k.startswith(REMOTE_PREFIX) for k in keys)
        eligible = [
            dims
            for dims in by_set
            if keys <= dims and (remote_asked or not any(d.startswith(REMOTE_PREFIX) for d in dims))
        ]
        if not eligible:
            sets = "; ".join(f"[{', '.join(sorted(d))}]" for d in sorted(by_set, key=sorted))
            raise QueryError(
                f"{what} is not published at a dimension set holding {', '.join(sorted(keys)) or 'the service'} "
                f"(sets: {sets}); dependency sets (Remote*) are read only when a Remote* key is grouped "
                "by or filtered on"
            )
        chosen = min(eligible, key=lambda dims: (len(dims), sorted(dims)))
        others = len(by_set) - 1
        if others:
            self._notes.add(
                "metrics",
                f"{what} read at dimensions [{', '.join(sorted(chosen))}] only; {others} other dimension "
                f"set{'s' if others > 1 else ''} hold the same requests counted again, not added",
            )
        return by_set[chosen]

    def _service_keys(self, metrics: list[dict[str, Any]]) -> set[str]:
        """The service dimension as named in these metrics (the first configured name present)."""
        for key in self._config.service_dimensions:
            if any(key in _dims(m) for m in metrics):
                return {key}
        return set()

    def query(self, query: MetricQuery) -> list[MetricSeries]:
        candidates = [
            m
            for m in self._list(query.name, query.window)
            if (query.service is None or self.service_of(m) == query.service)
            and all(self.attributes_of(m).get(k) == str(v) for k, v in query.attributes.items())
        ]
        if not candidates:
            known = sorted({d.name for d in self.list_metrics(query.service)})
            raise UnknownMetricError(query.name, query.service, known)
        groups: dict[tuple[Any, ...], list[dict[str, Any]]] = defaultdict(list)
        for metric in candidates:
            groups[(self.service_of(metric),)].append(metric)
        keys = set(query.attributes) | set(query.group_by)
        levelled: dict[tuple[Any, ...], list[dict[str, Any]]] = defaultdict(list)
        for (service,), metrics in groups.items():
            chosen = self.level(metrics, keys | self._service_keys(metrics), f"{query.name} of {service}")
            for metric in chosen:
                attrs = self.attributes_of(metric)
                levelled[(service, *(attrs.get(k) for k in query.group_by))].append(metric)
        if query.period_seconds < 60 or query.period_seconds % 60:
            self._notes.add(
                "metrics", f"period {query.period_seconds}s needs high-resolution metrics in CloudWatch"
            )
        plans = [_plan(i, metrics, query) for i, metrics in enumerate(levelled.values())]
        results = self._get_metric_data(plans, query)
        series = []
        for key, plan in zip(levelled, plans, strict=True):
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
        for metric in self._list(None, window):
            svc = self.service_of(metric)
            if self.has_service(metric) and (service is None or svc == service):
                groups[(str(metric["MetricName"]), svc)].append(metric)
        levelled: dict[tuple[str, str], list[dict[str, Any]]] = {}
        for (name, svc), metrics in groups.items():
            try:
                levelled[(name, svc)] = self.level(metrics, self._service_keys(metrics), f"{name} of {svc}")
            except QueryError:  # published per dependency only: not the service's own numbers
                continue
        if not levelled:
            return []
        keys = sorted(levelled)
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
        plans = [_plan(i, levelled[key], q) for i, (key, q) in enumerate(zip(keys, queries, strict=True))]
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
            for item in self._calls.pages(
                "cloudwatch:GetMetricData",
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


def _identity(metric: dict[str, Any]) -> tuple[Any, ...]:
    return (metric.get("Namespace"), metric.get("MetricName"), tuple(sorted(_dims(metric).items())))


def _dims(metric: dict[str, Any]) -> dict[str, str]:
    return {str(d["Name"]): str(d["Value"]) for d in metric.get("Dimensions") or []}


def _floor(moment: datetime, period_seconds: int) -> datetime:
    epoch = int(moment.timestamp())
    return datetime.fromtimestamp(epoch - epoch % period_seconds, tz=moment.tzinfo)
