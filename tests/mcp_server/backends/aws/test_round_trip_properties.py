"""Property tests: spans survive X-Ray segment documents, log records survive CloudWatch messages."""

from __future__ import annotations

import json

from hypothesis import given, settings
from hypothesis import strategies as st

from mcp_server.backends.aws.logs import parse_event
from mcp_server.backends.aws.testing.scenario_loader import log_message
from mcp_server.backends.aws.testing.segments import trace_to_documents
from mcp_server.backends.aws.traces import document_to_spans
from mcp_server.telemetry import LogRecord, Severity, Span, SpanEvent, SpanKind, StatusCode

SERVICES = ["frontend", "orders", "billing"]
hex16 = st.text("0123456789abcdef", min_size=16, max_size=16)
scalars = st.one_of(st.text(max_size=12), st.integers(-1000, 1000), st.booleans())
attributes = st.dictionaries(
    st.sampled_from(["app.tenant", "db.system", "peer.service", "retry.count"]), scalars, max_size=3
)


@st.composite
def traces(draw: st.DrawFn) -> list[Span]:
    trace_id = draw(st.text("0123456789abcdef", min_size=32, max_size=32))
    count = draw(st.integers(1, 8))
    ids = draw(st.lists(hex16, min_size=count, max_size=count, unique=True))
    spans = []
    start = 1_773_155_000_000_000 + draw(st.integers(0, 10**9)) * 1_000
    for index, span_id in enumerate(ids):
        parent = None if index == 0 else ids[draw(st.integers(0, index - 1))]
        begin = start + draw(st.integers(0, 10**6)) * 1_000
        status = draw(st.sampled_from([StatusCode.UNSET, StatusCode.ERROR]))
        attrs = draw(attributes)
        http = draw(st.one_of(st.none(), st.sampled_from([200, 404, 429, 500, 503])))
        if http is not None:
            attrs["http.response.status_code"] = http
        events = []
        if status == StatusCode.ERROR and draw(st.booleans()):
            events.append(
                SpanEvent(
                    name="exception",
                    time_unix_nano=begin,
                    attributes={"exception.type": "Boom", "exception.message": "it broke"},
                )
            )
        spans.append(
            Span(
                trace_id=trace_id,
                span_id=span_id,
                parent_span_id=parent,
                service=draw(st.sampled_from(SERVICES)),
                operation=draw(st.sampled_from(["GET /a", "POST /b", "SELECT", "work"])),
                kind=draw(st.sampled_from(list(SpanKind))),
                start_time_unix_nano=begin,
                end_time_unix_nano=begin + draw(st.integers(0, 10**6)) * 1_000,
                status_code=status,
                status_message="failed" if status == StatusCode.ERROR and not events else "",
                attributes=attrs,
                resource={"service.version": "1.2.3", "cloud.availability_zone": "us-east-1a"},
                events=events,
            )
        )
    for i, span in enumerate(spans):  # resources name their own service, as OTLP resources do
        spans[i] = span.model_copy(update={"resource": {**span.resource, "service.name": span.service}})
    return spans


@settings(max_examples=60, deadline=None)
@given(traces())
def test_spans_survive_a_trip_through_x_ray_segment_documents(trace: list[Span]) -> None:
    documents = [json.loads(json.dumps(doc)) for doc in trace_to_documents(trace)]
    back = {s.span_id: s for doc in documents for s in document_to_spans(doc)}

    assert back.keys() == {s.span_id for s in trace}
    for span in trace:
        mine = back[span.span_id]
        assert (mine.trace_id, mine.parent_span_id, mine.service, mine.operation, mine.kind) == (
            span.trace_id,
            span.parent_span_id,
            span.service,
            span.operation,
            span.kind,
        )
        assert (mine.start_time_unix_nano, mine.end_time_unix_nano) == (
            span.start_time_unix_nano,
            span.end_time_unix_nano,
        )
        assert mine.is_error == span.is_error
        assert mine.attributes == span.attributes and mine.resource == span.resource
        assert [e.attributes for e in mine.events] == [e.attributes for e in span.events]


@st.composite
def log_records(draw: st.DrawFn) -> LogRecord:
    number = draw(st.integers(1, 24))
    return LogRecord(
        time_unix_nano=draw(st.integers(1_700_000_000_000, 1_800_000_000_000)) * 1_000_000,
        service=draw(st.sampled_from(SERVICES)),
        severity=Severity.from_number(number),
        severity_number=number,
        severity_text=Severity.from_number(number).value,
        body=draw(st.text(max_size=80)),
        trace_id=draw(st.one_of(st.none(), st.text("0123456789abcdef", min_size=32, max_size=32))),
        span_id=draw(st.one_of(st.none(), hex16)),
        attributes=draw(attributes),
        resource={"service.name": "orders"},
    )


@settings(max_examples=100, deadline=None)
@given(log_records())
def test_log_records_survive_the_cloudwatch_logs_exporter_message(record: LogRecord) -> None:
    parsed = parse_event(log_message(record), record.time_unix_nano // 1_000_000, "ignored")

    assert (parsed.body, parsed.severity, parsed.severity_number, parsed.trace_id, parsed.span_id) == (
        record.body,
        record.severity,
        record.severity_number,
        record.trace_id,
        record.span_id,
    )
    assert (parsed.service, parsed.attributes, parsed.time_unix_nano) == (
        "orders",
        record.attributes,
        record.time_unix_nano,
    )
