"""Plant the corpus into a scenario directory, where an incident's own evidence will carry it.

Secrets go where an investigation looks: error log lines of the failing service during the
incident (as the body or as an attribute), its failing spans (an attribute, the status message,
an exception event), a change's description, an alarm's description and the trigger's text.
Planted log records copy the time, trace and span of a real error record of that service, so
they sit inside the incident; nothing else in the scenario changes.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import yaml

from evals.redaction.corpus import Planted

# Where the n-th secret carried in text goes, in turn.
TEXT_PLACES = ("log_body", "span_status", "log_attribute", "log_body", "span_attribute", "exception_message")
ATTRIBUTE_PLACES = ("log_attribute", "span_attribute")
SCENARIO_PLACES = ("trigger_text", "change_description", "alarm_description")


def _string(value: str) -> dict[str, Any]:
    return {"stringValue": value}


def _service_of(resource: dict[str, Any]) -> str | None:
    for attr in resource.get("resource", {}).get("attributes", []):
        if attr.get("key") == "service.name":
            return str(attr["value"].get("stringValue"))
    return None


def _requests(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def _write(path: Path, requests: list[dict[str, Any]]) -> None:
    path.write_text("".join(json.dumps(r) + "\n" for r in requests), encoding="utf-8")


def _records(
    requests: list[dict[str, Any]], resources: str, scopes: str, items: str, service: str
) -> list[Any]:
    return [
        record
        for request in requests
        for resource in request.get(resources, [])
        if _service_of(resource) == service
        for scope in resource.get(scopes, [])
        for record in scope.get(items, [])
    ]


def places(planted: list[Planted]) -> dict[str, str]:
    """kind -> where it is planted: the first few in the scenario's own text, the rest in telemetry."""
    where: dict[str, str] = {}
    text = [p for p in planted if p.carrier == "text"]
    for p, place in zip(text, SCENARIO_PLACES, strict=False):
        where[p.kind] = place
    for i, p in enumerate(text[len(SCENARIO_PLACES) :]):
        where[p.kind] = TEXT_PLACES[i % len(TEXT_PLACES)]
    for i, p in enumerate(p for p in planted if p.carrier == "attribute"):
        where[p.kind] = ATTRIBUTE_PLACES[i % len(ATTRIBUTE_PLACES)]
    return where


def plant(directory: Path, planted: list[Planted], service: str) -> dict[str, str]:
    """Write every planted secret into the scenario at ``directory``; returns kind -> place."""
    where = places(planted)
    _plant_logs(
        directory / "logs.jsonl", [p for p in planted if where[p.kind].startswith("log_")], where, service
    )
    _plant_spans(
        directory / "traces.jsonl",
        [p for p in planted if where[p.kind].startswith(("span_", "exception"))],
        where,
        service,
    )
    _plant_scenario(
        directory, {where[p.kind]: p for p in planted if where[p.kind] in SCENARIO_PLACES}, service
    )
    return where


def _plant_logs(path: Path, planted: list[Planted], where: dict[str, str], service: str) -> None:
    requests = _requests(path)
    for request in requests:
        for resource in request.get("resourceLogs", []):
            if _service_of(resource) != service:
                continue
            scope = resource["scopeLogs"][0]
            records = scope["logRecords"]
            errors = [r for r in records if int(r.get("severityNumber", 0)) >= 17] or records
            for i, p in enumerate(planted):
                record = copy.deepcopy(errors[i % len(errors)])
                if where[p.kind] == "log_body":
                    record["body"] = _string(p.text)
                else:
                    key, value = (
                        (p.key, p.secret) if p.carrier == "attribute" else (f"{p.probe}.detail", p.text)
                    )
                    record.setdefault("attributes", []).append({"key": key, "value": _string(value)})
                records.append(record)
            _write(path, requests)
            return
    raise ValueError(f"{path}: no log records of {service} to plant secrets next to")


def _plant_spans(path: Path, planted: list[Planted], where: dict[str, str], service: str) -> None:
    requests = _requests(path)
    spans = _records(requests, "resourceSpans", "scopeSpans", "spans", service)
    failing = [s for s in spans if s.get("status", {}).get("code") == 2] or spans
    if len(failing) < len(planted):
        raise ValueError(
            f"{path}: {service} has {len(failing)} spans, too few to carry {len(planted)} secrets"
        )
    for span, p in zip(failing, planted, strict=False):
        place = where[p.kind]
        if place == "span_status":
            span["status"] = {"code": 2, "message": p.text}
        elif place == "exception_message":
            exception = [{"key": "exception.type", "value": _string("RuntimeError")}]
            exception.append({"key": "exception.message", "value": _string(p.text)})
            span.setdefault("events", []).append(
                {"name": "exception", "timeUnixNano": span["startTimeUnixNano"], "attributes": exception}
            )
        else:
            key, value = (p.key, p.secret) if p.carrier == "attribute" else (f"{p.probe}.detail", p.text)
            span.setdefault("attributes", []).append({"key": key, "value": _string(value)})
    _write(path, requests)


def _plant_scenario(directory: Path, by_place: dict[str, Planted], service: str) -> None:
    if "trigger_text" in by_place:
        path = directory / "scenario.yaml"
        spec = yaml.safe_load(path.read_text(encoding="utf-8"))
        spec.setdefault("trigger", {})["text"] = (
            f"{spec['trigger'].get('text', '')} {by_place['trigger_text'].text}"
        )
        path.write_text(yaml.safe_dump(spec, sort_keys=False), encoding="utf-8")
    if "change_description" in by_place:
        path = directory / "changes.jsonl"
        changes = _requests(path)
        changes[0]["description"] = (
            f"{changes[0].get('description', '')} {by_place['change_description'].text}"
        )
        _write(path, changes)
    if "alarm_description" in by_place:
        path = directory / "alarms.yaml"
        alarms = yaml.safe_load(path.read_text(encoding="utf-8"))
        listed = alarms["alarms"] if isinstance(alarms, dict) else alarms
        alarm = next((a for a in listed if a.get("service") == service), listed[0])
        alarm["description"] = f"{alarm.get('description', '')} {by_place['alarm_description'].text}"
        path.write_text(yaml.safe_dump(alarms, sort_keys=False), encoding="utf-8")
