"""Every malformed value ends as one line naming file, line, field and problem, and exit status 2."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from agent.cli import build_app
from mcp_server.backends.local import read_scenario
from mcp_server.errors import InputFileError
from tests.mcp_server.backends.local.otlp_requests import FILES, log_record, metric, request, span

SPEC = "name: bad\nwindow: {start: '2026-01-01T10:00:00Z', end: '2026-01-01T10:30:00Z'}\n"
SPAN = "resourceSpans[0].scopeSpans[0].spans[0]"
LOG = "resourceLogs[0].scopeLogs[0].logRecords[0]"
METRIC = "resourceMetrics[0].scopeMetrics[0].metrics"


def _nested(depth: int) -> dict[str, Any]:
    value: dict[str, Any] = {"stringValue": "deep"}
    for _ in range(depth):
        value = {"arrayValue": {"values": [value]}}
    return value


def _set(
    path: Callable[[dict[str, Any]], dict[str, Any]], **changes: Any
) -> Callable[[dict[str, Any]], None]:
    return lambda req: path(req).update(changes)


def _attr(
    path: Callable[[dict[str, Any]], dict[str, Any]], key: str, value: Any
) -> Callable[[dict[str, Any]], None]:
    return lambda req: path(req).setdefault("attributes", []).insert(0, {"key": key, "value": value})


def _status(value: dict[str, Any]) -> Callable[[dict[str, Any]], None]:
    """Replace the span's own http.response.status_code (the key the store reads first)."""

    def breaks(req: dict[str, Any]) -> None:
        attrs = span(req)["attributes"]
        next(a for a in attrs if a["key"] == "http.response.status_code")["value"] = value

    return breaks


def _point(index: int, kind: str, **changes: Any) -> Callable[[dict[str, Any]], None]:
    return lambda req: metric(req, index)[kind]["dataPoints"][0].update(changes)


# id, signal, how to break it, the field named, words of the problem
CASES: list[tuple[str, str, Callable[[dict[str, Any]], None], str, str]] = [
    ("severity name past the last step", "logs", _set(log_record, severityNumber="SEVERITY_NUMBER_ERROR9"),
     f"{LOG}.severityNumber", "unknown severity"),
    ("severity name with a stray letter", "logs", _set(log_record, severityNumber="SEVERITY_NUMBER_INFOX"),
     f"{LOG}.severityNumber", "unknown severity"),
    ("severity number out of range", "logs", _set(log_record, severityNumber=99), f"{LOG}.severityNumber", "0..24"),
    ("intValue of 10^30 as a string", "traces", _attr(span, "big", {"intValue": str(10**30)}),
     f"{SPAN}.attributes[0].value.intValue", "not a 64-bit integer"),
    ("intValue of 10^30 as a number", "logs", _attr(log_record, "big", {"intValue": 10**30}),
     f"{LOG}.attributes[0].value.intValue", "out of range"),
    ("intValue one past int64", "traces", _attr(span, "big", {"intValue": str(2**63)}),
     f"{SPAN}.attributes[0].value.intValue", "out of range"),
    ("intValue with 5,000 digits", "traces", _attr(span, "big", {"intValue": "9" * 5000}),
     f"{SPAN}.attributes[0].value.intValue", "not a 64-bit integer"),
    ("intValue of a superscript digit", "traces", _attr(span, "odd", {"intValue": "²"}),
     f"{SPAN}.attributes[0].value.intValue", "expected an integer"),
    ("start time past uint64", "traces", _set(span, startTimeUnixNano="184467440737095516160"),
     f"{SPAN}.startTimeUnixNano", "not a 64-bit integer"),
    ("start time past int64", "traces", _set(span, startTimeUnixNano=str(2**64 - 1)),
     f"{SPAN}.startTimeUnixNano", "out of range"),
    ("negative log time", "logs", _set(log_record, timeUnixNano="-5"), f"{LOG}.timeUnixNano", "out of range"),
    ("event time overflow", "traces", lambda req: span(req)["events"][0].update(timeUnixNano=str(2**64)),
     f"{SPAN}.events[0].timeUnixNano", "out of range"),
    ("histogram count overflow", "metrics", _point(2, "histogram", count=str(2**64)),
     f"{METRIC}[2].histogram.dataPoints[0].count", "out of range"),
    ("histogram bucket count overflow", "metrics", _point(2, "histogram", bucketCounts=["1", str(2**63), "3"]),
     f"{METRIC}[2].histogram.dataPoints[0].bucketCounts", "out of range"),
    ("summary count as a huge float", "metrics", _point(4, "summary", count=1e300),
     f"{METRIC}[4].summary.dataPoints[0].count", "out of range"),
    ("summary count with a fraction", "metrics", _point(4, "summary", count=2.5),
     f"{METRIC}[4].summary.dataPoints[0].count", "expected an integer"),
    ("gauge asInt overflow", "metrics", _point(1, "sum", asInt=str(-(2**63) - 1)),
     f"{METRIC}[1].sum.dataPoints[0].asInt", "out of range"),
    ("flags past 32 bits", "traces", _set(span, flags=2**40), f"{SPAN}.flags", "out of range"),
    ("span kind name unknown", "traces", _set(span, kind="SPAN_KIND_SERVERX"), f"{SPAN}.kind", "unknown enum name"),
    ("http status of infinity", "traces", _status({"doubleValue": "Infinity"}),
     f"{SPAN}.attributes.http.response.status_code", "not an HTTP status code"),
    ("http status of 10^12", "traces", _status({"intValue": str(10**12)}),
     f"{SPAN}.attributes.http.response.status_code", "not an HTTP status code"),
    ("values nested 100 deep", "logs", _attr(log_record, "deep", _nested(100)),
     f"{LOG}.attributes[0].value.arrayValue", "nested deeper than 64"),
    ("a 5 MB log body", "logs", _set(log_record, body={"stringValue": "x" * (5 * 1024 * 1024)}),
     f"{LOG}.body.stringValue", "over the"),
    ("a 5 MB attribute", "traces", _attr(span, "blob", {"stringValue": "y" * (5 * 1024 * 1024)}),
     f"{SPAN}.attributes[0].value.stringValue", "over the"),
    ("a megabyte trace id", "traces", _set(span, traceId="a" * 1_000_000), f"{SPAN}.traceId", "characters)"),
    ("an attribute key that is a number", "traces", lambda req: span(req)["attributes"].append({"key": 5}),
     f"{SPAN}.attributes[5]", "key"),
    ("a kvlist whose values are not a list", "traces", _attr(span, "kv", {"kvlistValue": {"values": 3}}),
     f"{SPAN}.attributes[0].value.kvlistValue.values", "expected a list"),
    ("an arrayValue that is a list", "traces", _attr(span, "arr", {"arrayValue": [1]}),
     f"{SPAN}.attributes[0].value.arrayValue", "expected an object"),
    ("a status that is a list", "traces", _set(span, status=[2]), f"{SPAN}.status", "expected an object"),
    ("a scope name that is a number", "logs", lambda req: req["resourceLogs"][0]["scopeLogs"][0]["scope"].update(name=7),
     "resourceLogs[0].scopeLogs[0].scope.name", "expected a string"),
    ("a body that is a list", "logs", _set(log_record, body=["text"]), f"{LOG}.body", "AnyValue"),
    ("a severity text that is an object", "logs", _set(log_record, severityText={"x": 1}),
     f"{LOG}.severityText", "expected a string"),
    ("a double that is a 70-digit string", "metrics", _point(0, "gauge", asDouble="1" * 70),
     f"{METRIC}[0].gauge.dataPoints[0].asDouble", "expected a number"),
]  # fmt: skip


def _scenario(directory: Path, kind: str, req: dict[str, Any]) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "scenario.yaml").write_text(SPEC)
    (directory / FILES[kind]).write_text(json.dumps(request(kind)) + "\n" + json.dumps(req) + "\n")
    return directory


@pytest.mark.parametrize(("name", "kind", "breaks", "field", "problem"), CASES, ids=[c[0] for c in CASES])
def test_a_malformed_value_is_named_by_file_line_and_field(
    tmp_path: Path, name: str, kind: str, breaks: Callable[[dict[str, Any]], None], field: str, problem: str
) -> None:
    req = request(kind)
    breaks(req)
    directory = _scenario(tmp_path / "scenario", kind, req)

    with pytest.raises(InputFileError) as caught:
        read_scenario(directory)

    error = caught.value
    assert (error.path.name, error.line, error.field) == (FILES[kind], 2, field)
    assert problem in error.problem
    assert "\n" not in str(error) and len(str(error)) < 400


@pytest.mark.parametrize(
    ("name", "kind", "breaks"), [c[:3] for c in CASES[::3]], ids=[c[0] for c in CASES[::3]]
)
def test_sleuth_import_prints_the_problem_on_one_line_and_exits_2(
    tmp_path: Path, name: str, kind: str, breaks: Callable[[dict[str, Any]], None]
) -> None:
    req = request(kind)
    breaks(req)
    directory = _scenario(tmp_path / "scenario", kind, req)
    store = tmp_path / "store.duckdb"

    result = CliRunner().invoke(build_app(), ["import", "--data", str(directory), "--store", str(store)])

    assert result.exit_code == 2, result.output
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith(f"error: {directory / FILES[kind]}:2 field ")
    assert not store.exists()
