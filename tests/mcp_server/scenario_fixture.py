"""A small recorded incident, written as OTLP/JSON, for the MCP tool tests.

frontend -> checkout -> {cart, payments -> DynamoDB table "payments"}. At 10:15 payments starts
getting ``ProvisionedThroughputExceededException`` from DynamoDB on 60% of writes, three minutes
after a payments deployment; the failure surfaces as 500s in payments, checkout and frontend.
Logs carry a customer email and a connection string with a password (for redaction).
"""

from __future__ import annotations

import json
import random
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from mcp_server.telemetry import to_nanos

START = datetime(2026, 1, 1, 10, 0, tzinfo=UTC)
END = START + timedelta(minutes=30)
ONSET = START + timedelta(minutes=15)
REQUEST_EVERY = timedelta(seconds=2)
MS = 1_000_000


def _attr(key: str, value: object) -> dict[str, Any]:
    if isinstance(value, bool):
        return {"key": key, "value": {"boolValue": value}}
    if isinstance(value, int):
        return {"key": key, "value": {"intValue": str(value)}}
    if isinstance(value, float):
        return {"key": key, "value": {"doubleValue": value}}
    if isinstance(value, list):
        return {"key": key, "value": {"arrayValue": {"values": [{"stringValue": v} for v in value]}}}
    return {"key": key, "value": {"stringValue": str(value)}}


def _resource(service: str) -> dict[str, Any]:
    return {
        "attributes": [
            _attr("service.name", service),
            _attr("host.name", f"{service}-1"),
            _attr("cloud.availability_zone", "eu-west-1a"),
        ]
    }


class _Builder:
    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)
        self.spans: dict[str, list[dict[str, Any]]] = {}
        self.logs: dict[str, list[dict[str, Any]]] = {}

    def span(
        self,
        service: str,
        trace_id: str,
        parent: str | None,
        name: str,
        kind: int,
        start: int,
        duration_ms: float,
        attrs: dict[str, object],
        error: bool = False,
        exception: tuple[str, str] | None = None,
    ) -> str:
        span_id = f"{self.rng.getrandbits(64):016x}"
        span: dict[str, Any] = {
            "traceId": trace_id,
            "spanId": span_id,
            "name": name,
            "kind": kind,
            "startTimeUnixNano": str(start),
            "endTimeUnixNano": str(start + int(duration_ms * MS)),
            "attributes": [_attr(k, v) for k, v in attrs.items()],
            "status": {"code": 2, "message": exception[1] if exception else "internal error"}
            if error
            else {},
        }
        if parent:
            span["parentSpanId"] = parent
        if exception:
            span["events"] = [
                {
                    "name": "exception",
                    "timeUnixNano": str(start + int(duration_ms * MS) - MS),
                    "attributes": [
                        _attr("exception.type", exception[0]),
                        _attr("exception.message", exception[1]),
                    ],
                }
            ]
        self.spans.setdefault(service, []).append(span)
        return span_id

    def log(
        self, service: str, time: int, severity: str, body: str, trace_id: str = "", span_id: str = ""
    ) -> None:
        number = {"INFO": 9, "WARN": 13, "ERROR": 17}[severity]
        record: dict[str, Any] = {
            "timeUnixNano": str(time),
            "severityNumber": number,
            "severityText": severity,
            "body": {"stringValue": body},
        }
        if trace_id:
            record["traceId"], record["spanId"] = trace_id, span_id
        self.logs.setdefault(service, []).append(record)


def write_checkout_incident(directory: Path, seed: int = 11) -> Path:
    """Write the scenario into ``directory`` (created) and return it."""
    directory.mkdir(parents=True, exist_ok=True)
    b = _Builder(seed)
    rng = b.rng
    moment = START
    index = 0
    while moment < END:
        t = to_nanos(moment)
        trace_id = f"{rng.getrandbits(128):032x}"
        throttled = moment >= ONSET and rng.random() < 0.6
        db_ms = 40.0 + rng.random() * 10 if throttled else 8.0 + rng.random() * 4
        pay_ms, cart_ms = db_ms + 6, 12.0 + rng.random() * 3
        checkout_ms = pay_ms + cart_ms + 10
        front_ms = checkout_ms + 5
        status = 500 if throttled else 200
        root = b.span(
            "frontend", trace_id, None, "GET /checkout", 2, t, front_ms,
            {"http.request.method": "GET", "http.route": "/checkout", "http.response.status_code": status},
            error=throttled,
        )  # fmt: skip
        checkout = b.span(
            "checkout", trace_id, root, "POST /api/checkout", 2, t + 2 * MS, checkout_ms,
            {"http.request.method": "POST", "http.route": "/api/checkout", "http.response.status_code": status},
            error=throttled,
        )  # fmt: skip
        b.span(
            "cart", trace_id, checkout, "GET /api/cart", 2, t + 4 * MS, cart_ms,
            {"http.request.method": "GET", "http.route": "/api/cart", "http.response.status_code": 200},
        )  # fmt: skip
        pay_start = t + int((6 + cart_ms) * MS)
        payments = b.span(
            "payments", trace_id, checkout, "POST /api/charge", 2, pay_start, pay_ms,
            {"http.request.method": "POST", "http.route": "/api/charge", "http.response.status_code": status},
            error=throttled,
        )  # fmt: skip
        exception = (
            (
                "ProvisionedThroughputExceededException",
                "Rate of requests exceeds the allowed throughput (table payments)",
            )
            if throttled
            else None
        )
        db_span = b.span(
            "payments", trace_id, payments, "DynamoDB.PutItem", 3, pay_start + 3 * MS, db_ms,
            {"rpc.system": "aws-api", "rpc.service": "DynamoDB", "rpc.method": "PutItem",
             "aws.dynamodb.table_names": ["payments"]},
            error=throttled, exception=exception,
        )  # fmt: skip
        if throttled:
            b.log(
                "payments", pay_start + int(pay_ms * MS), "ERROR",
                f"charge failed for jane.doe@example.com order {index}: ProvisionedThroughputExceededException "
                "on table payments (dsn=postgres://payments:hunter2@ledger.internal/payments)",
                trace_id, db_span,
            )  # fmt: skip
            b.log(
                "checkout",
                t + int(checkout_ms * MS),
                "WARN",
                f"payment for order {index} failed: upstream 500",
                trace_id,
                checkout,
            )
        elif index % 5 == 0:
            b.log(
                "payments",
                pay_start + int(pay_ms * MS),
                "INFO",
                f"charged order {index} amount 42.00 EUR",
                trace_id,
                payments,
            )
        if index % 3 == 0:
            b.span(
                "checkout", f"{rng.getrandbits(128):032x}", None, "GET /api/orders/{id}", 2, t + 500 * MS, 6.0,
                {"http.request.method": "GET", "http.route": "/api/orders/{id}", "http.response.status_code": 200},
            )  # fmt: skip
        moment += REQUEST_EVERY
        index += 1

    traces = {
        "resourceSpans": [
            {"resource": _resource(s), "scopeSpans": [{"scope": {"name": "fixture"}, "spans": spans}]}
            for s, spans in b.spans.items()
        ]
    }
    logs = {
        "resourceLogs": [
            {"resource": _resource(s), "scopeLogs": [{"scope": {"name": "fixture"}, "logRecords": records}]}
            for s, records in b.logs.items()
        ]
    }
    (directory / "traces.jsonl").write_text(json.dumps(traces) + "\n", encoding="utf-8")
    (directory / "logs.jsonl").write_text(json.dumps(logs) + "\n", encoding="utf-8")
    (directory / "metrics.jsonl").write_text(json.dumps(_metrics(rng)) + "\n", encoding="utf-8")
    changes = [
        {"time": "2026-01-01T10:05:00Z", "service": "cart", "kind": "config", "description": "raise cache TTL to 60s",
         "actor": "ops-bot", "id": "cfg-7"},
        {"time": "2026-01-01T10:12:00Z", "service": "payments", "kind": "deployment", "version": "v2.4.1",
         "previous_version": "v2.4.0", "description": "write each ledger line separately", "actor": "ci",
         "id": "deploy-311"},
    ]  # fmt: skip
    (directory / "changes.jsonl").write_text("".join(json.dumps(c) + "\n" for c in changes), encoding="utf-8")
    (directory / "slos.yaml").write_text(
        "slos:\n"
        "  - {name: checkout-availability, service: checkout, sli: availability, goal: 0.99}\n"
        "  - {name: frontend-latency, service: frontend, sli: latency, goal: 0.95, threshold_ms: 300}\n"
        "  - {name: cart-availability, service: cart, sli: availability, goal: 0.995}\n",
        encoding="utf-8",
    )
    (directory / "alarms.yaml").write_text(
        "alarms:\n"
        "  - {name: payments-dynamodb-throttles, service: payments, metric: aws.dynamodb.throttled_requests,\n"
        "     statistic: max, comparison: '>', threshold: 5, period_seconds: 60, evaluation_periods: 2}\n"
        "  - {name: cart-cpu-high, service: cart, metric: process.cpu.utilization, statistic: avg,\n"
        "     comparison: '>', threshold: 0.9, period_seconds: 60, evaluation_periods: 3}\n",
        encoding="utf-8",
    )
    (directory / "scenario.yaml").write_text(
        "name: checkout-dynamodb-throttling\n"
        "description: checkout errors while payments writes are throttled\n"
        "window: {start: '2026-01-01T10:00:00Z', end: '2026-01-01T10:30:00Z'}\n"
        "trigger: {kind: slo, slo: checkout-availability, service: checkout, text: checkout availability SLO breaching}\n",
        encoding="utf-8",
    )
    return directory


def _metrics(rng: random.Random) -> dict[str, Any]:
    resources = []
    for service in ("frontend", "checkout", "cart", "payments"):
        cpu, throttles = [], []
        minute = START
        while minute < END:
            t = str(to_nanos(minute))
            cpu.append({"timeUnixNano": t, "asDouble": 0.3 + rng.random() * 0.1})
            if service == "payments":
                value = 20.0 + rng.random() * 5 if minute >= ONSET else 0.0
                throttles.append(
                    {"timeUnixNano": t, "asDouble": value, "attributes": [_attr("table", "payments")]}
                )
            minute += timedelta(minutes=1)
        metrics: list[dict[str, Any]] = [
            {
                "name": "process.cpu.utilization",
                "unit": "1",
                "description": "CPU share",
                "gauge": {"dataPoints": cpu},
            }
        ]
        if throttles:
            metrics.append(
                {
                    "name": "aws.dynamodb.throttled_requests",
                    "unit": "{request}",
                    "gauge": {"dataPoints": throttles},
                }
            )
        resources.append(
            {
                "resource": _resource(service),
                "scopeMetrics": [{"scope": {"name": "fixture"}, "metrics": metrics}],
            }
        )
    return {"resourceMetrics": resources}
