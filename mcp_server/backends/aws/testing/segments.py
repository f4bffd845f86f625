"""Spans as X-Ray segment documents, the way the ADOT X-Ray exporter writes them.

The inverse of :func:`mcp_server.backends.aws.traces.document_to_spans`: a span starts a new
segment when it has no parent in the trace, its parent belongs to another service, or it is a
SERVER/CONSUMER span; other spans nest as subsegments (CLIENT/PRODUCER ones in namespace
``remote``, named after the dependency they call so X-Ray's service graph shows it).
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from mcp_server.backends.aws.traces import KIND_KEY, RESOURCE_PREFIX, xray_trace_id
from mcp_server.span_conventions import span_peer
from mcp_server.telemetry import Span, SpanKind

_SEGMENT_KINDS = (SpanKind.SERVER, SpanKind.CONSUMER)
_REMOTE_KINDS = (SpanKind.CLIENT, SpanKind.PRODUCER)


def trace_to_documents(trace: list[Span]) -> list[dict[str, Any]]:
    by_id = {s.span_id: s for s in trace}
    children: dict[str | None, list[Span]] = defaultdict(list)
    for span in sorted(trace, key=lambda s: (s.start_time_unix_nano, s.span_id)):
        children[span.parent_span_id].append(span)

    def starts_segment(span: Span) -> bool:
        parent = by_id.get(span.parent_span_id or "")
        return parent is None or parent.service != span.service or span.kind in _SEGMENT_KINDS

    def item(span: Span, segment: bool) -> dict[str, Any]:
        attrs = span.attributes
        metadata: dict[str, Any] = dict(attrs)
        doc: dict[str, Any] = {
            "id": span.span_id,
            "start_time": span.start_time_unix_nano / 1e9,
            "end_time": span.end_time_unix_nano / 1e9,
        }
        remote_children = [c for c in children[span.span_id] if starts_segment(c)]
        if segment:
            doc["name"] = span.service
            metadata["aws.local.operation"] = span.operation
            metadata.update({RESOURCE_PREFIX + k: v for k, v in span.resource.items()})
        elif span.kind in _REMOTE_KINDS:
            peer = span_peer(int(span.kind), attrs)
            doc["name"] = peer or (remote_children[0].service if remote_children else span.operation)
            doc["namespace"] = "remote"
            metadata["aws.remote.operation"] = span.operation
        else:
            doc["name"] = span.operation
        status = span.http_status
        http: dict[str, Any] = {}
        if attrs.get("http.request.method") or attrs.get("url.full"):
            http["request"] = {
                k: v
                for k, v in (("method", attrs.get("http.request.method")), ("url", attrs.get("url.full")))
                if v
            }
        if status is not None:
            http["response"] = {"status": status}
        if http:
            doc["http"] = http
        if span.is_error:
            doc["fault"] = True
        if status is not None and 400 <= status < 500:
            doc["error"] = True
            if status == 429:
                doc["throttle"] = True
        exceptions = [
            {
                "id": f"{span.span_id[:8]}{i:08x}",
                "type": str(e.attributes.get("exception.type", "")),
                "message": str(e.attributes.get("exception.message", "")),
            }
            for i, e in enumerate(span.events)
            if e.name == "exception" and e.attributes.get("exception.type")
        ]
        if span.status_message:
            exceptions.append({"id": f"{span.span_id[:8]}ffffffff", "message": span.status_message})
        if exceptions:
            doc["cause"] = {"exceptions": exceptions}
        implied = (
            SpanKind.SERVER
            if segment
            else SpanKind.CLIENT
            if span.kind in _REMOTE_KINDS
            else SpanKind.INTERNAL
        )
        if span.kind != implied:
            metadata[KIND_KEY] = span.kind.name
        doc["metadata"] = {"default": metadata}
        subsegments = [item(c, False) for c in children[span.span_id] if not starts_segment(c)]
        if subsegments:
            doc["subsegments"] = subsegments
        return doc

    documents = []
    for span in trace:
        if starts_segment(span):
            doc = item(span, True)
            doc["trace_id"] = xray_trace_id(span.trace_id)
            if span.parent_span_id:
                doc["parent_id"] = span.parent_span_id
            documents.append(doc)
    return documents
