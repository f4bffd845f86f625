from __future__ import annotations

from pathlib import Path

from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import ExportMetricsServiceRequest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, ArrayValue, KeyValue
from opentelemetry.proto.logs.v1.logs_pb2 import LogRecord as PbLogRecord
from opentelemetry.proto.metrics.v1.metrics_pb2 import (
    AggregationTemporality,
    Gauge,
    Histogram,
    HistogramDataPoint,
    Metric,
    NumberDataPoint,
    Sum,
)
from opentelemetry.proto.trace.v1.trace_pb2 import Span as PbSpan
from opentelemetry.proto.trace.v1.trace_pb2 import Status

from mcp_server.backends.base import LogQuery, MetricQuery, SpanQuery
from mcp_server.backends.local import LocalBackend
from mcp_server.telemetry import MetricKind, Severity, SpanKind, StatusCode, TimeWindow, from_nanos
from tests.mcp_server.backends.local.otlp_fixtures import write_jsonl

T0 = 1_767_261_600_123_456_789  # nanosecond precision must survive
TRACE = bytes.fromhex("5b8efff798038103d269b633813fc60c")
ROOT = bytes.fromhex("eee19b7ec3c1b174")
CHILD = bytes.fromhex("eee19b7ec3c1b175")


def _kv(key: str, value: object) -> KeyValue:
    if isinstance(value, bool):
        return KeyValue(key=key, value=AnyValue(bool_value=value))
    if isinstance(value, int):
        return KeyValue(key=key, value=AnyValue(int_value=value))
    if isinstance(value, float):
        return KeyValue(key=key, value=AnyValue(double_value=value))
    if isinstance(value, list):
        return KeyValue(
            key=key, value=AnyValue(array_value=ArrayValue(values=[AnyValue(string_value=v) for v in value]))
        )
    return KeyValue(key=key, value=AnyValue(string_value=str(value)))


RESOURCE = [
    _kv("service.name", "visits"),
    _kv("host.name", "visits-7f9c"),
    _kv("cloud.availability_zone", "eu-west-1b"),
]


def _write_scenario(directory: Path) -> None:
    traces = ExportTraceServiceRequest()
    rs = traces.resource_spans.add()
    rs.resource.attributes.extend(RESOURCE)
    ss = rs.scope_spans.add()
    ss.scope.name, ss.scope.version = "io.opentelemetry.aws-sdk-2.2", "2.6.0"
    root = PbSpan(
        trace_id=TRACE,
        span_id=ROOT,
        name="GET /owners/{ownerId}/pets/{petId}/visits",
        kind=PbSpan.SPAN_KIND_SERVER,
        start_time_unix_nano=T0,
        end_time_unix_nano=T0 + 250_000_001,
        attributes=[
            _kv("http.route", "/owners/{ownerId}/pets/{petId}/visits"),
            _kv("http.response.status_code", 500),
        ],
        status=Status(code=Status.STATUS_CODE_ERROR, message="Internal Server Error"),
        trace_state="vendor=1",
    )
    child = PbSpan(
        trace_id=TRACE,
        span_id=CHILD,
        parent_span_id=ROOT,
        name="DynamoDB.Query",
        kind=PbSpan.SPAN_KIND_CLIENT,
        start_time_unix_nano=T0 + 10,
        end_time_unix_nano=T0 + 240_000_000,
        attributes=[
            _kv("rpc.system", "aws-api"),
            _kv("rpc.service", "DynamoDB"),
            _kv("aws.dynamodb.table_names", ["Visits"]),
            _kv("retry.attempt", 3),
            _kv("sampled", True),
            _kv("ratio", 0.25),
        ],
        status=Status(code=Status.STATUS_CODE_ERROR, message="Rate exceeded"),
    )
    event = child.events.add()
    event.name, event.time_unix_nano = "exception", T0 + 239_000_000
    event.attributes.extend([_kv("exception.type", "ProvisionedThroughputExceededException")])
    link = child.links.add()
    link.trace_id, link.span_id = TRACE, ROOT
    ss.spans.extend([root, child])
    write_jsonl(directory / "traces.jsonl", [traces])

    logs = ExportLogsServiceRequest()
    rl = logs.resource_logs.add()
    rl.resource.attributes.extend(RESOURCE)
    sl = rl.scope_logs.add()
    sl.log_records.append(
        PbLogRecord(
            time_unix_nano=T0 + 5,
            observed_time_unix_nano=T0 + 6,
            severity_number=17,
            severity_text="ERROR",
            body=AnyValue(string_value="Throttled by DynamoDB: ProvisionedThroughputExceededException"),
            attributes=[_kv("code.function", "VisitRepository.findByPetId")],
            trace_id=TRACE,
            span_id=CHILD,
            flags=1,
        )
    )
    write_jsonl(directory / "logs.jsonl", [logs])

    metrics = ExportMetricsServiceRequest()
    rm = metrics.resource_metrics.add()
    rm.resource.attributes.extend(RESOURCE)
    sm = rm.scope_metrics.add()
    sm.metrics.extend(
        [
            Metric(
                name="process.cpu.utilization",
                unit="1",
                gauge=Gauge(data_points=[NumberDataPoint(time_unix_nano=T0, as_double=0.93)]),
            ),
            Metric(
                name="http.server.request.count",
                unit="{request}",
                sum=Sum(
                    aggregation_temporality=AggregationTemporality.AGGREGATION_TEMPORALITY_CUMULATIVE,
                    is_monotonic=True,
                    data_points=[
                        NumberDataPoint(
                            time_unix_nano=T0,
                            start_time_unix_nano=T0 - 60,
                            as_int=1200,
                            attributes=[_kv("http.route", "/visits")],
                        )
                    ],
                ),
            ),
            Metric(
                name="http.server.request.duration",
                unit="s",
                histogram=Histogram(
                    aggregation_temporality=AggregationTemporality.AGGREGATION_TEMPORALITY_DELTA,
                    data_points=[
                        HistogramDataPoint(
                            time_unix_nano=T0,
                            count=4,
                            sum=2.0,
                            explicit_bounds=[0.1, 1.0],
                            bucket_counts=[1, 2, 1],
                            min=0.05,
                            max=1.2,
                        )
                    ],
                ),
            ),
        ]
    )
    write_jsonl(directory / "metrics.jsonl", [metrics])
    (directory / "scenario.yaml").write_text(
        "name: round-trip\nwindow: {start: '2026-01-01T10:00:00Z', end: '2026-01-01T10:30:00Z'}\n",
        encoding="utf-8",
    )


def test_spans_written_by_opentelemetry_proto_import_with_every_field_intact(tmp_path: Path) -> None:
    _write_scenario(tmp_path)
    backend = LocalBackend.from_scenario(tmp_path)

    spans = backend.get_trace(TRACE.hex())

    assert [s.span_id for s in spans] == [ROOT.hex(), CHILD.hex()]
    root, child = spans
    assert root.start_time_unix_nano == T0 and root.end_time_unix_nano == T0 + 250_000_001
    assert root.kind == SpanKind.SERVER and root.status_code == StatusCode.ERROR
    assert root.status_message == "Internal Server Error" and root.trace_state == "vendor=1"
    assert root.attributes == {
        "http.route": "/owners/{ownerId}/pets/{petId}/visits",
        "http.response.status_code": 500,
    }
    assert root.resource == {
        "service.name": "visits",
        "host.name": "visits-7f9c",
        "cloud.availability_zone": "eu-west-1b",
    }
    assert root.host == "visits-7f9c" and root.availability_zone == "eu-west-1b"
    assert child.parent_span_id == ROOT.hex() and child.kind == SpanKind.CLIENT
    assert child.attributes == {
        "rpc.system": "aws-api",
        "rpc.service": "DynamoDB",
        "aws.dynamodb.table_names": ["Visits"],
        "retry.attempt": 3,
        "sampled": True,
        "ratio": 0.25,
    }
    assert child.scope_name == "io.opentelemetry.aws-sdk-2.2" and child.scope_version == "2.6.0"
    assert [(e.name, e.time_unix_nano, e.attributes) for e in child.events] == [
        ("exception", T0 + 239_000_000, {"exception.type": "ProvisionedThroughputExceededException"})
    ]
    assert [(link.trace_id, link.span_id) for link in child.links] == [(TRACE.hex(), ROOT.hex())]


def test_logs_written_by_opentelemetry_proto_import_with_every_field_intact(tmp_path: Path) -> None:
    _write_scenario(tmp_path)
    backend = LocalBackend.from_scenario(tmp_path)

    [record] = backend.query_logs(LogQuery())

    assert record.time_unix_nano == T0 + 5 and record.observed_time_unix_nano == T0 + 6
    assert (
        record.severity == Severity.ERROR and record.severity_number == 17 and record.severity_text == "ERROR"
    )
    assert record.body == "Throttled by DynamoDB: ProvisionedThroughputExceededException"
    assert record.trace_id == TRACE.hex() and record.span_id == CHILD.hex() and record.flags == 1
    assert record.attributes == {"code.function": "VisitRepository.findByPetId"}
    assert record.service == "visits" and record.resource["host.name"] == "visits-7f9c"


def test_metrics_written_by_opentelemetry_proto_import_with_kinds_units_and_values(tmp_path: Path) -> None:
    _write_scenario(tmp_path)
    backend = LocalBackend.from_scenario(tmp_path)
    window = TimeWindow(start=from_nanos(T0 - 3_600_000_000_000), end=from_nanos(T0 + 3_600_000_000_000))

    described = {(m.name, m.kind, m.unit) for m in backend.list_metrics("visits")}
    cpu = backend.query_metrics(MetricQuery(name="process.cpu.utilization", window=window))
    latency = backend.query_metrics(
        MetricQuery(name="http.server.request.duration", window=window, statistic="avg")
    )
    requests = backend.query_metrics(
        MetricQuery(name="http.server.request.count", window=window, statistic="max", group_by=["http.route"])
    )

    assert described == {
        ("process.cpu.utilization", MetricKind.GAUGE, "1"),
        ("http.server.request.count", MetricKind.SUM, "{request}"),
        ("http.server.request.duration", MetricKind.HISTOGRAM, "s"),
    }
    assert cpu[0].points[0].value == 0.93
    assert latency[0].points[0].value == 0.5
    assert requests[0].attributes == {"http.route": "/visits"} and requests[0].points[0].value == 1200


def test_an_unset_span_status_is_an_error_when_an_error_log_carries_its_trace_and_span(
    tmp_path: Path,
) -> None:
    _write_scenario(tmp_path)
    text = (tmp_path / "traces.jsonl").read_text()
    (tmp_path / "traces.jsonl").write_text(text.replace('"code": 2', '"code": 0'))

    backend = LocalBackend.from_scenario(tmp_path)
    errors = backend.query_spans(SpanQuery(errors_only=True))

    # The root is still an error through its HTTP 500; the child only through the ERROR log.
    assert {s.span_id for s in errors} == {ROOT.hex(), CHILD.hex()}
