from __future__ import annotations

import json
from pathlib import Path

import pytest

from mcp_server.backends.local import LocalBackend
from mcp_server.errors import InputFileError

SPEC = "name: bad\nwindow: {start: '2026-01-01T10:00:00Z', end: '2026-01-01T10:30:00Z'}\n"
GOOD_SPAN = {
    "resourceSpans": [
        {
            "resource": {"attributes": [{"key": "service.name", "value": {"stringValue": "api"}}]},
            "scopeSpans": [
                {
                    "spans": [
                        {
                            "traceId": "5b8efff798038103d269b633813fc60c",
                            "spanId": "eee19b7ec3c1b174",
                            "name": "GET /",
                            "kind": 2,
                            "startTimeUnixNano": "1767261600000000000",
                            "endTimeUnixNano": "1767261600100000000",
                        }
                    ]
                }
            ],
        }
    ]
}


def _scenario(tmp_path: Path, traces: list[str], logs: list[str] | None = None) -> Path:
    (tmp_path / "scenario.yaml").write_text(SPEC)
    (tmp_path / "traces.jsonl").write_text("\n".join(traces) + "\n")
    if logs is not None:
        (tmp_path / "logs.jsonl").write_text("\n".join(logs) + "\n")
    return tmp_path


def _with_span(**changes: object) -> str:
    request = json.loads(json.dumps(GOOD_SPAN))
    request["resourceSpans"][0]["scopeSpans"][0]["spans"][0].update(changes)
    return json.dumps(request)


def test_a_malformed_line_is_reported_with_its_file_and_line(tmp_path: Path) -> None:
    directory = _scenario(tmp_path, [json.dumps(GOOD_SPAN), "{not json"])

    with pytest.raises(InputFileError) as caught:
        LocalBackend.from_scenario(directory)

    assert caught.value.path.name == "traces.jsonl" and caught.value.line == 2
    assert "not valid JSON" in str(caught.value)


def test_an_unknown_otlp_field_is_named_with_its_path(tmp_path: Path) -> None:
    directory = _scenario(tmp_path, [_with_span(spanKind=2)])

    with pytest.raises(InputFileError) as caught:
        LocalBackend.from_scenario(directory)

    assert caught.value.line == 1
    assert caught.value.field == "resourceSpans[0].scopeSpans[0].spans[0].spanKind"


def test_a_wrongly_typed_field_is_named(tmp_path: Path) -> None:
    directory = _scenario(tmp_path, [_with_span(startTimeUnixNano="yesterday")])

    with pytest.raises(InputFileError) as caught:
        LocalBackend.from_scenario(directory)

    assert caught.value.field == "resourceSpans[0].scopeSpans[0].spans[0].startTimeUnixNano"
    assert "integer" in caught.value.problem


def test_a_bad_trace_id_is_rejected(tmp_path: Path) -> None:
    directory = _scenario(tmp_path, [_with_span(traceId="xyz")])

    with pytest.raises(InputFileError, match="traceId"):
        LocalBackend.from_scenario(directory)


def test_import_is_all_or_nothing_when_a_later_file_is_bad(tmp_path: Path) -> None:
    directory = _scenario(tmp_path, [json.dumps(GOOD_SPAN)], logs=['{"resourceLogs": [{"scopeLogs": 3}]}'])
    backend = LocalBackend(tmp_path / "store.duckdb")

    with pytest.raises(InputFileError) as caught:
        backend.import_scenario(directory)

    assert caught.value.path.name == "logs.jsonl"
    assert backend.count_spans() == 0 and backend.list_services() == []


def test_a_good_scenario_imports_after_a_failed_one_into_the_same_store(tmp_path: Path) -> None:
    backend = LocalBackend(tmp_path / "store.duckdb")
    bad = _scenario(tmp_path / "bad" if (tmp_path / "bad").mkdir() is None else tmp_path, ["[1]"])
    with pytest.raises(InputFileError):
        backend.import_scenario(bad)

    good = tmp_path / "good"
    good.mkdir()
    summary = backend.import_scenario(_scenario(good, [json.dumps(GOOD_SPAN)]))

    assert summary.spans == 1 and backend.list_services() == ["api"]


def test_a_missing_directory_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(InputFileError, match="not a directory"):
        LocalBackend.from_scenario(tmp_path / "nowhere")
