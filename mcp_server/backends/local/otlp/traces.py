"""Decode OTLP/JSON ``ExportTraceServiceRequest`` lines into span rows."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from mcp_server.backends.local.otlp.envelope import ColumnBuffer, Layout, Origin, decode_file, row_per_record
from mcp_server.backends.local.otlp.fields import (
    UINT32_MAX,
    FieldError,
    as_list,
    attributes,
    check,
    dumps,
    dumps_list,
    enum,
    hex_id,
    integer,
    known,
    show,
    text,
    unsigned,
)
from mcp_server.span_conventions import HTTP_STATUS_KEYS, span_is_error, span_peer

SPAN_COLUMNS = (
    "trace_id",
    "span_id",
    "parent_span_id",
    "service",
    "operation",
    "kind",
    "start_ns",
    "end_ns",
    "status_code",
    "status_message",
    "is_error",
    "http_status",
    "peer",
    "host",
    "az",
    "exception_type",
    "exception_message",
    "attributes",
    "resource",
    "events",
    "links",
    "trace_state",
    "flags",
    "scope_name",
    "scope_version",
)

_SPAN = known(
    "traceId",
    "spanId",
    "traceState",
    "parentSpanId",
    "flags",
    "name",
    "kind",
    "startTimeUnixNano",
    "endTimeUnixNano",
    "attributes",
    "droppedAttributesCount",
    "events",
    "droppedEventsCount",
    "links",
    "droppedLinksCount",
    "status",
)
_EVENT = known("timeUnixNano", "name", "attributes", "droppedAttributesCount")
_LINK = known("traceId", "spanId", "traceState", "attributes", "droppedAttributesCount", "flags")
_STATUS = known("message", "code")
_SPAN_KIND_NAMES = {
    "SPAN_KIND_UNSPECIFIED": 0,
    "SPAN_KIND_INTERNAL": 1,
    "SPAN_KIND_SERVER": 2,
    "SPAN_KIND_CLIENT": 3,
    "SPAN_KIND_PRODUCER": 4,
    "SPAN_KIND_CONSUMER": 5,
}
_STATUS_NAMES = {"STATUS_CODE_UNSET": 0, "STATUS_CODE_OK": 1, "STATUS_CODE_ERROR": 2}
_LAYOUT = Layout(
    known("resourceSpans"),
    "resourceSpans",
    known("resource", "scopeSpans", "schemaUrl"),
    "scopeSpans",
    known("scope", "spans", "schemaUrl"),
    "spans",
)


def decode_traces_file(
    path: Path, out: ColumnBuffer, byte_range: tuple[int, int] | None = None, first_line: int = 1
) -> None:
    decode_file(path, out, byte_range, first_line, _decode_request)


def _http_status(attrs: dict[str, Any]) -> int | None:
    """The HTTP status as the store keeps it (a small integer), or None when absent or not one."""
    status = attrs.get(HTTP_STATUS_KEYS[0])
    if type(status) is int and 0 <= status <= 999:  # the commonest by far
        return status
    for key in HTTP_STATUS_KEYS:
        value = attrs.get(key)
        if value is None:
            continue
        if isinstance(value, float) and not value.is_integer():
            raise FieldError(f"attributes.{key}", f"{show(value)} is not an HTTP status code")
        try:
            status = int(value)
        except (TypeError, ValueError):
            return None
        if not 0 <= status <= 999:
            raise FieldError(f"attributes.{key}", f"{status} is not an HTTP status code (0..999)")
        return status
    return None


def _events(items: Any) -> tuple[list[dict[str, Any]], Any, Any]:
    """The span's events, and the type and message of its first exception event."""
    events = []
    exception_type = exception_message = None
    for ei, event in enumerate(as_list(items, "events")):
        try:
            event = check(event, _EVENT, "")
            name = text(event.get("name"), "name")
            eattrs = attributes(event.get("attributes"), "attributes")
            events.append(
                {
                    "name": name,
                    "time_unix_nano": unsigned(event.get("timeUnixNano"), "timeUnixNano"),
                    "attributes": eattrs,
                }
            )
        except FieldError as exc:
            raise exc.under(f"events[{ei}]") from None
        if name == "exception" and exception_type is None:
            exception_type = eattrs.get("exception.type")
            exception_message = eattrs.get("exception.message")
    return events, exception_type, exception_message


def _links(items: Any) -> list[dict[str, Any]]:
    links = []
    for li, link in enumerate(as_list(items, "links")):
        try:
            link = check(link, _LINK, "")
            links.append(
                {
                    "trace_id": hex_id(link.get("traceId"), 32, "traceId") or "",
                    "span_id": hex_id(link.get("spanId"), 16, "spanId") or "",
                    "attributes": attributes(link.get("attributes"), "attributes"),
                }
            )
        except FieldError as exc:
            raise exc.under(f"links[{li}]") from None
    return links


def _decode_span(span: Any, origin: Origin) -> tuple[Any, ...]:
    span = check(span, _SPAN, "")
    trace_id = hex_id(span.get("traceId"), 32, "traceId")
    span_id = hex_id(span.get("spanId"), 16, "spanId")
    if trace_id is None:
        raise FieldError("traceId", "missing trace id")
    if span_id is None:
        raise FieldError("spanId", "missing span id")
    parent = hex_id(span.get("parentSpanId"), 16, "parentSpanId")
    kind = enum(span.get("kind"), _SPAN_KIND_NAMES, "kind")
    start = unsigned(span.get("startTimeUnixNano"), "startTimeUnixNano")
    end = unsigned(span.get("endTimeUnixNano"), "endTimeUnixNano")
    if end < start:
        raise FieldError("endTimeUnixNano", "span ends before it starts")
    attrs = attributes(span.get("attributes"), "attributes")
    status = check(span.get("status") or {}, _STATUS, "status")
    status_code = enum(status.get("code"), _STATUS_NAMES, "status.code")
    status_message = text(status.get("message"), "status.message")
    events, exception_type, exception_message = _events(span.get("events"))
    links = _links(span.get("links"))
    http_status = _http_status(attrs)
    is_error = span_is_error(status_code, kind, attrs, [str(e["name"]) for e in events])
    return (
        trace_id,
        span_id,
        parent,
        origin.service,
        text(span.get("name"), "name"),
        kind,
        start,
        end,
        status_code,
        status_message,
        is_error,
        http_status,
        span_peer(kind, attrs),
        origin.host,
        origin.zone,
        None if exception_type is None else str(exception_type),
        None if exception_message is None else str(exception_message),
        dumps(attrs),
        origin.resource_json,
        dumps_list(events),
        dumps_list(links),
        text(span.get("traceState"), "traceState"),
        integer(span.get("flags"), "flags", 0, UINT32_MAX),
        origin.scope_name,
        origin.scope_version,
    )


_decode_request = row_per_record(_LAYOUT, _decode_span)
