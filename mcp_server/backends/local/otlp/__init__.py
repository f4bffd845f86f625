"""Decode OTLP/JSON (the OpenTelemetry Collector file exporter format) into column buffers.

OTLP/JSON is not protobuf's canonical JSON: trace and span ids are lowercase hex, enums are
integers (names are accepted too), 64-bit integers may be decimal strings, and field names are
lowerCamelCase (snake_case is accepted as protobuf parsers do). Unknown fields are errors, so a
file in the wrong format is caught instead of half-read.

Decoding is hand-written rather than pydantic-per-span because import throughput matters
(see ``evals/bench/import_throughput.py``); every error names file, line and field.

``fields`` decodes single values, ``envelope`` walks requests, resources and scopes, and
``traces``, ``logs`` and ``metrics`` decode one signal each.
"""

from mcp_server.backends.local.otlp.envelope import UNKNOWN_SERVICE, ColumnBuffer, DecodeStats
from mcp_server.backends.local.otlp.fields import any_value, attributes
from mcp_server.backends.local.otlp.logs import LOG_COLUMNS, decode_logs_file
from mcp_server.backends.local.otlp.metrics import METRIC_COLUMNS, decode_metrics_file, series_key
from mcp_server.backends.local.otlp.traces import SPAN_COLUMNS, decode_traces_file

__all__ = [
    "LOG_COLUMNS",
    "METRIC_COLUMNS",
    "SPAN_COLUMNS",
    "UNKNOWN_SERVICE",
    "ColumnBuffer",
    "DecodeStats",
    "any_value",
    "attributes",
    "decode_logs_file",
    "decode_metrics_file",
    "decode_traces_file",
    "series_key",
]
