"""ListMetrics and GetMetricData over stored datapoints, with the metric math the backend emits.

Moto stores metrics faithfully but its GetMetricData has no percentiles or metric math and its
ListMetrics is quadratic in datapoints, so scenario-sized tests read through this instead.
Supported math: ``SUM([...])``, ``MIN([...])``, ``MAX([...])``, ``a / b``, ``PERIOD(id)`` and
``ANOMALY_DETECTION_BAND(id, k)`` (the window's mean plus and minus k standard deviations, as
two results sharing the expression's id, labelled ``... High`` and ``... Low``).
"""

from __future__ import annotations

import re
from collections import defaultdict
from datetime import datetime
from typing import Any

from mcp_server.backends.aws.span_analysis import quantile
from mcp_server.backends.aws.testing.responders import AwsErrorResponse, Responders

MetricKey = tuple[str, str, tuple[tuple[str, str], ...]]


class FakeCloudWatchMetrics:
    def __init__(self) -> None:
        # key -> list of (epoch seconds, count, sum, min, max, value-for-percentiles)
        self.points: dict[MetricKey, list[tuple[float, float, float, float, float, float]]] = defaultdict(
            list
        )

    def put(self, namespace: str, datum: dict[str, Any]) -> None:
        dims = tuple(sorted((d["Name"], d["Value"]) for d in datum.get("Dimensions") or []))
        key = (namespace, datum["MetricName"], dims)
        when = datum["Timestamp"].timestamp()
        if "StatisticValues" in datum:
            s = datum["StatisticValues"]
            mean = s["Sum"] / s["SampleCount"]
            self.points[key].append((when, s["SampleCount"], s["Sum"], s["Minimum"], s["Maximum"], mean))
        else:
            v = float(datum["Value"])
            self.points[key].append((when, 1.0, v, v, v, v))

    def attach(self, responders: Responders) -> None:
        responders.on("ListMetrics", self._list).on("GetMetricData", self._get)

    def _list(self, params: dict[str, Any]) -> dict[str, Any]:
        wanted = {(d["Name"], d.get("Value")) for d in params.get("Dimensions") or []}
        metrics = []
        for namespace, name, dims in sorted(self.points):
            if params.get("Namespace") not in (None, namespace) or params.get("MetricName") not in (
                None,
                name,
            ):
                continue
            if any((n, v) not in dims and (v is not None or n not in dict(dims)) for n, v in wanted):
                continue
            metrics.append(
                {
                    "Namespace": namespace,
                    "MetricName": name,
                    "Dimensions": [{"Name": n, "Value": v} for n, v in dims],
                }
            )
        return {"Metrics": metrics}

    def _get(self, params: dict[str, Any]) -> dict[str, Any]:
        start: datetime = params["StartTime"]
        end: datetime = params["EndTime"]
        series: dict[str, dict[float, float]] = {}
        periods: dict[str, int] = {}
        queries = params["MetricDataQueries"]
        for query in queries:
            if "MetricStat" not in query:
                continue
            stat = query["MetricStat"]
            metric = stat["Metric"]
            key = (
                metric["Namespace"],
                metric["MetricName"],
                tuple(sorted((d["Name"], d["Value"]) for d in metric.get("Dimensions") or [])),
            )
            period = int(stat["Period"])
            periods[query["Id"]] = period
            buckets: dict[float, list[tuple[float, float, float, float, float, float]]] = defaultdict(list)
            for point in self.points.get(key, []):
                if start.timestamp() <= point[0] < end.timestamp():
                    offset = point[0] - start.timestamp()
                    buckets[start.timestamp() + (offset // period) * period].append(point)
            series[query["Id"]] = {t: _statistic(stat["Stat"], pts) for t, pts in buckets.items()}
        bands: dict[str, tuple[dict[float, float], dict[float, float]]] = {}
        for query in queries:
            if "Expression" not in query:
                continue
            band = re.fullmatch(r"ANOMALY_DETECTION_BAND\((\w+),\s*([\d.]+)\)", query["Expression"].strip())
            if band:
                bands[query["Id"]] = _band(series.get(band.group(1), {}), float(band.group(2)))
            else:
                series[query["Id"]] = _evaluate(query["Expression"], series, periods)
        results = []
        for query in queries:
            if not query.get("ReturnData", True):
                continue
            label = query.get("Label", query["Id"])
            parts = (
                [(f"{label} High", bands[query["Id"]][1]), (f"{label} Low", bands[query["Id"]][0])]
                if query["Id"] in bands
                else [(label, series.get(query["Id"], {}))]
            )
            for part_label, values in parts:
                times = sorted(values)
                results.append(
                    {
                        "Id": query["Id"],
                        "Label": part_label,
                        "Timestamps": [datetime.fromtimestamp(t, tz=start.tzinfo) for t in times],
                        "Values": [values[t] for t in times],
                        "StatusCode": "Complete",
                    }
                )
        return {"MetricDataResults": results, "Messages": []}


def _band(values: dict[float, float], width: float) -> tuple[dict[float, float], dict[float, float]]:
    if not values:
        return {}, {}
    mean = sum(values.values()) / len(values)
    spread = (sum((v - mean) ** 2 for v in values.values()) / len(values)) ** 0.5
    return {t: mean - width * spread for t in values}, {t: mean + width * spread for t in values}


def _statistic(stat: str, points: list[tuple[float, float, float, float, float, float]]) -> float:
    count = sum(p[1] for p in points)
    total = sum(p[2] for p in points)
    if stat == "Average":
        return total / count
    if stat == "Sum":
        return total
    if stat == "SampleCount":
        return count
    if stat == "Minimum":
        return min(p[3] for p in points)
    if stat == "Maximum":
        return max(p[4] for p in points)
    match = re.fullmatch(r"p(\d+(?:\.\d+)?)", stat)
    if match:
        return quantile([p[5] for p in points], float(match.group(1)) / 100) or 0.0
    raise AwsErrorResponse("InvalidParameterValue", f"unsupported statistic {stat}")


def _evaluate(
    text: str, series: dict[str, dict[float, float]], periods: dict[str, int]
) -> dict[float, float]:
    text = text.strip()
    if "/" in text:
        left, _, right = text.rpartition("/")
        numerator = _evaluate(left, series, periods)
        period = re.fullmatch(r"PERIOD\((\w+)\)", right.strip())
        if period:
            seconds = periods[period.group(1)]
            return {t: v / seconds for t, v in numerator.items()}
        denominator = _evaluate(right, series, periods)
        return {t: v / denominator[t] for t, v in numerator.items() if denominator.get(t)}
    match = re.fullmatch(r"(SUM|MIN|MAX)\(\[([\w,\s]+)\]\)", text)
    if match:
        members = [series.get(i.strip(), {}) for i in match.group(2).split(",")]
        times = sorted({t for m in members for t in m})
        combined: dict[float, float] = {}
        for t in times:
            values = [m[t] for m in members if t in m]
            combined[t] = {"SUM": sum(values), "MIN": min(values), "MAX": max(values)}[match.group(1)]
        return combined
    if text in series:
        return series[text]
    raise AwsErrorResponse("ValidationError", f"unsupported expression {text!r}")
