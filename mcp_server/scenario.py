"""The scenario directory format (``scenario.yaml`` and its companion files).

```
scenario.yaml   name, description, window {start, end}, trigger {kind, service?, text, time}, ground_truth?
traces.jsonl    OTLP/JSON ExportTraceServiceRequest, one per line
metrics.jsonl   OTLP/JSON ExportMetricsServiceRequest, one per line
logs.jsonl      OTLP/JSON ExportLogsServiceRequest, one per line
changes.jsonl   optional, one ChangeEvent per line
slos.yaml       optional, SLO definitions ({slos: [...]} or a list)
alarms.yaml     optional, alarm definitions ({alarms: [...]} or a list), history optional
```

``ground_truth`` is for the eval harness only: :func:`load_scenario_spec` drops it, and only
:func:`load_ground_truth` reads it.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from enum import StrEnum
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from mcp_server.errors import InputFileError
from mcp_server.redaction import Redactor
from mcp_server.taxonomy import FaultType
from mcp_server.telemetry import TimeWindow

SCENARIO_FILE = "scenario.yaml"
TRACES_FILE = "traces.jsonl"
METRICS_FILE = "metrics.jsonl"
LOGS_FILE = "logs.jsonl"
CHANGES_FILE = "changes.jsonl"
SLOS_FILE = "slos.yaml"
ALARMS_FILE = "alarms.yaml"

logger = logging.getLogger("sleuth.import")
_warned: set[str] = set()


def warn_once(message: str) -> None:
    """Log a warning about an input once per process (a scenario is often loaded more than once)."""
    if message not in _warned:
        _warned.add(message)
        logger.warning("warning: %s", message)


class TriggerKind(StrEnum):
    ALARM = "alarm"
    SLO = "slo"
    QUESTION = "question"


class Trigger(BaseModel):
    """What started the investigation. Service and time are optional: a question may name neither."""

    model_config = ConfigDict(extra="forbid")

    kind: TriggerKind = TriggerKind.QUESTION
    text: str = ""
    service: str | None = None
    time: datetime | None = None
    alarm: str | None = None
    slo: str | None = None


class RootCause(BaseModel):
    model_config = ConfigDict(extra="forbid")

    service: str
    fault_type: FaultType
    detail: str = ""
    host: str | None = None
    availability_zone: str | None = None
    dependency: str | None = None


class GroundTruth(BaseModel):
    model_config = ConfigDict(extra="forbid")

    root_cause: RootCause
    contributing_factors: list[str] = Field(default_factory=list)
    secondary_root_causes: list[RootCause] = Field(default_factory=list)
    red_herrings: list[str] = Field(default_factory=list)
    propagation: list[str] = Field(default_factory=list)  # services the failure reached, cause first
    onset: datetime | None = None
    # What a correct COE says (simulated scenarios; absent from real data sets, hence optional):
    customer_facing_service: str | None = None  # the entry service customers call that the failure reached
    detected_at: datetime | None = None  # when the paging alarm or SLO burn alert first fired after onset
    detected_by: str | None = None  # that alarm's or SLO's name
    affected_zone: str | None = None  # the impaired availability zone (az faults)
    key_metric: str | None = None  # the metric that shows the fault, as the telemetry names it
    key_terms: list[str] = Field(default_factory=list)  # a cited record must hold one (version, zone...)


class ScenarioSpec(BaseModel):
    """scenario.yaml as the investigation sees it: never with ground truth."""

    model_config = ConfigDict(extra="ignore")

    name: str
    description: str = ""
    window: TimeWindow
    trigger: Trigger = Field(default_factory=Trigger)
    tags: list[str] = Field(default_factory=list)


def _read_yaml(path: Path) -> Any:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InputFileError(path, None, None, "file not found") from None
    except UnicodeDecodeError as exc:
        raise InputFileError(path, None, None, f"not UTF-8 text ({exc.reason})") from None
    try:
        return yaml.safe_load(text)
    except yaml.reader.ReaderError as exc:  # a character YAML refuses; says where only as a position
        where = text.count("\n", 0, exc.position) + 1
        raise InputFileError(
            path, where, None, f"not valid YAML: unacceptable character #x{exc.character:04x}"
        ) from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else None
        problem = getattr(exc, "problem", None) or str(exc)
        raise InputFileError(path, line, None, f"not valid YAML: {' '.join(problem.split())}") from None


def validation_error(path: Path, exc: ValidationError, line: int | None = None) -> InputFileError:
    first = exc.errors()[0]
    field = ".".join(str(part) for part in first["loc"]) or None
    return InputFileError(path, line, field, first["msg"])


def load_scenario_spec(directory: Path) -> ScenarioSpec:
    path = Path(directory) / SCENARIO_FILE
    if not Path(directory).is_dir():
        raise InputFileError(Path(directory), None, None, "not a directory (expected a scenario directory)")
    raw = _read_yaml(path)
    if not isinstance(raw, dict):
        raise InputFileError(path, None, None, "expected a mapping with name, window and trigger")
    raw = {key: value for key, value in raw.items() if key != "ground_truth"}
    try:
        spec = ScenarioSpec.model_validate(raw)
    except ValidationError as exc:
        raise validation_error(path, exc) from None
    for warning in spec_warnings(spec, Path(directory)):
        warn_once(warning)
    return Redactor().model(spec)  # the description and trigger text are untrusted input too


# an alarm evaluates a period after it closes, so an alarm on the data's last minute fires seconds
# after an export that ends on the minute: that is how the two line up, not a wrong window
TRIGGER_AFTER_DATA = timedelta(minutes=2)


def spec_warnings(spec: ScenarioSpec, directory: Path) -> list[str]:
    """What is valid but probably not meant: a trigger time outside the scenario's window."""
    at = spec.trigger.time
    if at is not None and not spec.window.start <= at <= spec.window.end + TRIGGER_AFTER_DATA:
        return [
            f"{Path(directory) / SCENARIO_FILE} field 'trigger.time': {at.isoformat()} is outside the window "
            f"{spec.window.start.isoformat()} to {spec.window.end.isoformat()}; is the trigger time or the window wrong?"
        ]
    return []


def load_ground_truth(directory: Path) -> GroundTruth | None:
    """For the eval harness only."""
    path = Path(directory) / SCENARIO_FILE
    raw = _read_yaml(path)
    if not isinstance(raw, dict) or raw.get("ground_truth") is None:
        return None
    try:
        return GroundTruth.model_validate(raw["ground_truth"])
    except ValidationError as exc:
        err = validation_error(path, exc)
        raise InputFileError(path, None, f"ground_truth.{err.field}", err.problem) from None


def read_yaml_list(path: Path, key: str) -> list[Any]:
    """A YAML file holding either a list or a mapping with ``key`` holding a list."""
    raw = _read_yaml(path)
    if raw is None:
        return []
    if isinstance(raw, dict):
        raw = raw.get(key, [])
    if not isinstance(raw, list):
        raise InputFileError(path, None, key, f"expected a list of {key}")
    return raw
