"""CloudWatch log events as Sleuth log records: parsing, exact filtering, masking.

Messages are read in the JSON shape the OpenTelemetry CloudWatch Logs exporter writes
(``body``, ``severity_number``, ``severity_text``, ``trace_id``, ``span_id``, ``attributes``,
``resource``); other messages are plain text whose severity is read from a level word.
"""

from __future__ import annotations

import json
import re
from typing import Any

from mcp_server.backends.base import LogQuery
from mcp_server.errors import QueryError
from mcp_server.telemetry import LogRecord, Severity

LEVEL_WORDS = (
    "TRACE",
    "DEBUG",
    "INFO",
    "WARNING",
    "WARN",
    "ERROR",
    "ERR",
    "FATAL",
    "CRITICAL",
    "CRIT",
    "PANIC",
)
LEVEL_WORD = re.compile(r"\b(" + "|".join(LEVEL_WORDS) + r")\b", re.I)
LEVEL_SCAN_CHARS = 200  # a level word further into a plain line is part of the message, not its level


def parse_event(message: str, timestamp_ms: int, service: str) -> LogRecord:
    """A CloudWatch log event as a LogRecord (JSON exporter shape, or plain text)."""
    time_ns = int(timestamp_ms) * 1_000_000
    data: dict[str, Any] | None = None
    if message.startswith("{"):
        try:
            loaded = json.loads(message)
        except ValueError:
            loaded = None
        if isinstance(loaded, dict) and "body" in loaded:
            data = loaded
    if data is None:
        match = LEVEL_WORD.search(message[:LEVEL_SCAN_CHARS])
        return LogRecord(
            time_unix_nano=time_ns,
            service=service,
            severity=Severity.from_text(match.group(1)) if match else Severity.UNSPECIFIED,
            severity_text=match.group(1) if match else "",
            body=message,
        )
    number = _int(data.get("severity_number"))
    text = str(data.get("severity_text") or "")
    severity = Severity.from_number(number) if number else Severity.from_text(text)
    raw_resource, raw_attributes = data.get("resource"), data.get("attributes")
    resource: dict[str, Any] = raw_resource if isinstance(raw_resource, dict) else {}
    attributes: dict[str, Any] = raw_attributes if isinstance(raw_attributes, dict) else {}
    body = data.get("body")
    return LogRecord(
        time_unix_nano=time_ns,
        service=str(resource.get("service.name") or service),
        severity=severity,
        severity_number=number,
        severity_text=text,
        body=body if isinstance(body, str) else json.dumps(body),
        trace_id=str(data["trace_id"]).lower() if data.get("trace_id") else None,
        span_id=str(data["span_id"]).lower() if data.get("span_id") else None,
        attributes=attributes or {},
        resource=resource or {},
        flags=_int(data.get("flags")),
    )


def severity_of(number: str | None, text: str | None, level: str | None) -> Severity:
    """A severity from Insights fields: the OTel number, else its text, else a level word."""
    value = _int(number)
    if value:
        return Severity.from_number(value)
    if text:
        return Severity.from_text(text)
    return Severity.from_text(level) if level else Severity.UNSPECIFIED


def _int(value: Any) -> int:
    try:
        return int(float(value or 0))
    except (TypeError, ValueError):
        return 0


def matches(record: LogRecord, query: LogQuery, pattern: re.Pattern[str] | None) -> bool:
    """The exact LogQuery filter (Insights and FilterLogEvents only pre-filter)."""
    if query.window is not None and not (
        query.window.start_ns <= record.time_unix_nano < query.window.end_ns
    ):
        return False
    if query.service is not None and record.service != query.service:
        return False
    if query.min_severity is not None and record.severity.rank < query.min_severity.rank:
        return False
    if query.text and query.text.lower() not in record.body.lower():
        return False
    if pattern is not None and not pattern.search(record.body):
        return False
    return not (query.trace_id and (record.trace_id or "") != query.trace_id.lower())


def compile_regex(regex: str | None) -> re.Pattern[str] | None:
    if not regex:
        return None
    try:
        return re.compile(regex)
    except re.error as exc:
        raise QueryError(f"bad regex {regex!r}: {exc}") from None


# numbers and hex ids masked in one pass before grouping log bodies, with the expression the
# local store and mcp_server.analysis.log_patterns.mask use (backends do not import analysis)
_LOG_MASK = re.compile(
    r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"
    r"|\b[0-9a-fA-F]{8,}\b|\d+(\.\d+)?"
)


def mask_body(body: str) -> str:
    return _LOG_MASK.sub("<*>", body)
