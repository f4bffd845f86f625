"""Read the simulator's own OTLP/JSON output back into plain rows, for assertions."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson


def _value(any_value: dict[str, Any]) -> Any:
    if "stringValue" in any_value:
        return any_value["stringValue"]
    if "intValue" in any_value:
        return int(any_value["intValue"])
    if "doubleValue" in any_value:
        return any_value["doubleValue"]
    if "boolValue" in any_value:
        return any_value["boolValue"]
    if "arrayValue" in any_value:
        return [_value(v) for v in any_value["arrayValue"].get("values", [])]
    return None


def attrs(kvs: list[dict[str, Any]]) -> dict[str, Any]:
    return {kv["key"]: _value(kv["value"]) for kv in kvs}


@dataclass
class SpanRow:
    service: str
    host: str
    az: str
    version: str
    name: str
    kind: int
    trace_id: str
    span_id: str
    parent_id: str
    start: int
    end: int
    error: bool
    attributes: dict[str, Any]
    events: list[dict[str, Any]]

    @property
    def ms(self) -> float:
        return (self.end - self.start) / 1e6


@dataclass
class LogRow:
    service: str
    host: str
    time: int
    severity: str
    body: str
    trace_id: str | None


@dataclass
class PointRow:
    service: str
    host: str | None
    name: str
    time: int
    value: float
    attributes: dict[str, Any]


def read_spans(directory: Path) -> list[SpanRow]:
    rows = []
    for line in (directory / "traces.jsonl").read_bytes().splitlines():
        for rs in orjson.loads(line)["resourceSpans"]:
            res = attrs(rs["resource"]["attributes"])
            for ss in rs["scopeSpans"]:
                for s in ss["spans"]:
                    rows.append(
                        SpanRow(
                            service=res["service.name"],
                            host=res["host.name"],
                            az=res["cloud.availability_zone"],
                            version=res["service.version"],
                            name=s["name"],
                            kind=s.get("kind", 0),  # absent when instrumentation records none
                            trace_id=s["traceId"],
                            span_id=s["spanId"],
                            parent_id=s.get("parentSpanId", ""),
                            start=int(s["startTimeUnixNano"]),
                            end=int(s["endTimeUnixNano"]),
                            error=s.get("status", {}).get("code") == 2,
                            attributes=attrs(s.get("attributes", [])),
                            events=[
                                {"name": e["name"], **attrs(e.get("attributes", []))}
                                for e in s.get("events", [])
                            ],
                        )
                    )
    return rows


def read_logs(directory: Path) -> list[LogRow]:
    rows = []
    for line in (directory / "logs.jsonl").read_bytes().splitlines():
        for rl in orjson.loads(line)["resourceLogs"]:
            res = attrs(rl["resource"]["attributes"])
            for sl in rl["scopeLogs"]:
                for r in sl["logRecords"]:
                    rows.append(
                        LogRow(
                            service=res["service.name"],
                            host=res["host.name"],
                            time=int(r["timeUnixNano"]),
                            severity=r["severityText"],
                            body=r["body"]["stringValue"],
                            trace_id=r.get("traceId"),
                        )
                    )
    return rows


def read_points(directory: Path, name: str) -> list[PointRow]:
    rows = []
    for line in (directory / "metrics.jsonl").read_bytes().splitlines():
        for rm in orjson.loads(line)["resourceMetrics"]:
            res = attrs(rm["resource"]["attributes"])
            for sm in rm["scopeMetrics"]:
                for m in sm["metrics"]:
                    if m["name"] != name:
                        continue
                    body = m.get("gauge") or m.get("sum") or m.get("histogram") or {}
                    for p in body["dataPoints"]:
                        if "asInt" in p:
                            value = float(p["asInt"])
                        elif "asDouble" in p:
                            value = float(p["asDouble"])
                        else:
                            value = float(p["sum"]) / max(1, int(p["count"]))
                        rows.append(
                            PointRow(
                                service=res["service.name"],
                                host=res.get("host.name"),
                                name=name,
                                time=int(p["timeUnixNano"]),
                                value=value,
                                attributes=attrs(p.get("attributes", [])),
                            )
                        )
    return rows
