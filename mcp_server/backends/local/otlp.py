"""Decode OTLP/JSON (the OpenTelemetry Collector file exporter format) into column buffers.

OTLP/JSON is not protobuf's canonical JSON: trace and span ids are lowercase hex, enums are
integers (names are accepted too), 64-bit integers may be decimal strings, and field names are
lowerCamelCase (snake_case is accepted as protobuf parsers do). Unknown fields are errors, so a
file in the wrong format is caught instead of half-read.

Decoding is hand-written rather than pydantic-per-span because import throughput matters
(see ``evals/bench/import_throughput.py``); every error names file, line and field.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson
import pyarrow as pa

from mcp_server.errors import InputFileError
from mcp_server.telemetry import Severity, span_is_error, span_peer

UNKNOWN_SERVICE = "unknown_service"
_SEVERITY_BY_NUMBER = [Severity.from_number(number) for number in range(25)]
_HEX = re.compile(r"[0-9a-fA-F]+")


class _FieldError(Exception):
    """A problem at ``field``, a path relative to where it was raised; callers prefix their part."""

    def __init__(self, field: str, problem: str) -> None:
        self.field = field
        self.problem = problem

    def under(self, prefix: str) -> _FieldError:
        if not prefix:
            return self
        if not self.field:
            self.field = prefix
        elif self.field.startswith("["):
            self.field = prefix + self.field
        else:
            self.field = f"{prefix}.{self.field}"
        return self


def _known(*camel: str) -> frozenset[str]:
    return frozenset(camel)


_CAMEL_BY_SNAKE: dict[str, str] = {}


def _check(obj: Any, known: frozenset[str], where: str) -> dict[str, Any]:
    """``obj`` as a dict with lowerCamelCase keys; unknown fields are errors.

    snake_case field names (which protobuf JSON parsers accept) are renamed on a slow path, so
    the common all-camelCase object costs one subset test.
    """
    if not isinstance(obj, dict):
        raise _FieldError(where, f"expected an object, got {type(obj).__name__}")
    if obj.keys() <= known:  # a subset test allocates nothing, unlike a difference
        return obj
    renamed: dict[str, Any] = {}
    for key, value in obj.items():
        if key not in known:
            camel = _CAMEL_BY_SNAKE.get(key) or re.sub(r"_([a-z])", lambda m: m.group(1).upper(), key)
            if camel not in known:
                raise _FieldError(f"{where}.{key}" if where else key, "unknown OTLP field")
            _CAMEL_BY_SNAKE[key] = camel
            key = camel
        renamed[key] = value
    return renamed


def _list(value: Any, where: str) -> list[Any]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise _FieldError(where, f"expected a list, got {type(value).__name__}")
    return value


def _int(value: Any, where: str) -> int:
    if type(value) is str:  # the OTLP/JSON form of 64-bit integers, so the commonest by far
        try:
            return int(value)
        except ValueError:
            raise _FieldError(where, f"expected an integer (decimal string), got {value!r}") from None
    if value is None:
        return 0
    if isinstance(value, bool):
        raise _FieldError(where, "expected an integer, got a boolean")
    if isinstance(value, int):
        return value
    if isinstance(value, str):
        try:
            return int(value)
        except ValueError:
            raise _FieldError(where, f"expected an integer (decimal string), got {value!r}") from None
    if isinstance(value, float) and value.is_integer():
        return int(value)
    raise _FieldError(where, f"expected an integer, got {value!r}")


def _float(value: Any, where: str) -> float:
    if isinstance(value, bool):
        raise _FieldError(where, "expected a number, got a boolean")
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):  # "NaN", "Infinity" and decimal strings are legal in proto JSON
        try:
            return float(value)
        except ValueError:
            pass
    raise _FieldError(where, f"expected a number, got {value!r}")


def _hex_id(value: Any, length: int, where: str) -> str | None:
    if type(value) is str and len(value) == length and _HEX.fullmatch(value):
        return value.lower()
    if value in (None, ""):
        return None
    if not isinstance(value, str):
        raise _FieldError(where, f"expected a hex string, got {type(value).__name__}")
    if len(value) == length and _HEX.fullmatch(value):
        return value.lower()
    # Protobuf's canonical JSON writes bytes as base64; accept it and convert, since some
    # exporters (and MessageToJson) produce it.
    try:
        raw = base64.b64decode(value, validate=True)
    except ValueError:
        raw = b""
    if len(raw) * 2 == length:
        return raw.hex()
    raise _FieldError(where, f"expected {length} lowercase hex characters, got {value!r}")


_ANY_VALUE_KEYS = _known(
    "stringValue", "boolValue", "intValue", "doubleValue", "arrayValue", "kvlistValue", "bytesValue"
)


def any_value(value: Any, where: str = "") -> Any:
    """Decode an OTLP ``AnyValue`` into plain Python."""
    if not isinstance(value, dict):
        raise _FieldError(where, 'expected an AnyValue object like {"stringValue": ...}')
    if not value:
        return None
    if len(value) > 1 or not value.keys() <= _ANY_VALUE_KEYS:
        value = _check(value, _ANY_VALUE_KEYS, where)
        if len(value) > 1:
            raise _FieldError(where, "an AnyValue holds exactly one of stringValue, intValue, ...")
    key, inner = next(iter(value.items()))
    if key == "stringValue":
        if not isinstance(inner, str):
            raise _FieldError(key, "expected a string").under(where)
        return inner
    try:
        if key == "intValue":
            return _int(inner, "")
        if key == "doubleValue":
            return _float(inner, "")
        if key == "boolValue":
            if not isinstance(inner, bool):
                raise _FieldError("", "expected true or false")
            return inner
        if key == "arrayValue":
            values = (inner or {}).get("values") or []
            result = []
            for i, item in enumerate(values):
                try:
                    result.append(any_value(item))
                except _FieldError as exc:
                    raise exc.under(f"values[{i}]") from None
            return result
        if key == "kvlistValue":
            return attributes((inner or {}).get("values") or [], "values")
    except _FieldError as exc:
        raise exc.under(key).under(where) from None
    return inner  # bytesValue: keep the base64 text


def attributes(items: Any, where: str = "") -> dict[str, Any]:
    """Decode a ``repeated KeyValue`` list."""
    if items is None:
        return {}
    if not isinstance(items, list):
        raise _FieldError(where, "expected a list of {key, value}")
    result: dict[str, Any] = {}
    for i, item in enumerate(items):
        if not isinstance(item, dict) or "key" not in item:
            raise _FieldError(f"[{i}]", 'expected {"key": ..., "value": {...}}').under(where)
        value = item.get("value")
        if value is None:
            result[str(item["key"])] = None
            continue
        # Fast path for the two commonest shapes; everything else (and every error) goes through
        # any_value. Saves a call per attribute, which is most of an import's time.
        text = value.get("stringValue") if type(value) is dict and len(value) == 1 else None
        if type(text) is str:
            result[str(item["key"])] = text
            continue
        number = value.get("intValue") if type(value) is dict and len(value) == 1 else None
        if type(number) is str and number.isdigit():
            result[str(item["key"])] = int(number)
            continue
        try:
            result[str(item["key"])] = any_value(value)
        except _FieldError as exc:
            raise exc.under(f"[{i}].value").under(where) from None
    return result


_SPAN_KIND_NAMES = {
    "SPAN_KIND_UNSPECIFIED": 0,
    "SPAN_KIND_INTERNAL": 1,
    "SPAN_KIND_SERVER": 2,
    "SPAN_KIND_CLIENT": 3,
    "SPAN_KIND_PRODUCER": 4,
    "SPAN_KIND_CONSUMER": 5,
}
_STATUS_NAMES = {"STATUS_CODE_UNSET": 0, "STATUS_CODE_OK": 1, "STATUS_CODE_ERROR": 2}
_TEMPORALITY_NAMES = {
    "AGGREGATION_TEMPORALITY_UNSPECIFIED": 0,
    "AGGREGATION_TEMPORALITY_DELTA": 1,
    "AGGREGATION_TEMPORALITY_CUMULATIVE": 2,
}


def _enum(value: Any, names: dict[str, int], where: str) -> int:
    if value is None:
        return 0
    if isinstance(value, str) and value in names:
        return names[value]
    number = _int(value, where)
    if number not in names.values():
        raise _FieldError(where, f"unknown enum value {value!r}; expected one of {sorted(names.values())}")
    return number


def _severity_number(value: Any, where: str) -> int:
    if type(value) is int and 0 <= value <= 24:
        return value
    if isinstance(value, str) and value.startswith("SEVERITY_NUMBER_"):
        name = value.removeprefix("SEVERITY_NUMBER_")
        base = {"TRACE": 1, "DEBUG": 5, "INFO": 9, "WARN": 13, "ERROR": 17, "FATAL": 21}
        for prefix, start in base.items():
            if name.startswith(prefix):
                suffix = name.removeprefix(prefix)
                return start + (int(suffix) - 1 if suffix else 0)
        return 0
    number = _int(value, where)
    if not 0 <= number <= 24:
        raise _FieldError(where, f"severityNumber must be 0..24, got {number}")
    return number


def _dumps(value: Any) -> str:
    return orjson.dumps(value).decode() if value else "{}"


def _dumps_list(value: list[Any]) -> str:
    return orjson.dumps(value).decode() if value else "[]"


_RESOURCE_KEYS = _known("attributes", "droppedAttributesCount", "entityRefs")
_SCOPE_KEYS = _known("name", "version", "attributes", "droppedAttributesCount")


def _resource(obj: Any, where: str) -> dict[str, Any]:
    if obj is None:
        return {}
    obj = _check(obj, _RESOURCE_KEYS, where)
    return attributes(obj.get("attributes"), f"{where}.attributes")


def _scope(obj: Any, where: str) -> tuple[str, str]:
    if obj is None:
        return "", ""
    obj = _check(obj, _SCOPE_KEYS, where)
    return str(obj.get("name", "") or ""), str(obj.get("version", "") or "")


def resource_service(resource: dict[str, Any]) -> str:
    name = resource.get("service.name")
    return str(name) if name not in (None, "") else UNKNOWN_SERVICE


def resource_host(resource: dict[str, Any]) -> str | None:
    for key in ("host.name", "k8s.pod.name", "host.id", "service.instance.id"):
        value = resource.get(key)
        if value not in (None, ""):
            return str(value)
    return None


def resource_zone(resource: dict[str, Any]) -> str | None:
    for key in ("cloud.availability_zone", "cloud.zone"):
        value = resource.get(key)
        if value not in (None, ""):
            return str(value)
    return None


# ------------------------------------------------------------------------------------ buffers


@dataclass
class ColumnBuffer:
    """Rows ready for one bulk insert: decoded here as tuples, or decoded elsewhere as Arrow tables."""

    columns: tuple[str, ...]
    rows: list[tuple[Any, ...]] = field(default_factory=list)
    tables: list[pa.Table] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.rows) + sum(table.num_rows for table in self.tables)

    def append(self, row: tuple[Any, ...]) -> None:
        self.rows.append(row)

    def to_arrow(self, schema: pa.Schema) -> pa.Table:
        parts = list(self.tables)
        if self.rows or not parts:
            columns = zip(*self.rows, strict=True) if self.rows else ([] for _ in self.columns)
            parts.append(pa.table(dict(zip(self.columns, map(list, columns), strict=True)), schema=schema))
        return pa.concat_tables(parts) if len(parts) > 1 else parts[0]


SPAN_COLUMNS = (
    "trace_id",
    "span_id",
    "parent_span_id",
    "service",
    "operation",
    "kind",
    "start_ns",
    "end_ns",
    "status_code",
    "status_message",
    "is_error",
    "http_status",
    "peer",
    "host",
    "az",
    "exception_type",
    "exception_message",
    "attributes",
    "resource",
    "events",
    "links",
    "trace_state",
    "flags",
    "scope_name",
    "scope_version",
)

LOG_COLUMNS = (
    "time_ns",
    "observed_ns",
    "service",
    "severity",
    "severity_number",
    "severity_text",
    "body",
    "trace_id",
    "span_id",
    "host",
    "az",
    "attributes",
    "resource",
    "scope_name",
    "flags",
    "event_name",
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


def _lines(
    path: Path, byte_range: tuple[int, int] | None = None, first_line: int = 1
) -> Iterator[tuple[int, dict[str, Any]]]:
    """JSON objects, one per line, with their line numbers; optionally only a byte range of the file."""
    try:
        handle = path.open("rb")
    except OSError as exc:
        raise InputFileError(path, None, None, f"cannot read: {exc.strerror}") from None
    with handle:
        if byte_range is None:
            raw_lines: Iterator[bytes] | list[bytes] = handle
        else:
            handle.seek(byte_range[0])
            raw_lines = handle.read(byte_range[1] - byte_range[0]).splitlines()
        for number, raw in enumerate(raw_lines, start=first_line):
            if not raw.strip():
                continue
            try:
                obj = orjson.loads(raw)
            except orjson.JSONDecodeError as exc:
                raise InputFileError(path, number, None, f"not valid JSON: {exc}") from None
            if not isinstance(obj, dict):
                raise InputFileError(path, number, None, "expected one JSON object per line")
            yield number, obj


# ----------------------------------------------------------------- resource / scope / records


@dataclass(frozen=True)
class _Layout:
    """Where the records sit in one kind of OTLP export request."""

    resources: str  # resourceSpans
    resource_keys: frozenset[str]
    scopes: str  # scopeSpans
    scope_keys: frozenset[str]
    records: str  # spans


@dataclass(frozen=True)
class Origin:
    """What every record of one resource and scope shares."""

    service: str
    host: str | None
    zone: str | None
    resource_json: str
    scope_name: str
    scope_version: str


def _records(
    request: dict[str, Any], top_keys: frozenset[str], layout: _Layout
) -> Iterator[tuple[Origin, str, int, Any]]:
    """Each record with its origin; the path is built per scope so records cost no string work."""
    request = _check(request, top_keys, "")
    for ri, rs in enumerate(_list(request.get(layout.resources), layout.resources)):
        rwhere = f"{layout.resources}[{ri}]"
        rs = _check(rs, layout.resource_keys, rwhere)
        resource = _resource(rs.get("resource"), f"{rwhere}.resource")
        host, zone, resource_json = resource_host(resource), resource_zone(resource), _dumps(resource)
        for si, ss in enumerate(_list(rs.get(layout.scopes), f"{rwhere}.{layout.scopes}")):
            swhere = f"{rwhere}.{layout.scopes}[{si}]"
            ss = _check(ss, layout.scope_keys, swhere)
            scope_name, scope_version = _scope(ss.get("scope"), f"{swhere}.scope")
            origin = Origin(resource_service(resource), host, zone, resource_json, scope_name, scope_version)
            records_where = f"{swhere}.{layout.records}"
            for index, record in enumerate(_list(ss.get(layout.records), records_where)):
                yield origin, records_where, index, record


def _decode_file(
    path: Path,
    out: ColumnBuffer,
    byte_range: tuple[int, int] | None,
    first_line: int,
    decode_request: Callable[[dict[str, Any], ColumnBuffer], None],
) -> None:
    for number, request in _lines(path, byte_range, first_line):
        try:
            decode_request(request, out)
        except _FieldError as exc:
            raise InputFileError(path, number, exc.field, exc.problem) from None


# ------------------------------------------------------------------------------------- traces

_TRACES_REQUEST = _known("resourceSpans")
_RESOURCE_SPANS = _known("resource", "scopeSpans", "schemaUrl")
_SCOPE_SPANS = _known("scope", "spans", "schemaUrl")
_SPAN = _known(
    "traceId",
    "spanId",
    "traceState",
    "parentSpanId",
    "flags",
    "name",
    "kind",
    "startTimeUnixNano",
    "endTimeUnixNano",
    "attributes",
    "droppedAttributesCount",
    "events",
    "droppedEventsCount",
    "links",
    "droppedLinksCount",
    "status",
)
_EVENT = _known("timeUnixNano", "name", "attributes", "droppedAttributesCount")
_LINK = _known("traceId", "spanId", "traceState", "attributes", "droppedAttributesCount", "flags")
_STATUS = _known("message", "code")


_TRACES_LAYOUT = _Layout("resourceSpans", _RESOURCE_SPANS, "scopeSpans", _SCOPE_SPANS, "spans")


def decode_traces_file(
    path: Path, out: ColumnBuffer, byte_range: tuple[int, int] | None = None, first_line: int = 1
) -> None:
    _decode_file(path, out, byte_range, first_line, _decode_traces_request)


def _decode_traces_request(request: dict[str, Any], out: ColumnBuffer) -> None:
    for origin, where, index, span in _records(request, _TRACES_REQUEST, _TRACES_LAYOUT):
        try:
            out.append(_decode_span(span, origin))
        except _FieldError as exc:
            raise exc.under(f"{where}[{index}]") from None


def _decode_span(span: Any, origin: Origin) -> tuple[Any, ...]:
    span = _check(span, _SPAN, "")
    trace_id = _hex_id(span.get("traceId"), 32, "traceId")
    span_id = _hex_id(span.get("spanId"), 16, "spanId")
    if trace_id is None:
        raise _FieldError("traceId", "missing trace id")
    if span_id is None:
        raise _FieldError("spanId", "missing span id")
    parent = _hex_id(span.get("parentSpanId"), 16, "parentSpanId")
    kind = _enum(span.get("kind"), _SPAN_KIND_NAMES, "kind")
    start = _int(span.get("startTimeUnixNano"), "startTimeUnixNano")
    end = _int(span.get("endTimeUnixNano"), "endTimeUnixNano")
    if end < start:
        raise _FieldError("endTimeUnixNano", "span ends before it starts")
    attrs = attributes(span.get("attributes"), "attributes")
    status = span.get("status") or {}
    status = _check(status, _STATUS, "status")
    status_code = _enum(status.get("code"), _STATUS_NAMES, "status.code")
    status_message = str(status.get("message", "") or "")
    events = []
    exception_type = exception_message = None
    for ei, event in enumerate(_list(span.get("events"), "events")):
        try:
            event = _check(event, _EVENT, "")
            name = str(event.get("name", "") or "")
            eattrs = attributes(event.get("attributes"), "attributes")
            events.append(
                {
                    "name": name,
                    "time_unix_nano": _int(event.get("timeUnixNano"), "timeUnixNano"),
                    "attributes": eattrs,
                }
            )
        except _FieldError as exc:
            raise exc.under(f"events[{ei}]") from None
        if name == "exception" and exception_type is None:
            exception_type = eattrs.get("exception.type")
            exception_message = eattrs.get("exception.message")
    links = []
    for li, link in enumerate(_list(span.get("links"), "links")):
        try:
            link = _check(link, _LINK, "")
            links.append(
                {
                    "trace_id": _hex_id(link.get("traceId"), 32, "traceId") or "",
                    "span_id": _hex_id(link.get("spanId"), 16, "spanId") or "",
                    "attributes": attributes(link.get("attributes"), "attributes"),
                }
            )
        except _FieldError as exc:
            raise exc.under(f"links[{li}]") from None
    is_error = span_is_error(status_code, kind, attrs, [str(e["name"]) for e in events])
    http_status = attrs.get("http.response.status_code", attrs.get("http.status_code"))
    try:
        http_status = int(http_status) if http_status is not None else None
    except (TypeError, ValueError):
        http_status = None
    return (
        trace_id,
        span_id,
        parent,
        origin.service,
        str(span.get("name", "") or ""),
        kind,
        start,
        end,
        status_code,
        status_message,
        is_error,
        http_status,
        span_peer(kind, attrs),
        origin.host,
        origin.zone,
        None if exception_type is None else str(exception_type),
        None if exception_message is None else str(exception_message),
        _dumps(attrs),
        origin.resource_json,
        _dumps_list(events),
        _dumps_list(links),
        str(span.get("traceState", "") or ""),
        _int(span.get("flags"), "flags"),
        origin.scope_name,
        origin.scope_version,
    )


# --------------------------------------------------------------------------------------- logs

_LOGS_REQUEST = _known("resourceLogs")
_RESOURCE_LOGS = _known("resource", "scopeLogs", "schemaUrl")
_SCOPE_LOGS = _known("scope", "logRecords", "schemaUrl")
_LOG_RECORD = _known(
    "timeUnixNano",
    "observedTimeUnixNano",
    "severityNumber",
    "severityText",
    "body",
    "attributes",
    "droppedAttributesCount",
    "flags",
    "traceId",
    "spanId",
    "eventName",
)


_LOGS_LAYOUT = _Layout("resourceLogs", _RESOURCE_LOGS, "scopeLogs", _SCOPE_LOGS, "logRecords")


def decode_logs_file(
    path: Path, out: ColumnBuffer, byte_range: tuple[int, int] | None = None, first_line: int = 1
) -> None:
    _decode_file(path, out, byte_range, first_line, _decode_logs_request)


def _decode_logs_request(request: dict[str, Any], out: ColumnBuffer) -> None:
    for origin, where, index, record in _records(request, _LOGS_REQUEST, _LOGS_LAYOUT):
        try:
            out.append(_decode_log(record, origin))
        except _FieldError as exc:
            raise exc.under(f"{where}[{index}]") from None


def _decode_log(record: Any, origin: Origin) -> tuple[Any, ...]:
    record = _check(record, _LOG_RECORD, "")
    time_ns = _int(record.get("timeUnixNano"), "timeUnixNano")
    observed = _int(record.get("observedTimeUnixNano"), "observedTimeUnixNano")
    if time_ns == 0:
        time_ns = observed  # the spec's rule: use the observed time when the event time is unknown
    if time_ns == 0:
        raise _FieldError("timeUnixNano", "log record has neither timeUnixNano nor observedTimeUnixNano")
    number = _severity_number(record.get("severityNumber"), "severityNumber")
    text = str(record.get("severityText", "") or "")
    severity = _SEVERITY_BY_NUMBER[number] if number else Severity.from_text(text)
    body_raw = record.get("body")
    plain = body_raw.get("stringValue") if type(body_raw) is dict and len(body_raw) == 1 else None
    if type(plain) is str:
        body: Any = plain
    else:
        body = any_value(body_raw, "body") if body_raw is not None else ""
    if not isinstance(body, str):
        body = orjson.dumps(body).decode()
    return (
        time_ns,
        observed,
        origin.service,
        severity.value,
        number,
        text,
        body,
        _hex_id(record.get("traceId"), 32, "traceId"),
        _hex_id(record.get("spanId"), 16, "spanId"),
        origin.host,
        origin.zone,
        _dumps(attributes(record.get("attributes"), "attributes")),
        origin.resource_json,
        origin.scope_name,
        _int(record.get("flags"), "flags"),
        str(record.get("eventName", "") or ""),
    )


# ------------------------------------------------------------------------------------ metrics

_METRICS_REQUEST = _known("resourceMetrics")
_RESOURCE_METRICS = _known("resource", "scopeMetrics", "schemaUrl")
_SCOPE_METRICS = _known("scope", "metrics", "schemaUrl")
_METRIC = _known(
    "name", "description", "unit", "metadata", "gauge", "sum", "histogram", "exponentialHistogram", "summary"
)
_DATA_KEYS = {
    "gauge": _known("dataPoints"),
    "sum": _known("dataPoints", "aggregationTemporality", "isMonotonic"),
    "histogram": _known("dataPoints", "aggregationTemporality"),
    "exponentialHistogram": _known("dataPoints", "aggregationTemporality"),
    "summary": _known("dataPoints"),
}
_KIND_BY_KEY = {
    "gauge": "gauge",
    "sum": "sum",
    "histogram": "histogram",
    "exponentialHistogram": "exponential_histogram",
    "exponential_histogram": "exponential_histogram",
    "summary": "summary",
}
_NUMBER_POINT = _known(
    "attributes", "startTimeUnixNano", "timeUnixNano", "asDouble", "asInt", "exemplars", "flags"
)
_HISTOGRAM_POINT = _known(
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
_EXP_HISTOGRAM_POINT = _known(
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
_QUANTILE = _known("quantile", "value")
_SUMMARY_POINT = _known(
    "attributes", "startTimeUnixNano", "timeUnixNano", "count", "sum", "quantileValues", "flags"
)


_METRICS_LAYOUT = _Layout("resourceMetrics", _RESOURCE_METRICS, "scopeMetrics", _SCOPE_METRICS, "metrics")


def decode_metrics_file(
    path: Path, out: ColumnBuffer, byte_range: tuple[int, int] | None = None, first_line: int = 1
) -> None:
    _decode_file(path, out, byte_range, first_line, _decode_metrics_request)


def series_key(name: str, service: str, attrs_json: str, resource_json: str) -> str:
    return f"{service}\x1f{name}\x1f{attrs_json}\x1f{resource_json}"


def _decode_metrics_request(request: dict[str, Any], out: ColumnBuffer) -> None:
    for origin, where, index, metric in _records(request, _METRICS_REQUEST, _METRICS_LAYOUT):
        mwhere = f"{where}[{index}]"
        _decode_metric(_check(metric, _METRIC, mwhere), mwhere, origin, out)


def _decode_metric(metric: dict[str, Any], where: str, origin: Origin, out: ColumnBuffer) -> None:
    name = metric.get("name")
    if not isinstance(name, str) or not name:
        raise _FieldError(f"{where}.name", "metric needs a non-empty name")
    unit = str(metric.get("unit", "") or "")
    description = str(metric.get("description", "") or "")
    data_keys = [key for key in metric if key in _KIND_BY_KEY]
    if len(data_keys) != 1:
        raise _FieldError(
            where, "a metric holds exactly one of gauge, sum, histogram, exponentialHistogram, summary"
        )
    data_key = data_keys[0]
    camel = {"exponential_histogram": "exponentialHistogram"}.get(data_key, data_key)
    kind = _KIND_BY_KEY[data_key]
    dwhere = f"{where}.{data_key}"
    data = _check(metric[data_key], _DATA_KEYS[camel], dwhere)
    temporality = _enum(
        data.get("aggregationTemporality"), _TEMPORALITY_NAMES, f"{dwhere}.aggregationTemporality"
    )
    monotonic = bool(data.get("isMonotonic", False))
    for pi, point in enumerate(_list(data.get("dataPoints"), f"{dwhere}.dataPoints")):
        pwhere = f"{dwhere}.dataPoints[{pi}]"
        count = total = low = high = None
        bounds: list[float] = []
        buckets: list[int] = []
        quantiles: dict[str, float] = {}
        if kind in ("gauge", "sum"):
            point = _check(point, _NUMBER_POINT, pwhere)
            if point.get("asDouble") is not None:
                value = _float(point.get("asDouble"), f"{pwhere}.asDouble")
            elif point.get("asInt") is not None:
                value = float(_int(point.get("asInt"), f"{pwhere}.asInt"))
            else:
                raise _FieldError(pwhere, "number data point needs asDouble or asInt")
        elif kind == "histogram":
            point = _check(point, _HISTOGRAM_POINT, pwhere)
            count = _int(point.get("count"), f"{pwhere}.count")
            total = _float(point.get("sum", 0), f"{pwhere}.sum")
            bounds = [
                _float(b, f"{pwhere}.explicitBounds")
                for b in _list(point.get("explicitBounds"), f"{pwhere}.explicitBounds")
            ]
            buckets = [
                _int(b, f"{pwhere}.bucketCounts")
                for b in _list(point.get("bucketCounts"), f"{pwhere}.bucketCounts")
            ]
            if buckets and len(buckets) != len(bounds) + 1:
                raise _FieldError(f"{pwhere}.bucketCounts", "needs one more bucket count than explicitBounds")
            low = _float(point.get("min"), f"{pwhere}.min") if point.get("min") is not None else None
            high = _float(point.get("max"), f"{pwhere}.max") if point.get("max") is not None else None
            value = total / count if count else 0.0
        elif kind == "exponential_histogram":
            point = _check(point, _EXP_HISTOGRAM_POINT, pwhere)
            count = _int(point.get("count"), f"{pwhere}.count")
            total = _float(point.get("sum", 0), f"{pwhere}.sum")
            low = _float(point.get("min"), f"{pwhere}.min") if point.get("min") is not None else None
            high = _float(point.get("max"), f"{pwhere}.max") if point.get("max") is not None else None
            value = total / count if count else 0.0
        else:
            point = _check(point, _SUMMARY_POINT, pwhere)
            count = _int(point.get("count"), f"{pwhere}.count")
            total = _float(point.get("sum", 0), f"{pwhere}.sum")
            for qi, q in enumerate(_list(point.get("quantileValues"), f"{pwhere}.quantileValues")):
                q = _check(q, _QUANTILE, f"{pwhere}.quantileValues[{qi}]")
                quantiles[str(_float(q.get("quantile", 0), f"{pwhere}.quantileValues[{qi}].quantile"))] = (
                    _float(q.get("value", 0), f"{pwhere}.quantileValues[{qi}].value")
                )
            value = total / count if count else 0.0
        attrs_json = _dumps(attributes(point.get("attributes"), f"{pwhere}.attributes"))
        out.append(
            (
                name,
                origin.service,
                kind,
                unit,
                description,
                _int(point.get("timeUnixNano"), f"{pwhere}.timeUnixNano"),
                _int(point.get("startTimeUnixNano"), f"{pwhere}.startTimeUnixNano"),
                value,
                attrs_json,
                origin.resource_json,
                series_key(name, origin.service, attrs_json, origin.resource_json),
                origin.host,
                origin.zone,
                temporality,
                monotonic,
                count,
                total,
                low,
                high,
                bounds,
                buckets,
                _dumps(quantiles),
                origin.scope_name,
            )
        )
