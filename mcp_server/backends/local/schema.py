"""DuckDB tables of the local store and the Arrow schemas used to bulk-load them."""

from __future__ import annotations

import pyarrow as pa

SCHEMA_VERSION = "4"

DDL = """
CREATE TABLE IF NOT EXISTS meta (key VARCHAR PRIMARY KEY, value VARCHAR);
CREATE TABLE IF NOT EXISTS spans (
    trace_id VARCHAR, span_id VARCHAR, parent_span_id VARCHAR, service VARCHAR, operation VARCHAR,
    kind TINYINT, start_ns BIGINT, end_ns BIGINT, status_code TINYINT, status_message VARCHAR,
    is_error BOOLEAN, http_status INTEGER, peer VARCHAR, host VARCHAR, az VARCHAR,
    exception_type VARCHAR, exception_message VARCHAR, attributes VARCHAR, resource VARCHAR,
    events VARCHAR, links VARCHAR, trace_state VARCHAR, flags BIGINT, scope_name VARCHAR,
    scope_version VARCHAR,
    duration_ms DOUBLE, self_ms DOUBLE, is_origin BOOLEAN, is_entry BOOLEAN,
    callee VARCHAR, parent_service VARCHAR, parent_operation VARCHAR, last_callee VARCHAR
);
CREATE TABLE IF NOT EXISTS logs (
    time_ns BIGINT, observed_ns BIGINT, service VARCHAR, severity VARCHAR, severity_number TINYINT,
    severity_text VARCHAR, body VARCHAR, trace_id VARCHAR, span_id VARCHAR, host VARCHAR, az VARCHAR,
    attributes VARCHAR, resource VARCHAR, scope_name VARCHAR, flags BIGINT, event_name VARCHAR
);
CREATE TABLE IF NOT EXISTS metrics (
    name VARCHAR, service VARCHAR, kind VARCHAR, unit VARCHAR, description VARCHAR, time_ns BIGINT,
    start_ns BIGINT, value DOUBLE, attributes VARCHAR, resource VARCHAR, series_key VARCHAR,
    host VARCHAR, az VARCHAR, temporality TINYINT, is_monotonic BOOLEAN, count BIGINT, sum DOUBLE,
    min DOUBLE, max DOUBLE, explicit_bounds DOUBLE[], bucket_counts BIGINT[], quantiles VARCHAR,
    scope_name VARCHAR
);
CREATE TABLE IF NOT EXISTS changes (time_ns BIGINT, service VARCHAR, document VARCHAR);
CREATE TABLE IF NOT EXISTS slos (name VARCHAR PRIMARY KEY, document VARCHAR);
CREATE TABLE IF NOT EXISTS alarms (name VARCHAR PRIMARY KEY, document VARCHAR);
CREATE TABLE IF NOT EXISTS scenarios (name VARCHAR, imported_at VARCHAR, document VARCHAR);
"""

_S = pa.string()
_I64 = pa.int64()
_F64 = pa.float64()
_B = pa.bool_()

SPAN_ARROW = pa.schema(
    [
        ("trace_id", _S),
        ("span_id", _S),
        ("parent_span_id", _S),
        ("service", _S),
        ("operation", _S),
        ("kind", pa.int8()),
        ("start_ns", _I64),
        ("end_ns", _I64),
        ("status_code", pa.int8()),
        ("status_message", _S),
        ("is_error", _B),
        ("http_status", pa.int32()),
        ("peer", _S),
        ("host", _S),
        ("az", _S),
        ("exception_type", _S),
        ("exception_message", _S),
        ("attributes", _S),
        ("resource", _S),
        ("events", _S),
        ("links", _S),
        ("trace_state", _S),
        ("flags", _I64),
        ("scope_name", _S),
        ("scope_version", _S),
    ]
)

LOG_ARROW = pa.schema(
    [
        ("time_ns", _I64),
        ("observed_ns", _I64),
        ("service", _S),
        ("severity", _S),
        ("severity_number", pa.int8()),
        ("severity_text", _S),
        ("body", _S),
        ("trace_id", _S),
        ("span_id", _S),
        ("host", _S),
        ("az", _S),
        ("attributes", _S),
        ("resource", _S),
        ("scope_name", _S),
        ("flags", _I64),
        ("event_name", _S),
    ]
)

METRIC_ARROW = pa.schema(
    [
        ("name", _S),
        ("service", _S),
        ("kind", _S),
        ("unit", _S),
        ("description", _S),
        ("time_ns", _I64),
        ("start_ns", _I64),
        ("value", _F64),
        ("attributes", _S),
        ("resource", _S),
        ("series_key", _S),
        ("host", _S),
        ("az", _S),
        ("temporality", pa.int8()),
        ("is_monotonic", _B),
        ("count", _I64),
        ("sum", _F64),
        ("min", _F64),
        ("max", _F64),
        ("explicit_bounds", pa.list_(_F64)),
        ("bucket_counts", pa.list_(_I64)),
        ("quantiles", _S),
        ("scope_name", _S),
    ]
)

# Derived span columns, computed once per import in SQL so every query can use them.
# ``callee``: the service a span's cross-service children belong to (the longest one when several):
# on such a span, self time is the time between caller and callee (network, queueing), whatever
# the instrumentation says about span kinds or peers. ``parent_service``/``parent_operation``:
# who made the call, for call-pattern (structure) statistics. ``last_callee``: the service the
# span's last-ending child called (its own, or through a client span): after whom it returned.
DERIVE_SPANS = """
UPDATE spans SET is_error = TRUE
WHERE status_code = 0 AND NOT is_error AND EXISTS (
    SELECT 1 FROM logs l
    WHERE l.trace_id = spans.trace_id AND l.span_id = spans.span_id AND l.severity IN ('ERROR', 'FATAL')
);
UPDATE spans SET duration_ms = (end_ns - start_ns) / 1e6, self_ms = (end_ns - start_ns) / 1e6,
                 is_origin = is_error, is_entry = parent_span_id IS NULL;
UPDATE spans SET self_ms = greatest(0.0, spans.duration_ms - c.child_ms)
FROM (
    SELECT trace_id, parent_span_id, sum(end_ns - start_ns) / 1e6 AS child_ms
    FROM spans WHERE parent_span_id IS NOT NULL GROUP BY trace_id, parent_span_id
) c
WHERE c.trace_id = spans.trace_id AND c.parent_span_id = spans.span_id;
UPDATE spans SET is_origin = FALSE
FROM (
    SELECT DISTINCT trace_id, parent_span_id FROM spans WHERE is_error AND parent_span_id IS NOT NULL
) c
WHERE spans.is_error AND c.trace_id = spans.trace_id AND c.parent_span_id = spans.span_id;
UPDATE spans SET is_entry = TRUE
FROM (
    SELECT child.trace_id, child.span_id FROM spans child
    LEFT JOIN spans parent ON parent.trace_id = child.trace_id AND parent.span_id = child.parent_span_id
    WHERE child.parent_span_id IS NOT NULL AND (parent.span_id IS NULL OR parent.service <> child.service)
) e
WHERE e.trace_id = spans.trace_id AND e.span_id = spans.span_id;
UPDATE spans SET parent_service = p.service, parent_operation = p.operation
FROM (SELECT trace_id, span_id, service, operation FROM spans) p
WHERE p.trace_id = spans.trace_id AND p.span_id = spans.parent_span_id;
UPDATE spans SET callee = c.callee
FROM (
    SELECT trace_id, parent_span_id, arg_max(service, end_ns - start_ns) AS callee FROM spans
    WHERE parent_service IS NOT NULL AND service <> parent_service GROUP BY trace_id, parent_span_id
) c
WHERE c.trace_id = spans.trace_id AND c.parent_span_id = spans.span_id;
UPDATE spans SET last_callee = l.target
FROM (
    SELECT trace_id, parent_span_id,
           arg_max(CASE WHEN service <> parent_service THEN service ELSE callee END, end_ns) AS target
    FROM spans WHERE parent_service IS NOT NULL GROUP BY trace_id, parent_span_id
) l
WHERE l.trace_id = spans.trace_id AND l.parent_span_id = spans.span_id AND l.target IS NOT NULL;
UPDATE spans SET is_origin = FALSE
FROM (
    SELECT DISTINCT c.trace_id, c.parent_span_id FROM spans c JOIN spans g
        ON g.trace_id = c.trace_id AND g.parent_span_id = c.span_id
    WHERE g.is_error AND c.parent_service = c.service
) d
WHERE spans.is_origin AND d.trace_id = spans.trace_id AND d.parent_span_id = spans.span_id;
"""
