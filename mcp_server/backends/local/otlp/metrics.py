"""Decode OTLP/JSON ``ExportMetricsServiceRequest`` lines into one row per data point."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mcp_server.backends.local.otlp.envelope import ColumnBuffer, Layout, Origin, decode_file, records
from mcp_server.backends.local.otlp.fields import (
    FieldError,
    as_list,
    attributes,
    check,
    dumps,
    enum,
    integer,
    known,
    number,
    text,
    unsigned,
)

METRIC_COLUMNS = (
    "name",
    "service",
    "kind",
    "unit",
    "description",
    "time_ns",
    "start_ns",
    "value",
    "attributes",
    "resource",
    "series_key",
    "host",
    "az",
    "temporality",
    "is_monotonic",
    "count",
    "sum",
    "min",
    "max",
    "explicit_bounds",
    "bucket_counts",
    "quantiles",
    "scope_name",
)

_METRIC = known(
    "name", "description", "unit", "metadata", "gauge", "sum", "histogram", "exponentialHistogram", "summary"
)
_DATA_KEYS = {
    "gauge": known("dataPoints"),
    "sum": known("dataPoints", "aggregationTemporality", "isMonotonic"),
    "histogram": known("dataPoints", "aggregationTemporality"),
    "exponentialHistogram": known("dataPoints", "aggregationTemporality"),
    "summary": known("dataPoints"),
}
_KIND_BY_KEY = {
    "gauge": "gauge",
    "sum": "sum",
    "histogram": "histogram",
    "exponentialHistogram": "exponential_histogram",
    "exponential_histogram": "exponential_histogram",
    "summary": "summary",
}
_NUMBER_POINT = known(
    "attributes", "startTimeUnixNano", "timeUnixNano", "asDouble", "asInt", "exemplars", "flags"
)
_HISTOGRAM_POINT = known(
    "attributes",
    "startTimeUnixNano",
    "timeUnixNano",
    "count",
    "sum",
    "bucketCounts",
    "explicitBounds",
    "exemplars",
    "flags",
    "min",
    "max",
)
_EXP_HISTOGRAM_POINT = known(
    "attributes",
    "startTimeUnixNano",
    "timeUnixNano",
    "count",
    "sum",
    "scale",
    "zeroCount",
    "positive",
    "negative",
    "flags",
    "exemplars",
    "min",
    "max",
    "zeroThreshold",
)
_QUANTILE = known("quantile", "value")
_SUMMARY_POINT = known(
    "attributes", "startTimeUnixNano", "timeUnixNano", "count", "sum", "quantileValues", "flags"
)
_TEMPORALITY_NAMES = {
    "AGGREGATION_TEMPORALITY_UNSPECIFIED": 0,
    "AGGREGATION_TEMPORALITY_DELTA": 1,
    "AGGREGATION_TEMPORALITY_CUMULATIVE": 2,
}
_LAYOUT = Layout(
    known("resourceMetrics"),
    "resourceMetrics",
    known("resource", "scopeMetrics", "schemaUrl"),
    "scopeMetrics",
    known("scope", "metrics", "schemaUrl"),
    "metrics",
)


def decode_metrics_file(
    path: Path, out: ColumnBuffer, byte_range: tuple[int, int] | None = None, first_line: int = 1
) -> None:
    decode_file(path, out, byte_range, first_line, _decode_request)


def series_key(name: str, service: str, attrs_json: str, resource_json: str) -> str:
    return f"{service}\x1f{name}\x1f{attrs_json}\x1f{resource_json}"


def _decode_request(request: dict[str, Any], out: ColumnBuffer) -> None:
    for origin, where, index, metric in records(request, _LAYOUT, out.stats):
        mwhere = f"{where}[{index}]"
        _decode_metric(check(metric, _METRIC, mwhere), mwhere, origin, out)


@dataclass
class _Point:
    """One data point's values, whichever kind of metric it belongs to."""

    value: float
    count: int | None = None
    total: float | None = None
    low: float | None = None
    high: float | None = None
    bounds: list[float] = field(default_factory=list)
    buckets: list[int] = field(default_factory=list)
    quantiles: dict[str, float] = field(default_factory=dict)


def _optional(point: dict[str, Any], key: str, where: str) -> float | None:
    return number(point[key], f"{where}.{key}") if point.get(key) is not None else None


def _mean(total: float, count: int) -> float:
    return total / count if count else 0.0


def _number_point(point: dict[str, Any], where: str) -> _Point:
    if point.get("asDouble") is not None:
        return _Point(number(point.get("asDouble"), f"{where}.asDouble"))
    if point.get("asInt") is not None:
        return _Point(float(integer(point.get("asInt"), f"{where}.asInt")))
    raise FieldError(where, "number data point needs asDouble or asInt")


def _histogram_point(point: dict[str, Any], where: str) -> _Point:
    count = unsigned(point.get("count"), f"{where}.count")
    total = number(point.get("sum", 0), f"{where}.sum")
    bounds = [
        number(b, f"{where}.explicitBounds")
        for b in as_list(point.get("explicitBounds"), f"{where}.explicitBounds")
    ]
    buckets = [
        unsigned(b, f"{where}.bucketCounts")
        for b in as_list(point.get("bucketCounts"), f"{where}.bucketCounts")
    ]
    if buckets and len(buckets) != len(bounds) + 1:
        raise FieldError(f"{where}.bucketCounts", "needs one more bucket count than explicitBounds")
    return _Point(
        _mean(total, count),
        count,
        total,
        _optional(point, "min", where),
        _optional(point, "max", where),
        bounds,
        buckets,
    )


def _exponential_point(point: dict[str, Any], where: str) -> _Point:
    count = unsigned(point.get("count"), f"{where}.count")
    total = number(point.get("sum", 0), f"{where}.sum")
    return _Point(
        _mean(total, count), count, total, _optional(point, "min", where), _optional(point, "max", where)
    )


def _summary_point(point: dict[str, Any], where: str) -> _Point:
    count = unsigned(point.get("count"), f"{where}.count")
    total = number(point.get("sum", 0), f"{where}.sum")
    quantiles: dict[str, float] = {}
    for qi, q in enumerate(as_list(point.get("quantileValues"), f"{where}.quantileValues")):
        qwhere = f"{where}.quantileValues[{qi}]"
        q = check(q, _QUANTILE, qwhere)
        quantiles[str(number(q.get("quantile", 0), f"{qwhere}.quantile"))] = number(
            q.get("value", 0), f"{qwhere}.value"
        )
    return _Point(_mean(total, count), count, total, quantiles=quantiles)


_POINTS = {
    "gauge": (_NUMBER_POINT, _number_point),
    "sum": (_NUMBER_POINT, _number_point),
    "histogram": (_HISTOGRAM_POINT, _histogram_point),
    "exponential_histogram": (_EXP_HISTOGRAM_POINT, _exponential_point),
    "summary": (_SUMMARY_POINT, _summary_point),
}


def _decode_metric(metric: dict[str, Any], where: str, origin: Origin, out: ColumnBuffer) -> None:
    name = metric.get("name")
    if not isinstance(name, str) or not name:
        raise FieldError(f"{where}.name", "metric needs a non-empty name")
    name = text(name, f"{where}.name")
    unit = text(metric.get("unit"), f"{where}.unit")
    description = text(metric.get("description"), f"{where}.description")
    data_keys = [key for key in metric if key in _KIND_BY_KEY]
    if len(data_keys) != 1:
        raise FieldError(
            where, "a metric holds exactly one of gauge, sum, histogram, exponentialHistogram, summary"
        )
    data_key = data_keys[0]
    camel = {"exponential_histogram": "exponentialHistogram"}.get(data_key, data_key)
    kind = _KIND_BY_KEY[data_key]
    dwhere = f"{where}.{data_key}"
    data = check(metric[data_key], _DATA_KEYS[camel], dwhere)
    temporality = enum(
        data.get("aggregationTemporality"), _TEMPORALITY_NAMES, f"{dwhere}.aggregationTemporality"
    )
    monotonic = bool(data.get("isMonotonic", False))
    point_keys, decode_point = _POINTS[kind]
    for pi, raw in enumerate(as_list(data.get("dataPoints"), f"{dwhere}.dataPoints")):
        pwhere = f"{dwhere}.dataPoints[{pi}]"
        point = check(raw, point_keys, pwhere)
        values = decode_point(point, pwhere)
        attrs_json = dumps(attributes(point.get("attributes"), f"{pwhere}.attributes"))
        out.append(
            (
                name,
                origin.service,
                kind,
                unit,
                description,
                unsigned(point.get("timeUnixNano"), f"{pwhere}.timeUnixNano"),
                unsigned(point.get("startTimeUnixNano"), f"{pwhere}.startTimeUnixNano"),
                values.value,
                attrs_json,
                origin.resource_json,
                series_key(name, origin.service, attrs_json, origin.resource_json),
                origin.host,
                origin.zone,
                temporality,
                monotonic,
                values.count,
                values.total,
                values.low,
                values.high,
                values.bounds,
                values.buckets,
                dumps(values.quantiles),
                origin.scope_name,
            )
        )
