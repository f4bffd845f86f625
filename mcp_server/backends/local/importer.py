"""Read a scenario directory fully into memory, validating and redacting everything before the store is touched.

Import is all-or-nothing: :func:`read_scenario` raises :class:`InputFileError` (file, line, field)
on the first problem, and only a fully decoded scenario is written, in one transaction. Every
record, change, SLO, alarm and the scenario's description pass through a :class:`Redactor` here,
so the store never holds a secret. What imported but deserves a look (an empty file, records with
no service name) is logged as a warning and kept in :attr:`DecodedScenario.warnings`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

import orjson
from pydantic import ValidationError

from mcp_server.backends.local.otlp import (
    LOG_COLUMNS,
    METRIC_COLUMNS,
    SPAN_COLUMNS,
    UNKNOWN_SERVICE,
    ColumnBuffer,
)
from mcp_server.backends.local.parallel_decode import decode_files
from mcp_server.errors import InputFileError
from mcp_server.redaction import Redactor
from mcp_server.scenario import (
    ALARMS_FILE,
    CHANGES_FILE,
    LOGS_FILE,
    METRICS_FILE,
    SLOS_FILE,
    TRACES_FILE,
    ScenarioSpec,
    load_scenario_spec,
    read_yaml_list,
    spec_warnings,
    validation_error,
    warn_once,
)
from mcp_server.telemetry import Alarm, ChangeEvent, SloDefinition

T = TypeVar("T", SloDefinition, Alarm)


@dataclass
class DecodedScenario:
    spec: ScenarioSpec | None
    spans: ColumnBuffer = field(default_factory=lambda: ColumnBuffer(SPAN_COLUMNS))
    logs: ColumnBuffer = field(default_factory=lambda: ColumnBuffer(LOG_COLUMNS))
    metrics: ColumnBuffer = field(default_factory=lambda: ColumnBuffer(METRIC_COLUMNS))
    changes: list[ChangeEvent] = field(default_factory=list)
    slos: list[SloDefinition] = field(default_factory=list)
    alarms: list[Alarm] = field(default_factory=list)
    files: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class ImportSummary:
    scenario: str | None
    spans: int
    logs: int
    metric_points: int
    changes: int
    slos: int
    alarms: int
    files: tuple[str, ...]
    warnings: tuple[str, ...] = ()


_RECORDS = {"traces": "spans", "logs": "log records", "metrics": "metrics"}


def read_changes(path: Path, redactor: Redactor | None = None) -> list[ChangeEvent]:
    redactor = redactor or Redactor()
    changes: list[ChangeEvent] = []
    with path.open("rb") as handle:
        for number, raw in enumerate(handle, start=1):
            if not raw.strip():
                continue
            try:
                changes.append(redactor.model(ChangeEvent.model_validate(orjson.loads(raw))))
            except orjson.JSONDecodeError as exc:
                raise InputFileError(path, number, None, f"not valid JSON: {exc}") from None
            except ValidationError as exc:
                raise validation_error(path, exc, number) from None
    return changes


def _read_models(path: Path, key: str, model: type[T], redactor: Redactor) -> list[T]:
    items: list[T] = []
    for index, raw in enumerate(read_yaml_list(path, key)):
        try:
            items.append(redactor.model(model.model_validate(raw)))
        except ValidationError as exc:
            err = validation_error(path, exc)
            raise InputFileError(path, None, f"{key}[{index}].{err.field}", err.problem) from None
    return items


def _telemetry_warnings(path: Path, kind: str, buffer: ColumnBuffer) -> list[str]:
    what = _RECORDS[kind]
    if not len(buffer):
        return [f"{path}: holds no {what} (an empty OTLP file)"]
    stats = buffer.stats
    if stats.unnamed:
        return [
            f"{path}:{stats.first_unnamed_line}: {stats.unnamed:,} {what} have no service.name in their "
            f"resource; they are stored under {UNKNOWN_SERVICE}"
        ]
    return []


def read_scenario(
    directory: Path, *, require_spec: bool = True, redactor: Redactor | None = None
) -> DecodedScenario:
    """Decode and redact every file of a scenario directory. Missing telemetry files are allowed."""
    directory = Path(directory)
    redactor = redactor or Redactor()
    if not directory.is_dir():
        raise InputFileError(directory, None, None, "not a directory (expected a scenario directory)")
    spec = load_scenario_spec(directory) if require_spec or (directory / "scenario.yaml").exists() else None
    decoded = DecodedScenario(spec=None if spec is None else redactor.model(spec))
    if spec is not None:
        decoded.warnings.extend(spec_warnings(spec, directory))
    present = [
        (name, kind, buffer)
        for name, kind, buffer in (
            (TRACES_FILE, "traces", decoded.spans),
            (LOGS_FILE, "logs", decoded.logs),
            (METRICS_FILE, "metrics", decoded.metrics),
        )
        if (directory / name).exists()
    ]
    decode_files([(kind, directory / name, buffer) for name, kind, buffer in present], redactor=redactor)
    decoded.files.extend(name for name, _, _ in present)
    for name, kind, buffer in present:
        for warning in _telemetry_warnings(directory / name, kind, buffer):
            warn_once(warning)
            decoded.warnings.append(warning)
    if (directory / CHANGES_FILE).exists():
        decoded.changes = read_changes(directory / CHANGES_FILE, redactor)
        decoded.files.append(CHANGES_FILE)
    if (directory / SLOS_FILE).exists():
        decoded.slos = _read_models(directory / SLOS_FILE, "slos", SloDefinition, redactor)
        decoded.files.append(SLOS_FILE)
    if (directory / ALARMS_FILE).exists():
        decoded.alarms = _read_models(directory / ALARMS_FILE, "alarms", Alarm, redactor)
        decoded.files.append(ALARMS_FILE)
    if not decoded.files:
        raise InputFileError(
            directory,
            None,
            None,
            f"no telemetry found: expected at least one of {TRACES_FILE}, {LOGS_FILE}, {METRICS_FILE}",
        )
    return decoded
