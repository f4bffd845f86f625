"""One valid OTLP/JSON export request per signal, using most fields, for malformed and fuzzed input.

Each is what the Collector's file exporter writes; tests copy one, break one value and check the
importer names the line and field of the break.
"""

from __future__ import annotations

import copy
from typing import Any

T0 = 1_767_261_600_000_000_000


def _attrs(**values: Any) -> list[dict[str, Any]]:
    encoded = []
    for key, value in values.items():
        if isinstance(value, bool):
            encoded.append({"key": key, "value": {"boolValue": value}})
        elif isinstance(value, int):
            encoded.append({"key": key, "value": {"intValue": str(value)}})
        elif isinstance(value, float):
            encoded.append({"key": key, "value": {"doubleValue": value}})
        else:
            encoded.append({"key": key, "value": {"stringValue": value}})
    return encoded


RESOURCE = {
    "attributes": _attrs(**{"service.name": "api", "host.name": "api-1", "cloud.availability_zone": "eu-1a"})
}
SCOPE = {"name": "io.opentelemetry.test", "version": "1.0"}

TRACES: dict[str, Any] = {
    "resourceSpans": [
        {
            "resource": RESOURCE,
            "scopeSpans": [
                {
                    "scope": SCOPE,
                    "spans": [
                        {
                            "traceId": "5b8efff798038103d269b633813fc60c",
                            "spanId": "eee19b7ec3c1b174",
                            "parentSpanId": "eee19b7ec3c1b173",
                            "name": "GET /cart",
                            "kind": 2,
                            "startTimeUnixNano": str(T0),
                            "endTimeUnixNano": str(T0 + 5_000_000),
                            "flags": 1,
                            "attributes": [
                                *_attrs(
                                    **{"http.response.status_code": 500, "http.route": "/cart", "retry": True}
                                ),
                                {
                                    "key": "tags",
                                    "value": {
                                        "arrayValue": {"values": [{"stringValue": "a"}, {"intValue": "2"}]}
                                    },
                                },
                                {
                                    "key": "nested",
                                    "value": {
                                        "kvlistValue": {
                                            "values": [{"key": "k", "value": {"doubleValue": 1.5}}]
                                        }
                                    },
                                },
                            ],
                            "events": [
                                {
                                    "name": "exception",
                                    "timeUnixNano": str(T0 + 1_000_000),
                                    "attributes": _attrs(
                                        **{"exception.type": "IOError", "exception.message": "disk full"}
                                    ),
                                }
                            ],
                            "links": [
                                {
                                    "traceId": "5b8efff798038103d269b633813fc60d",
                                    "spanId": "eee19b7ec3c1b175",
                                    "attributes": _attrs(why="retry"),
                                }
                            ],
                            "status": {"code": 2, "message": "boom"},
                        }
                    ],
                }
            ],
        }
    ]
}

LOGS: dict[str, Any] = {
    "resourceLogs": [
        {
            "resource": RESOURCE,
            "scopeLogs": [
                {
                    "scope": SCOPE,
                    "logRecords": [
                        {
                            "timeUnixNano": str(T0),
                            "observedTimeUnixNano": str(T0 + 1_000),
                            "severityNumber": 17,
                            "severityText": "ERROR",
                            "body": {"stringValue": "charge failed"},
                            "attributes": _attrs(**{"code.function": "charge", "attempt": 3}),
                            "traceId": "5b8efff798038103d269b633813fc60c",
                            "spanId": "eee19b7ec3c1b174",
                            "flags": 1,
                        }
                    ],
                }
            ],
        }
    ]
}

_POINT = {
    "startTimeUnixNano": str(T0 - 60_000_000_000),
    "timeUnixNano": str(T0),
    "attributes": _attrs(route="/cart"),
}
METRICS: dict[str, Any] = {
    "resourceMetrics": [
        {
            "resource": RESOURCE,
            "scopeMetrics": [
                {
                    "scope": SCOPE,
                    "metrics": [
                        {"name": "cpu", "unit": "%", "gauge": {"dataPoints": [_POINT | {"asDouble": 42.5}]}},
                        {
                            "name": "requests",
                            "sum": {
                                "dataPoints": [_POINT | {"asInt": "17"}],
                                "aggregationTemporality": 1,
                                "isMonotonic": True,
                            },
                        },
                        {
                            "name": "latency",
                            "unit": "ms",
                            "histogram": {
                                "dataPoints": [
                                    _POINT
                                    | {
                                        "count": "6",
                                        "sum": 120.0,
                                        "bucketCounts": ["1", "2", "3"],
                                        "explicitBounds": [10.0, 50.0],
                                        "min": 2.0,
                                        "max": 80.0,
                                    }
                                ],
                                "aggregationTemporality": 2,
                            },
                        },
                        {
                            "name": "size",
                            "exponentialHistogram": {
                                "dataPoints": [
                                    _POINT | {"count": "3", "sum": 9.0, "scale": 2, "zeroCount": "0"}
                                ],
                                "aggregationTemporality": 1,
                            },
                        },
                        {
                            "name": "gc",
                            "summary": {
                                "dataPoints": [
                                    _POINT
                                    | {
                                        "count": "4",
                                        "sum": 8.0,
                                        "quantileValues": [
                                            {"quantile": 0.5, "value": 2.0},
                                            {"quantile": 0.99, "value": 3.0},
                                        ],
                                    }
                                ]
                            },
                        },
                    ],
                }
            ],
        }
    ]
}

REQUESTS = {"traces": TRACES, "logs": LOGS, "metrics": METRICS}
FILES = {"traces": "traces.jsonl", "logs": "logs.jsonl", "metrics": "metrics.jsonl"}


def request(kind: str) -> dict[str, Any]:
    """A fresh deep copy of the valid request of one signal."""
    return copy.deepcopy(REQUESTS[kind])


def span(req: dict[str, Any]) -> dict[str, Any]:
    return req["resourceSpans"][0]["scopeSpans"][0]["spans"][0]  # type: ignore[no-any-return]


def log_record(req: dict[str, Any]) -> dict[str, Any]:
    return req["resourceLogs"][0]["scopeLogs"][0]["logRecords"][0]  # type: ignore[no-any-return]


def metric(req: dict[str, Any], index: int) -> dict[str, Any]:
    return req["resourceMetrics"][0]["scopeMetrics"][0]["metrics"][index]  # type: ignore[no-any-return]
