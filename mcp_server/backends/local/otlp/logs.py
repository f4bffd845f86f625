"""Decode OTLP/JSON ``ExportLogsServiceRequest`` lines into log rows."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson

from mcp_server.backends.local.otlp.envelope import ColumnBuffer, Layout, Origin, decode_file, row_per_record
from mcp_server.backends.local.otlp.fields import (
    MAX_STRING,
    UINT32_MAX,
    FieldError,
    any_value,
    attributes,
    check,
    dumps,
    hex_id,
    integer,
    known,
    show,
    text,
    unsigned,
)
from mcp_server.telemetry import Severity

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

_LOG_RECORD = known(
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
_LAYOUT = Layout(
    known("resourceLogs"),
    "resourceLogs",
    known("resource", "scopeLogs", "schemaUrl"),
    "scopeLogs",
    known("scope", "logRecords", "schemaUrl"),
    "logRecords",
)
_SEVERITY_BY_NUMBER = [Severity.from_number(number).value for number in range(25)]
# The SeverityNumber enum's names: SEVERITY_NUMBER_UNSPECIFIED = 0, TRACE = 1, TRACE2..TRACE4,
# DEBUG = 5, ... FATAL4 = 24.
_SEVERITY_NAMES = {"SEVERITY_NUMBER_UNSPECIFIED": 0} | {
    f"SEVERITY_NUMBER_{level}{'' if step == 1 else step}": start + step - 1
    for level, start in (("TRACE", 1), ("DEBUG", 5), ("INFO", 9), ("WARN", 13), ("ERROR", 17), ("FATAL", 21))
    for step in range(1, 5)
}


def decode_logs_file(
    path: Path, out: ColumnBuffer, byte_range: tuple[int, int] | None = None, first_line: int = 1
) -> None:
    decode_file(path, out, byte_range, first_line, _decode_request)


def severity_number(value: Any, where: str) -> int:
    if type(value) is int and 0 <= value <= 24:
        return value
    if isinstance(value, str) and value.startswith("SEVERITY_NUMBER_"):
        number = _SEVERITY_NAMES.get(value)
        if number is None:
            raise FieldError(
                where,
                f"unknown severity {show(value)}; expected SEVERITY_NUMBER_TRACE..SEVERITY_NUMBER_FATAL4",
            )
        return number
    number = integer(value, where)
    if not 0 <= number <= 24:
        raise FieldError(where, f"severityNumber must be 0..24, got {number}")
    return number


def _body(raw: Any) -> str:
    """Any body but the commonest (a plain string, decoded inline by the caller)."""
    if raw is None:
        return ""
    body = any_value(raw, "body")
    if isinstance(body, str):
        return body
    encoded = orjson.dumps(body).decode()
    if len(encoded) > MAX_STRING:
        raise FieldError("body", f"a body of {len(encoded):,} characters is over the {MAX_STRING:,} limit")
    return encoded


def _decode_log(record: Any, origin: Origin) -> tuple[Any, ...]:
    record = check(record, _LOG_RECORD, "")
    time_ns = unsigned(record.get("timeUnixNano"), "timeUnixNano")
    observed = unsigned(record.get("observedTimeUnixNano"), "observedTimeUnixNano")
    if time_ns == 0:
        time_ns = observed  # the spec's rule: use the observed time when the event time is unknown
    if time_ns == 0:
        raise FieldError("timeUnixNano", "log record has neither timeUnixNano nor observedTimeUnixNano")
    number = severity_number(record.get("severityNumber"), "severityNumber")
    severity_text = text(record.get("severityText"), "severityText")
    severity = _SEVERITY_BY_NUMBER[number] if number else Severity.from_text(severity_text).value
    raw = record.get("body")
    plain = raw.get("stringValue") if type(raw) is dict and len(raw) == 1 else None
    body = plain if type(plain) is str and len(plain) <= MAX_STRING else _body(raw)
    return (
        time_ns,
        observed,
        origin.service,
        severity,
        number,
        severity_text,
        body,
        hex_id(record.get("traceId"), 32, "traceId"),
        hex_id(record.get("spanId"), 16, "spanId"),
        origin.host,
        origin.zone,
        dumps(attributes(record.get("attributes"), "attributes")),
        origin.resource_json,
        origin.scope_name,
        integer(record.get("flags"), "flags", 0, UINT32_MAX),
        text(record.get("eventName"), "eventName"),
    )


_decode_request = row_per_record(_LAYOUT, _decode_log)
