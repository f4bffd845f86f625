"""What moto lacks of the AWS-native signals, answered from a scenario's own spans and changes.

- Application Signals RED metrics (``Latency``, ``Fault``, ``Error`` in the ``ApplicationSignals``
  namespace, per ``[Environment, Service]``, ``[Environment, Service, Operation]`` and the
  dependency set ``[..., RemoteService, RemoteOperation]``), per minute, from the spans;
- ``ListServiceOperations`` and ``ListServiceDependencies`` naming those series;
- ``ListEntityEvents`` repeating the scenario's changes as Application Signals sees them (same
  event ids as CloudTrail's, so the backend must not count a change twice);
- ``ListAuditFindings``, ``ListLogAnomalyDetectors`` and ``DescribeAnomalyDetectors`` answering
  with nothing unless a test gives them something;
- ``GetTraceSegmentDestination`` and the ``aws/spans`` log group of Transaction Search.

Response shapes follow the botocore service models (validated by :class:`Responders`).
"""

from __future__ import annotations

import json
from collections import defaultdict
from typing import Any

from mcp_server.backends.aws.testing.cloudwatch import FakeCloudWatchMetrics
from mcp_server.backends.aws.testing.insights import FakeInsights
from mcp_server.backends.aws.testing.responders import Responders
from mcp_server.telemetry import ChangeEvent, ChangeKind, Span, SpanKind, TimeWindow, from_nanos

SIGNALS_NAMESPACE = "ApplicationSignals"
ENVIRONMENT = "scenario"
SPANS_GROUP = "aws/spans"
_TYPES = {"Latency": "LATENCY", "Fault": "FAULT", "Error": "ERROR"}


def key_attributes(service: str) -> dict[str, str]:
    return {"Type": "Service", "Name": service, "Environment": ENVIRONMENT}


def _dimensions(
    service: str, operation: str | None = None, remote: tuple[str, str] | None = None
) -> list[dict[str, str]]:
    dims = [{"Name": "Environment", "Value": ENVIRONMENT}, {"Name": "Service", "Value": service}]
    if operation is not None:
        dims.append({"Name": "Operation", "Value": operation})
    if remote is not None:
        dims += [
            {"Name": "RemoteService", "Value": remote[0]},
            {"Name": "RemoteOperation", "Value": remote[1]},
        ]
    return dims


def references(dimensions: list[dict[str, str]]) -> list[dict[str, Any]]:
    return [
        {"Namespace": SIGNALS_NAMESPACE, "MetricType": kind, "MetricName": name, "Dimensions": dimensions}
        for name, kind in _TYPES.items()
    ]


class SignalsFromSpans:
    """Application Signals' view of a scenario: RED metrics, operations, dependencies."""

    def __init__(self, spans: list[Span]) -> None:
        by_id = {s.span_id: s for s in spans}
        self.operations: dict[str, set[str]] = defaultdict(set)
        self.dependencies: dict[str, set[tuple[str, str, str]]] = defaultdict(set)
        # (dimensions key) -> minute -> [requests, faults, errors, latency sum]
        self.series: dict[tuple[tuple[str, str], ...], dict[int, list[float]]] = defaultdict(
            lambda: defaultdict(lambda: [0.0, 0.0, 0.0, 0.0])
        )
        for span in spans:
            if span.kind == SpanKind.SERVER:
                self.operations[span.service].add(span.operation)
                self._count(_dimensions(span.service), span)
                self._count(_dimensions(span.service, span.operation), span)
            elif span.kind == SpanKind.CLIENT and span.peer:
                caller = _entry_operation(span, by_id)
                remote = (span.peer, span.operation)
                self.dependencies[span.service].add((caller, *remote))
                self._count(_dimensions(span.service, caller, remote), span)

    def _count(self, dimensions: list[dict[str, str]], span: Span) -> None:
        minute = span.start_time_unix_nano // 60_000_000_000 * 60
        status = span.http_status or 0
        bucket = self.series[tuple((d["Name"], d["Value"]) for d in dimensions)][minute]
        bucket[0] += 1
        bucket[1] += 1 if span.is_error and (status >= 500 or not status) else 0
        bucket[2] += 1 if 400 <= status < 500 else 0
        bucket[3] += span.duration_ms

    def load(self, metrics: FakeCloudWatchMetrics) -> None:
        for key, minutes in self.series.items():
            dims = [{"Name": n, "Value": v} for n, v in key]
            for minute, (requests, faults, errors, latency) in minutes.items():
                at = from_nanos(minute * 1_000_000_000)
                metrics.put(
                    SIGNALS_NAMESPACE,
                    {"MetricName": "Fault", "Dimensions": dims, "Timestamp": at, "Value": faults},
                )
                metrics.put(
                    SIGNALS_NAMESPACE,
                    {"MetricName": "Error", "Dimensions": dims, "Timestamp": at, "Value": errors},
                )
                mean = latency / requests
                metrics.put(
                    SIGNALS_NAMESPACE,
                    {
                        "MetricName": "Latency",
                        "Dimensions": dims,
                        "Timestamp": at,
                        "StatisticValues": {
                            "SampleCount": requests,
                            "Sum": latency,
                            "Minimum": mean,
                            "Maximum": mean,
                        },
                    },
                )

    def attach(self, responders: Responders) -> None:
        def operations(params: dict[str, Any]) -> dict[str, Any]:
            service = params["KeyAttributes"]["Name"]
            return {
                "StartTime": params["StartTime"],
                "EndTime": params["EndTime"],
                "ServiceOperations": [
                    {"Name": op, "MetricReferences": references(_dimensions(service, op))}
                    for op in sorted(self.operations.get(service, ()))
                ],
            }

        def dependencies(params: dict[str, Any]) -> dict[str, Any]:
            service = params["KeyAttributes"]["Name"]
            return {
                "StartTime": params["StartTime"],
                "EndTime": params["EndTime"],
                "ServiceDependencies": [
                    {
                        "OperationName": caller,
                        "DependencyKeyAttributes": {"Type": "RemoteService", "Name": peer},
                        "DependencyOperationName": operation,
                        "MetricReferences": references(_dimensions(service, caller, (peer, operation))),
                    }
                    for caller, peer, operation in sorted(self.dependencies.get(service, ()))
                ],
            }

        responders.on("ListServiceOperations", operations).on("ListServiceDependencies", dependencies)


def _entry_operation(span: Span, by_id: dict[str, Span]) -> str:
    """The operation of the service's entry span above ``span`` (Application Signals' Operation)."""
    current = span
    while True:
        parent = by_id.get(current.parent_span_id or "")
        if parent is None or parent.service != span.service:
            return current.operation
        current = parent


class PlatformAnswers:
    """Findings a test can set; empty by default (an account with nothing configured)."""

    def __init__(self) -> None:
        self.audit_findings: list[dict[str, Any]] = []
        self.log_detectors: list[dict[str, Any]] = []
        self.log_anomalies: dict[str, list[dict[str, Any]]] = {}
        self.metric_detectors: list[dict[str, Any]] = []
        self.segment_destination = "CloudWatchLogs"

    def attach(self, signals: Responders, logs: Responders, cloudwatch: Responders, xray: Responders) -> None:
        signals.on(
            "ListAuditFindings",
            lambda p: {
                "StartTime": p["StartTime"],
                "EndTime": p["EndTime"],
                "AuditFindings": self.audit_findings,
            },
        )
        logs.on("ListLogAnomalyDetectors", lambda _p: {"anomalyDetectors": self.log_detectors})
        logs.on("ListAnomalies", lambda p: {"anomalies": self.log_anomalies.get(p["anomalyDetectorArn"], [])})
        cloudwatch.on(
            "DescribeAnomalyDetectors",
            lambda p: {
                "AnomalyDetectors": [
                    d for d in self.metric_detectors if d.get("Namespace") == p.get("Namespace")
                ]
            },
        )
        xray.on(
            "GetTraceSegmentDestination",
            lambda _p: {"Destination": self.segment_destination, "Status": "ACTIVE"},
        )


def entity_events_handler(changes: list[ChangeEvent], event_id: Any) -> Any:
    """ListEntityEvents: a service's deployments and configuration changes in the window."""
    kinds = {ChangeKind.DEPLOYMENT: "DEPLOYMENT", ChangeKind.CONFIG: "CONFIGURATION"}

    def handle(params: dict[str, Any]) -> dict[str, Any]:
        service = params["Entity"].get("Name")
        window = TimeWindow(start=params["StartTime"], end=params["EndTime"])
        events = [
            {
                "Timestamp": c.time,
                "AccountId": "123456789012",
                "Region": "us-east-1",
                "Entity": key_attributes(c.service),
                "ChangeEventType": kinds[c.kind],
                "EventId": event_id(c, i),
                "UserName": c.actor or "deployer",
                "EventName": "UpdateService" if c.kind == ChangeKind.DEPLOYMENT else "UpdateConfiguration",
            }
            for i, c in enumerate(changes)
            if c.kind in kinds and c.service == service and window.contains(c.time)
        ]
        return {"StartTime": params["StartTime"], "EndTime": params["EndTime"], "ChangeEvents": events}

    return handle


def span_message(span: Span) -> str:
    """One span as Transaction Search stores it in ``aws/spans`` (OTLP JSON)."""
    return json.dumps(
        {
            "resource": {"attributes": span.resource or {"service.name": span.service}},
            "traceId": span.trace_id,
            "spanId": span.span_id,
            "parentSpanId": span.parent_span_id or "",
            "name": span.operation,
            "kind": SpanKind(int(span.kind)).name,
            "startTimeUnixNano": span.start_time_unix_nano,
            "endTimeUnixNano": span.end_time_unix_nano,
            "durationNano": span.end_time_unix_nano - span.start_time_unix_nano,
            "attributes": {**span.attributes, "aws.local.service": span.service},
            "status": {"code": "ERROR" if span.is_error else "UNSET"},
        },
        default=str,
    )


def load_spans(insights: FakeInsights, spans: list[Span]) -> None:
    for span in sorted(spans, key=lambda s: s.start_time_unix_nano):
        insights.add(SPANS_GROUP, span.start_time_unix_nano // 1_000_000, span_message(span))
    insights.events.setdefault(SPANS_GROUP, [])
