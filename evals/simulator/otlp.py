"""OTLP/JSON encoding as the OpenTelemetry Collector file exporter writes it.

Field names are lowerCamelCase, trace and span ids lowercase hex, enums integers, 64-bit integers
(times, ``intValue``, histogram counts) decimal strings. Records are plain dicts serialised with
orjson: building a pydantic model per span would make large scenarios slow.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import IO, Any

import orjson

KeyValues = list[dict[str, Any]]

# OTLP SeverityNumber for the texts we emit
SEVERITY_NUMBER = {"DEBUG": 5, "INFO": 9, "WARN": 13, "ERROR": 17, "FATAL": 21}

BATCH_SIZE = 512  # records per export request, as a collector batch processor would send


def any_value(value: Any) -> dict[str, Any]:
    kind = type(value)
    if kind is str:
        return {"stringValue": value}
    if kind is bool:
        return {"boolValue": value}
    if kind is int:
        return {"intValue": str(value)}
    if kind is float:
        return {"doubleValue": value}
    if isinstance(value, list | tuple):
        return {"arrayValue": {"values": [any_value(v) for v in value]}}
    return {"stringValue": str(value)}


# Encoded key/value pairs repeat endlessly (routes, statements, status codes); orjson serialises a
# shared dict as often as it appears, so reusing one object per pair is safe and saves the work.
_KV_CACHE: dict[tuple[str, Any, type], dict[str, Any]] = {}
_KV_CACHE_LIMIT = 200_000


def attributes(values: dict[str, Any]) -> KeyValues:
    out = []
    cache = _KV_CACHE
    for key, value in values.items():
        kind = type(value)
        if (kind is str or kind is int or kind is bool) and key != "aws.request_id":
            ck = (key, value, kind)
            kv = cache.get(ck)
            if kv is None:
                kv = {"key": key, "value": any_value(value)}
                if len(cache) < _KV_CACHE_LIMIT:
                    cache[ck] = kv
            out.append(kv)
        else:
            out.append({"key": key, "value": any_value(value)})
    return out


class JsonlWriter:
    """Groups records into export requests (resource → scope → records) and writes one per line."""

    def __init__(self, path: Path, signal: str) -> None:
        self.path = path
        self._file: IO[bytes] = path.open("wb")
        self._resource_key, self._scope_key, self._records_key = {
            "traces": ("resourceSpans", "scopeSpans", "spans"),
            "logs": ("resourceLogs", "scopeLogs", "logRecords"),
            "metrics": ("resourceMetrics", "scopeMetrics", "metrics"),
        }[signal]
        self.records_written = 0

    def write_batch(self, items: Iterable[tuple[int, dict[str, Any], str, dict[str, Any]]]) -> None:
        """``items``: (resource id, resource dict, scope name, record), already in output order."""
        groups: dict[tuple[int, str], list[dict[str, Any]]] = {}
        resources: dict[int, dict[str, Any]] = {}
        for resource_id, resource, scope, record in items:
            resources[resource_id] = resource
            groups.setdefault((resource_id, scope), []).append(record)
        if not groups:
            return
        by_resource: dict[int, list[dict[str, Any]]] = {}
        for (resource_id, scope), records in groups.items():
            by_resource.setdefault(resource_id, []).append(
                {"scope": {"name": scope, "version": SCOPE_VERSION}, self._records_key: records}
            )
            self.records_written += len(records)
        request = {
            self._resource_key: [
                {"resource": resources[rid], self._scope_key: scopes} for rid, scopes in by_resource.items()
            ]
        }
        self._file.write(orjson.dumps(request))
        self._file.write(b"\n")

    def write_sorted(self, items: list[tuple[int, int, dict[str, Any], str, dict[str, Any]]]) -> None:
        """``items``: (sort time, resource id, resource, scope, record); written in time order."""
        items.sort(key=lambda item: item[0])
        for offset in range(0, len(items), BATCH_SIZE):
            chunk = items[offset : offset + BATCH_SIZE]
            self.write_batch((rid, res, scope, rec) for _, rid, res, scope, rec in chunk)

    def close(self) -> None:
        self._file.close()


SCOPE_VERSION = "2.10.0"
