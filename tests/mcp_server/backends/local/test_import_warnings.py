"""What imports but deserves a look is said as a warning, never passed over in silence."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mcp_server.backends.local import LocalBackend
from tests.mcp_server.backends.local.otlp_requests import request

SPEC = "name: warned\nwindow: {start: '2026-01-01T10:00:00Z', end: '2026-01-01T10:30:00Z'}\n"


def _scenario(directory: Path, **files: str) -> Path:
    (directory / "scenario.yaml").write_text(SPEC)
    for name, text in files.items():
        (directory / f"{name}.jsonl").write_text(text)
    return directory


def test_records_without_a_service_name_are_kept_under_unknown_service_with_a_warning(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    unnamed = request("logs")
    del unnamed["resourceLogs"][0]["resource"]
    directory = _scenario(tmp_path, logs=json.dumps(request("logs")) + "\n" + json.dumps(unnamed) + "\n")

    with LocalBackend() as backend:
        summary = backend.import_scenario(directory)
        services = backend.list_services()

    warning = f"{directory / 'logs.jsonl'}:2: 1 log records have no service.name in their resource; they are stored under unknown_service"
    assert summary.logs == 2 and "unknown_service" in services
    assert summary.warnings == (warning,)
    assert f"warning: {warning}" in caplog.messages


def test_an_empty_otlp_file_imports_with_a_warning(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    directory = _scenario(tmp_path, traces=json.dumps(request("traces")) + "\n", metrics="\n")

    with LocalBackend() as backend:
        summary = backend.import_scenario(directory)

    assert summary.spans == 1
    assert summary.warnings == (f"{directory / 'metrics.jsonl'}: holds no metrics (an empty OTLP file)",)
    assert f"warning: {summary.warnings[0]}" in caplog.messages


def test_a_trigger_outside_the_window_is_among_the_import_warnings(tmp_path: Path) -> None:
    directory = _scenario(tmp_path, traces=json.dumps(request("traces")) + "\n")
    (directory / "scenario.yaml").write_text(SPEC + "trigger: {text: late, time: '2026-01-01T11:00:00Z'}\n")

    with LocalBackend() as backend:
        summary = backend.import_scenario(directory)

    assert len(summary.warnings) == 1 and "field 'trigger.time'" in summary.warnings[0]
