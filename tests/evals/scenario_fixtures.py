"""Tiny labelled scenario directories written by hand in OTLP/JSON, for harness and scorer tests.

The system: ``frontend`` calls ``orders``. From the middle of the window ``orders`` fails half
of its requests and its ``db.connections`` gauge jumps; ``frontend`` only propagates the errors.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import yaml

START = datetime(2026, 1, 5, 10, 0, tzinfo=UTC)
MINUTES = 30
ONSET_MINUTE = 15


def _ns(moment: datetime) -> str:
    return str(int(moment.timestamp() * 1_000_000_000))


def _resource(service: str) -> dict[str, Any]:
    return {"attributes": [{"key": "service.name", "value": {"stringValue": service}}]}


def _span(
    trace: int, span: int, parent: int | None, name: str, at: datetime, ms: int, error: bool
) -> dict[str, Any]:
    record: dict[str, Any] = {
        "traceId": f"{trace:032x}",
        "spanId": f"{span:016x}",
        "name": name,
        "kind": 2,
        "startTimeUnixNano": _ns(at),
        "endTimeUnixNano": _ns(at + timedelta(milliseconds=ms)),
        "status": {"code": 2 if error else 1},
    }
    if parent is not None:
        record["parentSpanId"] = f"{parent:016x}"
    return record


def write_scenario(
    directory: Path,
    *,
    name: str = "orders-errors",
    cause: str = "orders",
    fault_type: str = "error_exception",
    red_herrings: tuple[str, ...] = (),
    secret: str = "",
) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    frontend_spans, orders_spans, logs, gauge = [], [], [], []
    trace = 1
    for minute in range(MINUTES):
        at = START + timedelta(minutes=minute)
        incident = minute >= ONSET_MINUTE
        for request in range(4):
            failing = incident and request % 2 == 0
            moment = at + timedelta(seconds=request * 10)
            frontend_spans.append(_span(trace, trace * 2, None, "GET /checkout", moment, 40, failing))
            orders_spans.append(_span(trace, trace * 2 + 1, trace * 2, "POST /orders", moment, 30, failing))
            if failing:
                logs.append(
                    {
                        "timeUnixNano": _ns(moment),
                        "severityNumber": 17,
                        "severityText": "ERROR",
                        "body": {"stringValue": "NullPointerException in OrderService.place"},
                    }
                )
            trace += 1
        gauge.append({"timeUnixNano": _ns(at), "asDouble": 40.0 + (minute % 3) + (60.0 if incident else 0.0)})
    traces = {
        "resourceSpans": [
            {
                "resource": _resource("frontend"),
                "scopeSpans": [{"scope": {"name": "t"}, "spans": frontend_spans}],
            },
            {
                "resource": _resource("orders"),
                "scopeSpans": [{"scope": {"name": "t"}, "spans": orders_spans}],
            },
        ]
    }
    metrics = {
        "resourceMetrics": [
            {
                "resource": _resource("orders"),
                "scopeMetrics": [
                    {
                        "scope": {"name": "t"},
                        "metrics": [{"name": "db.connections", "gauge": {"dataPoints": gauge}}],
                    }
                ],
            }
        ]
    }
    log_request = {
        "resourceLogs": [
            {"resource": _resource("orders"), "scopeLogs": [{"scope": {"name": "t"}, "logRecords": logs}]}
        ]
    }
    (directory / "traces.jsonl").write_text(json.dumps(traces) + "\n", encoding="utf-8")
    (directory / "metrics.jsonl").write_text(json.dumps(metrics) + "\n", encoding="utf-8")
    (directory / "logs.jsonl").write_text(json.dumps(log_request) + "\n", encoding="utf-8")
    spec = {
        "name": name,
        "description": "checkout fails",
        "window": {"start": START.isoformat(), "end": (START + timedelta(minutes=MINUTES)).isoformat()},
        "trigger": {"kind": "question", "text": "checkout is failing"},
        "ground_truth": {
            "root_cause": {"service": cause, "fault_type": fault_type, "detail": secret},
            "contributing_factors": ["retries amplified load"],
            "red_herrings": list(red_herrings),
            "propagation": [cause, "frontend"],
        },
    }
    (directory / "scenario.yaml").write_text(yaml.safe_dump(spec, sort_keys=False), encoding="utf-8")
    return directory
