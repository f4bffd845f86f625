"""X-Ray: trace summaries, full traces and the service graph, mapped onto Sleuth's Span model.

Mapping (the same one the AWS Distro for OpenTelemetry X-Ray exporter uses, read backwards):

- a segment is the SERVER span of its service (``name`` is the service); subsegments are child
  spans; a subsegment in namespace ``remote`` or ``aws`` is a CLIENT span, others are INTERNAL;
- ids: the X-Ray trace id ``1-xxxxxxxx-yyyyyyyyyyyyyyyyyyyyyyyy`` is the OTel id ``xxxxxxxx`` +
  ``yyyy...``; segment ids are span ids; times are float seconds;
- ``fault`` is an error (status ERROR); ``error``/``throttle`` are 4xx/429 and count as errors
  only on client spans (the OTel rule); ``http.response.status`` becomes
  ``http.response.status_code``; ``cause.exceptions`` become ``exception`` events;
- ``metadata.default["otel.span.kind"]``, when an exporter kept it, overrides that guess;
- span attributes come from ``metadata.default`` and annotations, resource attributes from
  ``metadata.default["otel.resource.*"]`` plus ``aws.ec2`` (host, availability zone);
- the operation is ``aws.local.operation`` (segments) or ``aws.remote.operation`` (remote
  subsegments) when Application Signals set them, else ``aws.operation``, the HTTP method and
  path, or the (sub)segment name.
"""

from __future__ import annotations

import json
import threading
from collections import OrderedDict
from collections.abc import Iterable
from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

from mcp_server.backends.aws.calls import ApiCaller
from mcp_server.telemetry import (
    ServiceEdge,
    Span,
    SpanEvent,
    SpanKind,
    StatusCode,
    TimeWindow,
)

RESOURCE_PREFIX = "otel.resource."
KIND_KEY = "otel.span.kind"
_OPERATION_KEYS = ("aws.local.operation", "aws.remote.operation", KIND_KEY)
BATCH_GET_TRACES_MAX_IDS = 5
TRACE_CACHE_SIZE = 5_000  # traces kept per backend (an investigation reads the same ones many times)
SUMMARY_MAX_RANGE = timedelta(hours=6)  # GetTraceSummaries answers at most 6 hours per call
_COMPUTE_TYPES = (
    "AWS::EC2",
    "AWS::ECS",
    "AWS::EKS",
    "AWS::Lambda::Function",
    "AWS::ElasticBeanstalk",
    "client",
)


def otel_trace_id(xray_id: str) -> str:
    parts = xray_id.split("-")
    if len(parts) == 3 and parts[0] == "1":
        return (parts[1] + parts[2]).lower()
    return xray_id.lower()


def xray_trace_id(otel_id: str) -> str:
    otel_id = otel_id.lower()
    if otel_id.startswith("1-"):
        return otel_id
    return f"1-{otel_id[:8]}-{otel_id[8:]}"


def seconds_to_nanos(seconds: float) -> int:
    return round(seconds * 1_000_000) * 1_000


# --------------------------------------------------------------------------------- documents


def document_to_spans(document: dict[str, Any]) -> list[Span]:
    """Every span of one segment document (the segment and its nested subsegments)."""
    trace_id = otel_trace_id(str(document["trace_id"]))
    service = str(document.get("name", "unknown_service"))
    metadata = _metadata(document)
    resource = {k[len(RESOURCE_PREFIX) :]: v for k, v in metadata.items() if k.startswith(RESOURCE_PREFIX)}
    ec2 = (document.get("aws") or {}).get("ec2") or {}
    if ec2.get("availability_zone") and "cloud.availability_zone" not in resource:
        resource["cloud.availability_zone"] = ec2["availability_zone"]
    if ec2.get("instance_id") and "host.id" not in resource:
        resource["host.id"] = ec2["instance_id"]
    resource.setdefault("service.name", service)
    spans: list[Span] = []
    _convert(document, trace_id, service, resource, document.get("parent_id"), True, spans)
    return spans


def _metadata(item: dict[str, Any]) -> dict[str, Any]:
    default = (item.get("metadata") or {}).get("default") or {}
    return dict(default) if isinstance(default, dict) else {}


def _convert(
    item: dict[str, Any],
    trace_id: str,
    service: str,
    resource: dict[str, Any],
    parent_id: str | None,
    is_segment: bool,
    out: list[Span],
) -> None:
    metadata = _metadata(item)
    attributes = {
        k: v for k, v in metadata.items() if not k.startswith(RESOURCE_PREFIX) and k not in _OPERATION_KEYS
    }
    for key, value in (item.get("annotations") or {}).items():
        attributes.setdefault(key, value)
    namespace = item.get("namespace")
    if is_segment:
        kind = SpanKind.SERVER
    elif namespace in ("remote", "aws"):
        kind = SpanKind.CLIENT
    else:
        kind = SpanKind.INTERNAL
    recorded_kind = str(metadata.get(KIND_KEY, "")).upper()
    if recorded_kind in SpanKind.__members__:  # an exporter that kept the OTel kind
        kind = SpanKind[recorded_kind]
    http = item.get("http") or {}
    request = http.get("request") or {}
    response = http.get("response") or {}
    if response.get("status") is not None:
        attributes.setdefault("http.response.status_code", int(response["status"]))
    if request.get("method"):
        attributes.setdefault("http.request.method", request["method"])
    if request.get("url"):
        attributes.setdefault("url.full", request["url"])
    aws = item.get("aws") or {}
    if aws.get("operation"):
        attributes.setdefault("rpc.method", aws["operation"])
        attributes.setdefault("rpc.system", "aws-api")
        if namespace == "aws":
            attributes.setdefault("rpc.service", item.get("name"))
    operation = _operation(item, metadata, is_segment, namespace, request)
    events: list[SpanEvent] = []
    status_message = ""
    end_ns = seconds_to_nanos(float(item.get("end_time") or item["start_time"]))
    for exception in ((item.get("cause") or {}).get("exceptions")) or []:
        if exception.get("type"):
            events.append(
                SpanEvent(
                    name="exception",
                    time_unix_nano=end_ns,
                    attributes={
                        "exception.type": exception["type"],
                        "exception.message": exception.get("message", ""),
                    },
                )
            )
        elif exception.get("message") and not status_message:
            status_message = str(exception["message"])
    fault = bool(item.get("fault"))
    client_error = kind == SpanKind.CLIENT and bool(item.get("error")) and response.get("status") is None
    span = Span(
        trace_id=trace_id,
        span_id=str(item["id"]),
        parent_span_id=str(parent_id) if parent_id else None,
        service=service,
        operation=operation,
        kind=kind,
        start_time_unix_nano=seconds_to_nanos(float(item["start_time"])),
        end_time_unix_nano=end_ns,
        status_code=StatusCode.ERROR if fault or client_error else StatusCode.UNSET,
        status_message=status_message,
        attributes=attributes,
        resource=dict(resource),
        events=events,
    )
    out.append(span)
    for sub in item.get("subsegments") or []:
        _convert(sub, trace_id, service, resource, span.span_id, False, out)


def _operation(
    item: dict[str, Any], metadata: dict[str, Any], is_segment: bool, namespace: Any, request: dict[str, Any]
) -> str:
    remote = namespace in ("remote", "aws")
    if not is_segment and not remote:
        return str(item.get("name", "unknown"))
    key = "aws.local.operation" if is_segment else "aws.remote.operation"
    if metadata.get(key):
        return str(metadata[key])
    aws = item.get("aws") or {}
    if aws.get("operation"):
        return str(aws["operation"])
    if request.get("method") and request.get("url"):
        return f"{request['method']} {urlsplit(str(request['url'])).path or '/'}"
    return str(item.get("name", "unknown"))


def trace_to_spans(trace: dict[str, Any]) -> list[Span]:
    spans: list[Span] = []
    for segment in trace.get("Segments") or []:
        spans.extend(document_to_spans(json.loads(segment["Document"])))
    return sorted(spans, key=lambda s: (s.start_time_unix_nano, s.span_id))


# ------------------------------------------------------------------------------- expressions


def filter_expression(
    service: str | None = None, errors_only: bool = False, min_duration_ms: float | None = None
) -> str | None:
    """An X-Ray filter expression narrowing summaries; the exact filter runs again on spans."""
    parts = []
    if service:
        parts.append(f'service("{_quote(service)}")')
    if errors_only:
        parts.append("(fault = true OR error = true)")
    if min_duration_ms is not None:
        parts.append(f"duration >= {min_duration_ms / 1000:.3f}")
    return " AND ".join(parts) or None


def _quote(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"')


# ---------------------------------------------------------------------------------- reading


class TraceReader:
    """GetTraceSummaries + BatchGetTraces + GetServiceGraph, bounded by the config's caps."""

    def __init__(self, client: Any, calls: ApiCaller) -> None:
        self._client = client
        self._calls = calls
        self._config = calls.config
        self._notes = calls.notes
        self._cache: OrderedDict[str, list[Span]] = OrderedDict()
        self._lock = threading.Lock()

    def summaries(self, window: TimeWindow, expression: str | None = None) -> list[dict[str, Any]]:
        """Trace summaries in the window (split into ranges X-Ray accepts), newest ranges first."""
        margin = timedelta(seconds=self._config.trace_margin_seconds)
        start, end = window.start - margin, window.end + margin
        found: dict[str, dict[str, Any]] = {}
        cap = self._config.max_trace_summaries
        chunk_end = end
        while chunk_end > start and len(found) < cap:
            chunk_start = max(start, chunk_end - SUMMARY_MAX_RANGE)
            params: dict[str, Any] = {
                "StartTime": _whole_second(chunk_start, down=True),
                "EndTime": _whole_second(chunk_end, down=False),
            }
            if expression:
                params["FilterExpression"] = expression
            for summary in self._calls.pages(
                "xray:GetTraceSummaries",
                self._client,
                "get_trace_summaries",
                "TraceSummaries",
                cap - len(found),
                **params,
            ):
                found.setdefault(str(summary["Id"]), summary)
            chunk_end = chunk_start
        if len(found) >= cap:
            self._notes.add(
                "traces",
                f"X-Ray returned at least {cap} traces for {window.start:%H:%M}-{window.end:%H:%M}; "
                f"only the first {cap} trace summaries were read (max_trace_summaries)",
            )
        return list(found.values())

    def batch_get(self, trace_ids: Iterable[str]) -> list[list[Span]]:
        """Full traces (BatchGetTraces, 5 ids per call); traces already read are served from a cache."""
        wanted = [otel_trace_id(t) for t in dict.fromkeys(trace_ids)]
        with self._lock:
            missing = [xray_trace_id(t) for t in wanted if t not in self._cache]
        for i in range(0, len(missing), BATCH_GET_TRACES_MAX_IDS):
            for trace in self._calls.pages(
                "xray:BatchGetTraces",
                self._client,
                "batch_get_traces",
                "Traces",
                None,
                TraceIds=missing[i : i + BATCH_GET_TRACES_MAX_IDS],
            ):
                spans = trace_to_spans(trace)
                with self._lock:
                    self._cache[otel_trace_id(str(trace["Id"]))] = spans
                    while len(self._cache) > TRACE_CACHE_SIZE:
                        self._cache.popitem(last=False)
        with self._lock:
            return [self._cache[t] for t in wanted if t in self._cache]

    def sample(
        self, window: TimeWindow, expression: str | None, purpose: str
    ) -> tuple[list[list[Span]], int]:
        """Up to ``max_traces`` full traces spread evenly over the matching summaries.

        Returns the traces and how many traces matched, and notes the sampling when it cut.
        """
        summaries = self.summaries(window, expression)
        total = len(summaries)
        cap = self._config.max_traces
        if total > cap:
            step = total / cap
            chosen = [summaries[int(i * step)] for i in range(cap)]
            self._notes.add(
                "traces",
                f"{purpose}: computed from {cap} of {total} X-Ray traces sampled evenly "
                f"(max_traces={cap}); counts are scaled estimates",
            )
        else:
            chosen = summaries
        return self.batch_get(str(s["Id"]) for s in chosen), total

    def service_graph(self, window: TimeWindow) -> list[ServiceEdge]:
        services: dict[int, dict[str, Any]] = {}
        for service in self._calls.pages(
            "xray:GetServiceGraph",
            self._client,
            "get_service_graph",
            "Services",
            None,
            StartTime=window.start,
            EndTime=window.end,
        ):
            services[int(service["ReferenceId"])] = service
        merged: dict[tuple[str, str], list[dict[str, Any]]] = {}
        for service in services.values():
            for edge in service.get("Edges") or []:
                callee = services.get(int(edge["ReferenceId"]))
                if callee is None or service.get("Type") == "client":
                    continue
                merged.setdefault((str(service["Name"]), str(callee["Name"])), []).append(edge)
        edges = []
        for (caller, callee_name), stats in merged.items():
            callee = next(s for s in services.values() if s["Name"] == callee_name)
            requests = errors = 0
            histogram: list[tuple[float, int]] = []
            for edge in stats:
                summary = edge.get("SummaryStatistics") or {}
                requests += int(summary.get("TotalCount") or 0)
                errors += _error_count(summary)
                histogram.extend(
                    (float(h["Value"]), int(h["Count"])) for h in edge.get("ResponseTimeHistogram") or []
                )
            edges.append(
                ServiceEdge(
                    caller=caller,
                    callee=callee_name,
                    requests=requests,
                    errors=errors,
                    p50_ms=_histogram_quantile(histogram, 0.5),
                    p95_ms=_histogram_quantile(histogram, 0.95),
                    callee_is_external=not _is_instrumented(callee),
                )
            )
        return sorted(edges, key=lambda e: (e.caller, e.callee))


def _error_count(summary: dict[str, Any]) -> int:
    faults = int((summary.get("FaultStatistics") or {}).get("TotalCount") or 0)
    errors = int((summary.get("ErrorStatistics") or {}).get("TotalCount") or 0)
    return faults + errors


def _is_instrumented(service: dict[str, Any]) -> bool:
    """Services that send their own segments (compute), as opposed to inferred dependencies."""
    kind = str(service.get("Type") or "")
    if service.get("Edges") or service.get("Root"):
        return True
    return kind.startswith(_COMPUTE_TYPES)


def _histogram_quantile(histogram: list[tuple[float, int]], q: float) -> float | None:
    """Quantile (ms) of X-Ray's response-time histogram (seconds), interpolated like DuckDB's."""
    values = sorted(histogram)
    total = sum(count for _, count in values)
    if total == 0:
        return None
    position = q * (total - 1)
    low_index = int(position)
    low = _value_at(values, low_index)
    high = _value_at(values, min(low_index + 1, total - 1))
    return (low + (high - low) * (position - low_index)) * 1000.0


def _value_at(values: list[tuple[float, int]], index: int) -> float:
    seen = 0
    for value, count in values:
        seen += count
        if index < seen:
            return value
    return values[-1][0]


def _whole_second(moment: Any, *, down: bool) -> Any:
    trimmed = moment.replace(microsecond=0)
    if not down and trimmed != moment:
        trimmed += timedelta(seconds=1)
    return trimmed
