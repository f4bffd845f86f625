"""When a deployment's new version first served, read off its service's telemetry."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from pathlib import Path

from mcp_server.analysis.changes import first_served
from mcp_server.backends.local import LocalBackend
from mcp_server.telemetry import ChangeEvent, ChangeKind
from tests.mcp_server.analysis.scopes import T0, twenty_minutes


def _ns(moment: datetime) -> str:
    return str(int(moment.timestamp()) * 1_000_000_000)


def _minute(host: str, version: str, minute: int) -> dict[str, object]:
    """One host's delta request count for ``minute``, stamped at the minute's end as OTLP does."""
    resource = {
        "attributes": [
            {"key": k, "value": {"stringValue": v}}
            for k, v in (("service.name", "billing"), ("host.name", host), ("service.version", version))
        ]
    }
    point = {
        "startTimeUnixNano": _ns(T0 + timedelta(minutes=minute)),
        "timeUnixNano": _ns(T0 + timedelta(minutes=minute + 1)),
        "asInt": "12",
    }
    metric = {
        "name": "requests",
        "sum": {"dataPoints": [point], "aggregationTemporality": 1, "isMonotonic": True},
    }
    return {"resourceMetrics": [{"resource": resource, "scopeMetrics": [{"metrics": [metric]}]}]}


def _rolled_out(directory: Path) -> LocalBackend:
    """billing-1 runs 3.5.2 throughout; billing-2 switches to 3.6.0 during minute 6."""
    lines = [_minute("billing-1", "3.5.2", m) for m in range(10)]
    lines += [_minute("billing-2", "3.5.2" if m < 6 else "3.6.0", m) for m in range(10)]
    (directory / "metrics.jsonl").write_text("".join(json.dumps(line) + "\n" for line in lines))
    (directory / "scenario.yaml").write_text(
        f"name: rollout\nwindow: {{start: '{T0.isoformat()}', end: '{(T0 + timedelta(minutes=10)).isoformat()}'}}\n"
    )
    return LocalBackend.from_scenario(directory)


def _deployment(version: str, kind: ChangeKind = ChangeKind.DEPLOYMENT) -> ChangeEvent:
    return ChangeEvent(
        time=T0 + timedelta(minutes=4, seconds=45), service="billing", kind=kind, version=version
    )


def test_a_rolling_deployment_first_served_when_its_version_first_shows_not_when_it_began(tmp_path: Path):
    with _rolled_out(tmp_path) as backend:
        served = first_served(backend, _deployment("3.6.0"), twenty_minutes(["billing"]))

    # switched during minute 6; the point counting that minute is stamped at its end
    assert served == T0 + timedelta(minutes=7)


def test_a_version_no_telemetry_names_or_a_change_without_one_has_no_first_serving(tmp_path: Path):
    with _rolled_out(tmp_path) as backend:
        assert first_served(backend, _deployment("9.9.9"), twenty_minutes(["billing"])) is None
        assert (
            first_served(backend, _deployment("3.6.0", ChangeKind.CONFIG), twenty_minutes(["billing"]))
            is None
        )
