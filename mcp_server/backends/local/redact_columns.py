"""Redact decoded telemetry column by column, before anything reaches the store.

Secrets are rare, so the question asked of almost every value is "could this hold one?". RE2
answers it for a whole Arrow column at once (:attr:`Redactor.prefilter`, one expression that
every secret and every secret-named JSON key matches); only the few values it flags go through
the Python rules. Text columns (a log body, a span name) are redacted as text; JSON columns
(attributes, resources, events) are parsed so a value stored under a secret's key is replaced
whatever it looks like, and written back as JSON.
"""

from __future__ import annotations

from collections.abc import Callable

import orjson
import pyarrow as pa
import pyarrow.compute as pc

from mcp_server.backends.local.otlp import series_key
from mcp_server.redaction import Redactor

TEXT_COLUMNS = {
    "traces": (
        "service",
        "operation",
        "status_message",
        "peer",
        "host",
        "az",
        "exception_type",
        "exception_message",
        "trace_state",
    ),
    "logs": ("service", "severity_text", "body", "host", "az", "event_name"),
    "metrics": ("name", "service", "unit", "description", "host", "az"),
}
JSON_COLUMNS = {
    "traces": ("attributes", "resource", "events", "links"),
    "logs": ("attributes", "resource"),
    "metrics": ("attributes", "resource"),
}
_SERIES_PARTS = ("name", "service", "attributes", "resource")
_SAMPLE = 2048  # rows looked at to decide whether a column repeats itself


def redact_json(redactor: Redactor, document: str) -> str:
    """A JSON document with every secret (by shape or by key) replaced; unchanged text when none."""
    try:
        value = orjson.loads(document)
    except orjson.JSONDecodeError:
        return redactor.text(document)
    redacted = redactor.data(value)
    return document if redacted == value else orjson.dumps(redacted).decode()


def _flagged(column: pa.Array, prefilter: str | None) -> pa.Array | None:
    """True where a value could hold a secret (never null); None when no value can."""
    if prefilter is None:
        return pc.is_valid(column)
    sample = column.slice(0, _SAMPLE)
    if len(pc.unique(sample)) * 8 < len(sample):
        # Repetitive (a service, host or resource column): test each distinct value once.
        distinct = pc.unique(column)
        hits = pc.filter(
            distinct, pc.fill_null(pc.match_substring_regex(distinct, prefilter, ignore_case=True), False)
        )
        return pc.fill_null(pc.is_in(column, value_set=hits), False) if len(hits) else None
    return pc.fill_null(pc.match_substring_regex(column, prefilter, ignore_case=True), False)


def _redact_column(
    column: pa.ChunkedArray | pa.Array, redact: Callable[[str], str], prefilter: str | None
) -> pa.Array | None:
    """The column with its flagged values redacted, or None when nothing changed."""
    if isinstance(column, pa.ChunkedArray):
        column = column.combine_chunks()
    mask = _flagged(column, prefilter)
    if mask is None or not pc.any(mask).as_py():
        return None
    flagged: list[str] = pc.filter(column, mask).to_pylist()
    redacted = [redact(value) for value in flagged]
    if redacted == flagged:
        return None
    return pc.replace_with_mask(column, mask, pa.array(redacted, pa.string()))


def redact_table(table: pa.Table, kind: str, redactor: Redactor) -> pa.Table:
    """``table`` (spans, logs or metrics rows) with every secret in its text and JSON columns redacted."""
    if not redactor.active or table.num_rows == 0:
        return table
    prefilter = redactor.prefilter
    changed: set[str] = set()

    def redact_json_value(document: str) -> str:
        return redact_json(redactor, document)

    for names, redact in ((TEXT_COLUMNS[kind], redactor.text), (JSON_COLUMNS[kind], redact_json_value)):
        for name in names:
            column = _redact_column(table.column(name), redact, prefilter)
            if column is not None:
                table = table.set_column(table.schema.get_field_index(name), name, column)
                changed.add(name)
    if kind == "metrics" and changed & set(_SERIES_PARTS):
        # the series key is made of redacted parts, so it is made again from them
        keys = [
            series_key(name, service, attrs, resource)
            for name, service, attrs, resource in zip(
                *(table.column(c).to_pylist() for c in _SERIES_PARTS), strict=True
            )
        ]
        table = table.set_column(
            table.schema.get_field_index("series_key"), "series_key", pa.array(keys, pa.string())
        )
    return table
