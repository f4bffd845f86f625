from __future__ import annotations

import json
from pathlib import Path

import pytest

from mcp_server.backends.local import parallel_decode
from mcp_server.backends.local.otlp import SPAN_COLUMNS, ColumnBuffer
from mcp_server.backends.local.schema import SPAN_ARROW
from mcp_server.errors import InputFileError


def _span_line(i: int) -> str:
    span = {
        "traceId": f"{i + 1:032x}",
        "spanId": f"{i + 1:016x}",
        "name": f"op-{i}",
        "kind": 2,
        "startTimeUnixNano": str(1_000 + i),
        "endTimeUnixNano": str(2_000 + i),
    }
    resource = {"attributes": [{"key": "service.name", "value": {"stringValue": f"svc-{i % 3}"}}]}
    return json.dumps({"resourceSpans": [{"resource": resource, "scopeSpans": [{"spans": [span]}]}]})


def _write(path: Path, lines: list[str]) -> Path:
    path.write_text("\n".join(lines) + "\n")
    return path


def test_chunked_decoding_in_worker_processes_equals_decoding_in_process(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = _write(tmp_path / "traces.jsonl", [_span_line(i) for i in range(200)])
    serial = ColumnBuffer(SPAN_COLUMNS)
    parallel_decode.decode_files([("traces", path, serial)], workers=1)
    monkeypatch.setattr(parallel_decode, "PARALLEL_THRESHOLD_BYTES", 0)

    chunked = ColumnBuffer(SPAN_COLUMNS)
    parallel_decode.decode_files([("traces", path, chunked)], workers=2)

    assert len(chunked.tables) == 2 and not chunked.rows  # really decoded by two workers
    assert chunked.to_arrow(SPAN_ARROW).equals(serial.to_arrow(SPAN_ARROW))


def test_a_bad_line_in_a_later_chunk_is_reported_with_its_true_line_number(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    lines = [_span_line(i) for i in range(100)]
    lines[87] = "{broken"
    path = _write(tmp_path / "traces.jsonl", lines)
    monkeypatch.setattr(parallel_decode, "PARALLEL_THRESHOLD_BYTES", 0)

    with pytest.raises(InputFileError) as caught:
        parallel_decode.decode_files([("traces", path, ColumnBuffer(SPAN_COLUMNS))], workers=2)

    assert caught.value.line == 88 and caught.value.path == path
