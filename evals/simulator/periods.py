"""Coarser metrics: merge the recorder's one-minute points into periods of several minutes.

CloudWatch basic monitoring reports five-minute periods; a window of 10-15 minutes then holds two
or three points per series. Counters are summed, histograms merged, gauges averaged, except the
ones whose average would lie: a p99 keeps the period's worst minute, and limits, maxima and
restart counters keep their last value.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Protocol

import orjson

NS_PER_MIN = 60_000_000_000
MetricItem = tuple[int, dict[str, Any], str, dict[str, Any]]  # (resource id, resource, scope, metric)
LAST_VALUE = (
    "k8s.container.restarts",
    "process.memory.limit",
    "db.client.connection.max",
    "aws.dynamodb.provisioned_read_capacity",
)


class BatchWriter(Protocol):
    def write_batch(self, items: Iterable[MetricItem]) -> None: ...


def _merge_gauge(name: str, values: list[float]) -> float:
    if name.endswith(".p99"):
        return max(values)
    if name in LAST_VALUE:
        return values[-1]
    return sum(values) / len(values)


def _merge(name: str, points: list[dict[str, Any]], start_ns: int, end_ns: int) -> dict[str, Any]:
    first = points[0]
    out: dict[str, Any] = {}
    if "attributes" in first:
        out["attributes"] = first["attributes"]
    out["startTimeUnixNano"] = str(start_ns)
    out["timeUnixNano"] = str(end_ns)
    if "asInt" in first:
        out["asInt"] = str(sum(int(p["asInt"]) for p in points))
    elif "asDouble" in first:
        out["asDouble"] = round(_merge_gauge(name, [float(p["asDouble"]) for p in points]), 6)
    else:
        counts = [0] * len(first["bucketCounts"])
        for p in points:
            for i, c in enumerate(p["bucketCounts"]):
                counts[i] += int(c)
        out["count"] = str(sum(int(p["count"]) for p in points))
        out["sum"] = round(sum(float(p["sum"]) for p in points), 3)
        out["bucketCounts"] = [str(c) for c in counts]
        out["explicitBounds"] = first["explicitBounds"]
        lows = [p["min"] for p in points if "min" in p]
        highs = [p["max"] for p in points if "max" in p]
        if lows:
            out["min"] = min(lows)
            out["max"] = max(highs)
    return out


class PeriodWriter:
    """Takes one batch per minute (as :class:`MetricRecorder` writes them); writes one per period.

    A series with no point in some minute of a period (an operation nobody called) still reports
    the whole period: its point covers ``[period start, period end)`` like every other.
    """

    def __init__(
        self, writer: BatchWriter, minutes: int, start_ns: int, original_names: dict[str, str]
    ) -> None:
        self.writer = writer
        self.minutes = minutes
        self.original = original_names  # output name -> the name the merge rules know
        self._period_start = start_ns
        self._seen = 0  # minutes of the current period written so far
        # (resource id, metric name) -> (resource, scope, metric header, attributes key -> points)
        self._open: dict[
            tuple[int, str], tuple[dict[str, Any], str, dict[str, Any], dict[bytes, list[Any]]]
        ] = {}

    def write_batch(self, items: Iterable[MetricItem]) -> None:
        for rid, resource, scope, metric in items:
            key = (rid, metric["name"])
            slot = self._open.get(key)
            if slot is None:
                slot = self._open[key] = (resource, scope, metric, {})
            body = metric.get("histogram") or metric.get("sum") or metric["gauge"]
            for point in body["dataPoints"]:
                slot[3].setdefault(orjson.dumps(point.get("attributes", [])), []).append(point)
        self._seen += 1
        if self._seen == self.minutes:
            self.flush()

    def flush(self) -> None:
        """Write the current period (a shorter one at the end of the window) and start the next."""
        start, end = self._period_start, self._period_start + self._seen * NS_PER_MIN
        self._period_start, self._seen = end, 0
        if not self._open:
            return
        out: list[MetricItem] = []
        for (rid, name), (resource, scope, header, points) in self._open.items():
            original = self.original.get(name, name)
            merged = [_merge(original, series, start, end) for series in points.values()]
            metric = {k: v for k, v in header.items() if k not in ("histogram", "sum", "gauge")}
            for kind in ("histogram", "sum", "gauge"):
                if kind in header:
                    metric[kind] = {**header[kind], "dataPoints": merged}
            out.append((rid, resource, scope, metric))
        self._open = {}
        self.writer.write_batch(out)


def bucket_values(
    values: dict[tuple[str, str], dict[int, list[float]]], minutes: int
) -> dict[tuple[str, str], dict[int, list[float]]]:
    """Per-minute alarm inputs regrouped by period: each period holds its minutes' points."""
    out: dict[tuple[str, str], dict[int, list[float]]] = {}
    for key, per_minute in values.items():
        rows = out.setdefault(key, {})
        for minute, points in per_minute.items():
            rows.setdefault(minute // minutes, []).extend(points)
    return out
