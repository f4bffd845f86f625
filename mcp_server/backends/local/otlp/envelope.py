"""What every OTLP/JSON export request shares: lines of a file, resources, scopes and row buffers.

A file holds one export request per line; a request holds resources, each holding scopes, each
holding the records (spans, log records or metrics). :func:`records` walks that nesting and
hands each record over with its :class:`Origin`; :func:`decode_file` turns a :class:`FieldError`
into an :class:`InputFileError` naming file, line and field.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson
import pyarrow as pa

from mcp_server.backends.local.otlp.fields import FieldError, as_list, attributes, check, dumps, known, text
from mcp_server.errors import InputFileError

UNKNOWN_SERVICE = "unknown_service"


@dataclass
class DecodeStats:
    """What a user should hear about even though the file imported."""

    unnamed: int = 0  # records whose resource has no service.name (stored as unknown_service)
    first_unnamed_line: int | None = None

    def merge(self, other: DecodeStats) -> None:
        self.unnamed += other.unnamed
        lines = [n for n in (self.first_unnamed_line, other.first_unnamed_line) if n is not None]
        self.first_unnamed_line = min(lines) if lines else None


@dataclass
class ColumnBuffer:
    """Rows ready for one bulk insert: decoded here as tuples, or decoded elsewhere as Arrow tables."""

    columns: tuple[str, ...]
    rows: list[tuple[Any, ...]] = field(default_factory=list)
    tables: list[pa.Table] = field(default_factory=list)
    stats: DecodeStats = field(default_factory=DecodeStats)

    def __len__(self) -> int:
        return len(self.rows) + sum(table.num_rows for table in self.tables)

    def append(self, row: tuple[Any, ...]) -> None:
        self.rows.append(row)

    def to_arrow(self, schema: pa.Schema) -> pa.Table:
        parts = list(self.tables)
        if self.rows or not parts:
            columns = zip(*self.rows, strict=True) if self.rows else ([] for _ in self.columns)
            parts.append(pa.table(dict(zip(self.columns, map(list, columns), strict=True)), schema=schema))
        return pa.concat_tables(parts) if len(parts) > 1 else parts[0]


def lines(
    path: Path, byte_range: tuple[int, int] | None = None, first_line: int = 1
) -> Iterator[tuple[int, dict[str, Any]]]:
    """JSON objects, one per line, with their line numbers; optionally only a byte range of the file."""
    try:
        handle = path.open("rb")
    except OSError as exc:
        raise InputFileError(path, None, None, f"cannot read: {exc.strerror}") from None
    with handle:
        if byte_range is None:
            raw_lines: Iterator[bytes] | list[bytes] = handle
        else:
            handle.seek(byte_range[0])
            raw_lines = handle.read(byte_range[1] - byte_range[0]).splitlines()
        for number, raw in enumerate(raw_lines, start=first_line):
            if not raw.strip():
                continue
            try:
                obj = orjson.loads(raw)
            except orjson.JSONDecodeError as exc:
                raise InputFileError(path, number, None, f"not valid JSON: {exc}") from None
            if not isinstance(obj, dict):
                raise InputFileError(path, number, None, "expected one JSON object per line")
            yield number, obj


@dataclass(frozen=True)
class Layout:
    """Where the records sit in one kind of OTLP export request."""

    request_keys: frozenset[str]  # {resourceSpans}
    resources: str  # resourceSpans
    resource_keys: frozenset[str]
    scopes: str  # scopeSpans
    scope_keys: frozenset[str]
    records: str  # spans


@dataclass(frozen=True)
class Origin:
    """What every record of one resource and scope shares."""

    service: str
    host: str | None
    zone: str | None
    resource_json: str
    scope_name: str
    scope_version: str


_RESOURCE_KEYS = known("attributes", "droppedAttributesCount", "entityRefs")
_SCOPE_KEYS = known("name", "version", "attributes", "droppedAttributesCount")


def _resource(obj: Any, where: str) -> dict[str, Any]:
    if obj is None:
        return {}
    obj = check(obj, _RESOURCE_KEYS, where)
    return attributes(obj.get("attributes"), f"{where}.attributes")


def _scope(obj: Any, where: str) -> tuple[str, str]:
    if obj is None:
        return "", ""
    obj = check(obj, _SCOPE_KEYS, where)
    return text(obj.get("name"), f"{where}.name"), text(obj.get("version"), f"{where}.version")


def resource_service(resource: dict[str, Any]) -> str:
    name = resource.get("service.name")
    return str(name) if name not in (None, "") else UNKNOWN_SERVICE


def _first(resource: dict[str, Any], keys: tuple[str, ...]) -> str | None:
    for key in keys:
        value = resource.get(key)
        if value not in (None, ""):
            return str(value)
    return None


def resource_host(resource: dict[str, Any]) -> str | None:
    return _first(resource, ("host.name", "k8s.pod.name", "host.id", "service.instance.id"))


def resource_zone(resource: dict[str, Any]) -> str | None:
    return _first(resource, ("cloud.availability_zone", "cloud.zone"))


def records(
    request: dict[str, Any], layout: Layout, stats: DecodeStats
) -> Iterator[tuple[Origin, str, int, Any]]:
    """Each record with its origin; the path is built per scope so records cost no string work."""
    request = check(request, layout.request_keys, "")
    for ri, rs in enumerate(as_list(request.get(layout.resources), layout.resources)):
        rwhere = f"{layout.resources}[{ri}]"
        rs = check(rs, layout.resource_keys, rwhere)
        resource = _resource(rs.get("resource"), f"{rwhere}.resource")
        host, zone, resource_json = resource_host(resource), resource_zone(resource), dumps(resource)
        service = resource_service(resource)
        for si, ss in enumerate(as_list(rs.get(layout.scopes), f"{rwhere}.{layout.scopes}")):
            swhere = f"{rwhere}.{layout.scopes}[{si}]"
            ss = check(ss, layout.scope_keys, swhere)
            scope_name, scope_version = _scope(ss.get("scope"), f"{swhere}.scope")
            origin = Origin(service, host, zone, resource_json, scope_name, scope_version)
            records_where = f"{swhere}.{layout.records}"
            items = as_list(ss.get(layout.records), records_where)
            if service is UNKNOWN_SERVICE:
                stats.unnamed += len(items)
            for index, record in enumerate(items):
                yield origin, records_where, index, record


def row_per_record(
    layout: Layout, decode_record: Callable[[Any, Origin], tuple[Any, ...]]
) -> Callable[[dict[str, Any], ColumnBuffer], None]:
    """A request decoder for signals stored one row per record (spans, log records)."""

    def decode_request(request: dict[str, Any], out: ColumnBuffer) -> None:
        for origin, where, index, record in records(request, layout, out.stats):
            try:
                out.append(decode_record(record, origin))
            except FieldError as exc:
                raise exc.under(f"{where}[{index}]") from None

    return decode_request


def decode_file(
    path: Path,
    out: ColumnBuffer,
    byte_range: tuple[int, int] | None,
    first_line: int,
    decode_request: Callable[[dict[str, Any], ColumnBuffer], None],
) -> None:
    stats = out.stats
    for number, request in lines(path, byte_range, first_line):
        unnamed = stats.unnamed
        try:
            decode_request(request, out)
        except FieldError as exc:
            raise InputFileError(path, number, exc.field, exc.problem) from None
        if stats.unnamed != unnamed and stats.first_unnamed_line is None:
            stats.first_unnamed_line = number
