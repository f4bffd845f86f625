"""X-Ray segment documents, summaries, sampling and the service graph."""

from __future__ import annotations

import json
from collections import defaultdict
from datetime import UTC, datetime, timedelta

from botocore.stub import ANY, Stubber

from mcp_server.backends.aws.config import AwsBackendConfig
from mcp_server.backends.aws.testing.segments import trace_to_documents
from mcp_server.backends.aws.traces import (
    TraceReader,
    document_to_spans,
    filter_expression,
    otel_trace_id,
    xray_trace_id,
)
from mcp_server.backends.base import SpanQuery
from mcp_server.backends.local import LocalBackend
from mcp_server.telemetry import SpanKind, StatusCode, TimeWindow

from .conftest import client
from .helpers import caller

# A segment as the X-Ray SDK for Java records one (trimmed): an HTTP server segment with a
# DynamoDB call that was throttled and an internal subsegment.
SEGMENT = {
    "trace_id": "1-67891233-abcdef012345678912345678",
    "id": "53995c3f42cd8ad8",
    "name": "orders",
    "start_time": 1_773_155_000.125,
    "end_time": 1_773_155_000.375,
    "http": {
        "request": {"method": "POST", "url": "https://orders.example.com/api/orders"},
        "response": {"status": 500},
    },
    "fault": True,
    "cause": {
        "exceptions": [
            {
                "id": "a1b2c3d4e5f6a7b8",
                "type": "ProvisionedThroughputExceededException",
                "message": "Rate exceeded",
            }
        ]
    },
    "aws": {"ec2": {"instance_id": "i-0abc", "availability_zone": "us-east-1b"}},
    "annotations": {"tenant": "blue"},
    "subsegments": [
        {
            "id": "2a3b4c5d6e7f8091",
            "name": "DynamoDB",
            "namespace": "aws",
            "start_time": 1_773_155_000.150,
            "end_time": 1_773_155_000.350,
            "aws": {"operation": "PutItem", "table_name": "orders"},
            "http": {"response": {"status": 400}},
            "error": True,
            "throttle": True,
        },
        {
            "id": "1a2b3c4d5e6f7081",
            "name": "validate",
            "start_time": 1_773_155_000.126,
            "end_time": 1_773_155_000.140,
        },
    ],
}


def test_a_segment_becomes_a_server_span_with_client_and_internal_children() -> None:
    spans = {s.span_id: s for s in document_to_spans(SEGMENT)}
    server, dynamo, internal = spans["53995c3f42cd8ad8"], spans["2a3b4c5d6e7f8091"], spans["1a2b3c4d5e6f7081"]

    assert server.trace_id == "67891233abcdef012345678912345678"
    assert (server.service, server.kind, server.operation) == ("orders", SpanKind.SERVER, "POST /api/orders")
    assert server.start_time_unix_nano == 1_773_155_000_125_000_000
    assert server.status_code == StatusCode.ERROR and server.is_error
    assert server.events[0].attributes["exception.type"] == "ProvisionedThroughputExceededException"
    assert server.availability_zone == "us-east-1b" and server.resource["host.id"] == "i-0abc"
    assert server.attributes["tenant"] == "blue"
    assert (dynamo.kind, dynamo.operation, dynamo.parent_span_id) == (
        SpanKind.CLIENT,
        "PutItem",
        server.span_id,
    )
    assert dynamo.service == "orders" and dynamo.http_status == 400 and dynamo.is_error  # a client 4xx fails
    assert (internal.kind, internal.operation, internal.is_error) == (SpanKind.INTERNAL, "validate", False)


def test_a_server_4xx_is_not_an_error() -> None:
    segment = {
        **SEGMENT,
        "fault": False,
        "error": True,
        "http": {"response": {"status": 404}},
        "subsegments": [],
    }
    segment.pop("cause")

    (span,) = document_to_spans(segment)

    assert span.http_status == 404 and not span.is_error


def test_trace_ids_convert_between_x_ray_and_opentelemetry() -> None:
    assert otel_trace_id("1-5f84c7a1-0123456789abcdef01234567") == "5f84c7a10123456789abcdef01234567"
    assert xray_trace_id("5f84c7a10123456789abcdef01234567") == "1-5f84c7a1-0123456789abcdef01234567"


def test_filter_expressions_narrow_by_service_errors_and_duration() -> None:
    assert filter_expression() is None
    assert filter_expression('we"ird', errors_only=True, min_duration_ms=1500) == (
        'service("we\\"ird") AND (fault = true OR error = true) AND duration >= 1.500'
    )


def test_simulated_traces_survive_a_round_trip_through_segment_documents(local_backend: LocalBackend) -> None:
    window = local_backend.time_range()
    assert window is not None
    traces = defaultdict(list)
    for span in local_backend.query_spans(SpanQuery(window=window, limit=2_000)):
        traces[span.trace_id].append(span)
    for trace in list(traces.values())[:100]:
        back = [
            s
            for doc in trace_to_documents(local_backend.get_trace(trace[0].trace_id))
            for s in document_to_spans(json.loads(json.dumps(doc)))
        ]
        original = sorted(local_backend.get_trace(trace[0].trace_id), key=lambda s: s.span_id)
        back.sort(key=lambda s: s.span_id)
        assert [
            (
                s.span_id,
                s.parent_span_id,
                s.service,
                s.operation,
                s.kind,
                s.is_error,
                s.attributes,
                s.resource,
            )
            for s in back
        ] == [
            (
                s.span_id,
                s.parent_span_id,
                s.service,
                s.operation,
                s.kind,
                s.is_error,
                s.attributes,
                s.resource,
            )
            for s in original
        ]
        assert all(
            abs(a.end_time_unix_nano - b.end_time_unix_nano) < 1_000
            for a, b in zip(back, original, strict=True)
        )


def _window(hours: float) -> TimeWindow:
    end = datetime(2026, 3, 10, 18, 0, tzinfo=UTC)
    return TimeWindow(start=end - timedelta(hours=hours), end=end)


def test_a_wide_window_is_read_in_six_hour_summary_calls_newest_first() -> None:
    xray = client("xray")
    reader = TraceReader(xray, caller(AwsBackendConfig(trace_margin_seconds=0)))
    with Stubber(xray) as stub:
        for start, end in (("12:00", "18:00"), ("06:00", "12:00"), ("05:00", "06:00")):
            stub.add_response(
                "get_trace_summaries",
                {"TraceSummaries": [{"Id": f"1-67891233-{start.replace(':', '')}{'0' * 20}"}]},
                {
                    "StartTime": datetime.fromisoformat(f"2026-03-10T{start}:00+00:00"),
                    "EndTime": datetime.fromisoformat(f"2026-03-10T{end}:00+00:00"),
                    "FilterExpression": 'service("orders")',
                },
            )
        summaries = reader.summaries(_window(13), 'service("orders")')
        stub.assert_no_pending_responses()

    assert len(summaries) == 3


def test_trace_sampling_is_capped_spread_evenly_and_noted() -> None:
    xray = client("xray")
    calls = caller(AwsBackendConfig(max_traces=2))
    reader = TraceReader(xray, calls)
    notes = calls.notes
    ids = [f"1-67891233-{i:024x}" for i in range(10)]
    document = json.dumps({**SEGMENT, "subsegments": []})
    with Stubber(xray) as stub:
        stub.add_response("get_trace_summaries", {"TraceSummaries": [{"Id": i} for i in ids]}, None)
        stub.add_response(
            "batch_get_traces",
            {
                "Traces": [
                    {"Id": i, "Segments": [{"Id": "53995c3f42cd8ad8", "Document": document}]}
                    for i in (ids[0], ids[5])
                ]
            },
            {"TraceIds": [ids[0], ids[5]]},
        )
        traces, total = reader.sample(_window(1), None, "span statistics")
        again = reader.batch_get([ids[0]])  # served from the cache: no further call

    assert (len(traces), total) == (2, 10)
    assert again[0][0].span_id == "53995c3f42cd8ad8"
    assert "2 of 10 X-Ray traces" in notes.all()[0].message


# GetServiceGraph as X-Ray returns it (trimmed): a client, two services and a DynamoDB table.
SERVICE_GRAPH = {
    "StartTime": datetime(2026, 3, 10, 17, 0, tzinfo=UTC),
    "EndTime": datetime(2026, 3, 10, 18, 0, tzinfo=UTC),
    "Services": [
        {
            "ReferenceId": 0,
            "Name": "users",
            "Type": "client",
            "Edges": [{"ReferenceId": 1, "SummaryStatistics": {"TotalCount": 9}}],
        },
        {
            "ReferenceId": 1,
            "Name": "frontend",
            "Type": "AWS::ECS::Container",
            "Root": True,
            "Edges": [
                {
                    "ReferenceId": 2,
                    "SummaryStatistics": {
                        "OkCount": 7,
                        "ErrorStatistics": {"TotalCount": 1},
                        "FaultStatistics": {"TotalCount": 2},
                        "TotalCount": 10,
                        "TotalResponseTime": 1.0,
                    },
                    "ResponseTimeHistogram": [{"Value": 0.05, "Count": 5}, {"Value": 0.15, "Count": 5}],
                }
            ],
        },
        {
            "ReferenceId": 2,
            "Name": "orders",
            "Type": "AWS::ECS::Container",
            "Edges": [{"ReferenceId": 3, "SummaryStatistics": {"TotalCount": 4}}],
        },
        {"ReferenceId": 3, "Name": "orders-table", "Type": "AWS::DynamoDB::Table", "Edges": []},
    ],
}


def test_the_service_graph_becomes_edges_with_external_dependencies_marked() -> None:
    xray = client("xray")
    reader = TraceReader(xray, caller())
    with Stubber(xray) as stub:
        stub.add_response("get_service_graph", SERVICE_GRAPH, {"StartTime": ANY, "EndTime": ANY})
        edges = reader.service_graph(_window(1))

    assert [(e.caller, e.callee, e.requests, e.errors, e.callee_is_external) for e in edges] == [
        ("frontend", "orders", 10, 3, False),
        ("orders", "orders-table", 4, 0, True),
    ]
    assert edges[0].p50_ms == 100.0 and edges[0].p95_ms == 150.0
