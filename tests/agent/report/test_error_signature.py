"""A service's error signature: what it newly fails with since the incident began, against its own
baseline, from its spans and its log lines (a small OTLP/JSON scenario in a local store)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from agent.report.error_signature import ErrorSignature, SignatureWindows, measure_error_signature
from mcp_server.backends.local import LocalBackend
from mcp_server.telemetry import TimeWindow

START = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
BEGAN = START + timedelta(minutes=10)
END = START + timedelta(minutes=20)
WINDOWS = SignatureWindows(before=TimeWindow(start=START, end=BEGAN), since=TimeWindow(start=BEGAN, end=END))


def _ns(moment: datetime) -> str:
    return str(int(moment.timestamp() * 1_000_000_000))


def _resource(service: str) -> dict[str, Any]:
    return {"attributes": [{"key": "service.name", "value": {"stringValue": service}}]}


def _log(at: datetime, body: str, severity: str = "ERROR") -> dict[str, Any]:
    return {"timeUnixNano": _ns(at), "severityText": severity, "body": {"stringValue": body}}


def _span(at: datetime, index: int, exception: str | None, status: int = 500) -> dict[str, Any]:
    span: dict[str, Any] = {
        "traceId": f"{index:032x}",
        "spanId": f"{index:016x}",
        "name": "POST /api/orders",
        "kind": 2,
        "startTimeUnixNano": _ns(at),
        "endTimeUnixNano": _ns(at + timedelta(milliseconds=5)),
        "status": {"code": 2},
        "attributes": [{"key": "http.response.status_code", "value": {"intValue": str(status)}}],
    }
    if exception:
        span["events"] = [
            {
                "name": "exception",
                "timeUnixNano": _ns(at),
                "attributes": [{"key": "exception.type", "value": {"stringValue": exception}}],
            }
        ]
    return span


def _write(directory: Path, logs: list[dict[str, Any]], spans: list[dict[str, Any]]) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    for name, (resource_key, scope_key, records_key), records in (
        ("logs.jsonl", ("resourceLogs", "scopeLogs", "logRecords"), logs),
        ("traces.jsonl", ("resourceSpans", "scopeSpans", "spans"), spans),
    ):
        if records:
            batch = {resource_key: [{"resource": _resource("orders"), scope_key: [{records_key: records}]}]}
            (directory / name).write_text(json.dumps(batch) + "\n", encoding="utf-8")
    return directory


def _every_minute(first: datetime, minutes: int, per_minute: int) -> Iterator[datetime]:
    for minute in range(minutes):
        for i in range(per_minute):
            yield first + timedelta(minutes=minute, seconds=5 + i * 50 / per_minute)


def _signature(directory: Path) -> ErrorSignature | None:
    with LocalBackend.from_scenario(directory) as backend:
        return measure_error_signature(backend, "orders", WINDOWS)


def test_new_exceptions_and_statuses_in_the_logs_are_the_signature_and_chronic_ones_are_not(tmp_path: Path):
    chronic = [_log(t, "lock wait failed: TimeoutError: row locked") for t in _every_minute(START, 20, 2)]
    key_errors = [
        _log(t, json.dumps({"msg": "request failed: KeyError: 'slot_id'", "error.type": "KeyError"}))
        for t in _every_minute(BEGAN, 5, 1)
    ]
    not_found = [_log(t, "GET /api/orders/{id} 404 3ms", "INFO") for t in _every_minute(BEGAN, 6, 1)]
    ok = [_log(t, "GET /api/orders/{id} 200 3ms", "INFO") for t in _every_minute(START, 20, 3)]

    signature = _signature(_write(tmp_path, chronic + key_errors + not_found + ok, []))

    assert signature is not None
    assert [(n.name, n.source, n.before, n.since) for n in signature.names] == [
        ("HTTP 404", "logs", 0, 6),
        ("KeyError", "logs", 0, 5),
    ]
    assert signature.exception_types == ["KeyError"] and signature.status_codes == ["404"]


def test_an_exception_on_the_spans_counts_when_its_rate_doubled_and_not_when_it_rose_less(tmp_path: Path):
    times = [
        *[(t, "ValueError") for t in _every_minute(START, 10, 1)],
        *[(t, "ValueError") for t in _every_minute(BEGAN, 10, 3)],
        *[(t, "IllegalStateException") for t in _every_minute(START, 10, 2)],
        *[(t, "IllegalStateException") for t in _every_minute(BEGAN, 10, 3)],
    ]
    spans = [
        _span(t, i, exception, 500 if exception == "ValueError" else 503)
        for i, (t, exception) in enumerate(times)
    ]

    signature = _signature(_write(tmp_path, [], spans))

    assert signature is not None
    assert [(n.name, n.source, n.before, n.since) for n in signature.names] == [
        ("HTTP 500", "spans", 10, 30),
        ("ValueError", "spans", 10, 30),
    ]


def test_a_couple_of_new_lines_are_not_a_signature(tmp_path: Path):
    logs = [_log(BEGAN + timedelta(minutes=m), "request failed: KeyError: 'slot_id'") for m in (1, 4)]

    assert _signature(_write(tmp_path, logs, [])) is None


@pytest.mark.parametrize(
    "body",
    [
        "GET /api/orders/{id} 503 12ms",
        '{"msg": "done", "http.status": 503}',
        "upstream answered status_code=503",
    ],
)
def test_a_status_is_read_from_an_access_line_or_a_status_field(tmp_path: Path, body: str):
    logs = [_log(t, body, "INFO") for t in _every_minute(BEGAN, 4, 1)]

    signature = _signature(_write(tmp_path, logs, []))

    assert signature is not None and signature.status_codes == ["503"]
