"""A small incident as telemetry (an OTLP/JSON scenario directory) and as investigation results.

``frontend`` (customer-facing, ``GET /api/visits``) calls ``visits`` on three hosts. From 10:30 to
10:50 UTC host ``visits-2`` fails every request and, failing fast, receives half of the traffic; the
frontend answers 500. The results are written by hand the way the engine writes them.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from knowledge.documents import ActionItem, ActionStatus, CoeDocument, WhyNode
from mcp_server.analysis.models import (
    Detection,
    Evidence,
    EvidenceKind,
    Hypothesis,
    InvestigationResult,
    KnowledgeRef,
    Mitigation,
    MitigationKind,
)
from mcp_server.taxonomy import FaultType

START = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
ONSET = START + timedelta(minutes=30)
RECOVERY = START + timedelta(minutes=50)
END = START + timedelta(minutes=60)
PER_MINUTE = 30
HOSTS = ["visits-1", "visits-2", "visits-3"]


def _ns(moment: datetime) -> str:
    return str(int(moment.timestamp() * 1_000_000_000))


def _attrs(values: dict[str, Any]) -> list[dict[str, Any]]:
    out = []
    for key, value in values.items():
        wrapped = {"intValue": str(value)} if isinstance(value, int) else {"stringValue": str(value)}
        out.append({"key": key, "value": wrapped})
    return out


def _request(minute: int, index: int) -> tuple[dict[str, Any], dict[str, Any], str]:
    """frontend server span + client span, visits server span, and the visits host."""
    at = START + timedelta(minutes=minute, seconds=index * 60 / PER_MINUTE)
    failing = ONSET <= at < RECOVERY
    host = ("visits-2" if index % 2 == 0 else HOSTS[(index // 2) % 2 * 2]) if failing else HOSTS[index % 3]
    bad = failing and host == "visits-2"
    trace = f"{minute:04x}{index:04x}".rjust(32, "a")
    root_id, client_id, server_id = (
        f"{index:04x}{minute:04x}".rjust(16, "1"),
        f"{index:04x}{minute:04x}".rjust(16, "2"),
        f"{index:04x}{minute:04x}".rjust(16, "3"),
    )
    duration = timedelta(milliseconds=3 if bad else 40)
    error = {"code": 2, "message": "upstream 500"} if bad else {"code": 1}
    front = [
        {
            "traceId": trace,
            "spanId": root_id,
            "name": "GET /api/visits",
            "kind": 2,
            "startTimeUnixNano": _ns(at),
            "endTimeUnixNano": _ns(at + duration + timedelta(milliseconds=5)),
            "status": error,
            "attributes": _attrs({"http.response.status_code": 500 if bad else 200}),
        },
        {
            "traceId": trace,
            "spanId": client_id,
            "parentSpanId": root_id,
            "name": "GET /visits",
            "kind": 3,
            "startTimeUnixNano": _ns(at + timedelta(milliseconds=1)),
            "endTimeUnixNano": _ns(at + duration + timedelta(milliseconds=2)),
            "status": error,
            "attributes": _attrs(
                {"peer.service": "visits", "http.response.status_code": 500 if bad else 200}
            ),
        },
    ]
    back = {
        "traceId": trace,
        "spanId": server_id,
        "parentSpanId": client_id,
        "name": "GET /visits",
        "kind": 2,
        "startTimeUnixNano": _ns(at + timedelta(milliseconds=1)),
        "endTimeUnixNano": _ns(at + duration + timedelta(milliseconds=1)),
        "status": {"code": 2, "message": "java.io.IOException: disk read error"} if bad else {"code": 1},
        "attributes": _attrs({"http.response.status_code": 500 if bad else 200}),
    }
    return {"spans": front}, {"spans": [back]}, host


def _resource_spans(service: str, host: str, spans: list[dict[str, Any]], zone: str) -> dict[str, Any]:
    return {
        "resource": {
            "attributes": _attrs(
                {"service.name": service, "host.name": host, "cloud.availability_zone": zone}
            )
        },
        "scopeSpans": [{"scope": {"name": "fixture"}, "spans": spans}],
    }


def write_scenario(directory: Path, *, slos: bool = True) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    lines = []
    for minute in range(60):
        for index in range(PER_MINUTE):
            front, back, host = _request(minute, index)
            zone = f"us-east-1{'abc'[HOSTS.index(host)]}"
            lines.append(
                {
                    "resourceSpans": [
                        _resource_spans("frontend", "frontend-1", front["spans"], "us-east-1a"),
                        _resource_spans("visits", host, back["spans"], zone),
                    ]
                }
            )
    (directory / "traces.jsonl").write_text(
        "".join(json.dumps(line) + "\n" for line in lines), encoding="utf-8"
    )
    (directory / "scenario.yaml").write_text(
        f"name: fixture-single-host\nwindow: {{start: '{START.isoformat()}', end: '{END.isoformat()}'}}\n"
        f"trigger: {{kind: alarm, service: frontend, alarm: frontend-5xx, time: '{(ONSET + timedelta(minutes=7)).isoformat()}'}}\n",
        encoding="utf-8",
    )
    if slos:
        (directory / "slos.yaml").write_text(
            "slos:\n  - {name: frontend-availability, service: frontend, sli: availability, goal: 0.995}\n"
            "  - {name: visits-availability, service: visits, sli: availability, goal: 0.999}\n",
            encoding="utf-8",
        )
    return directory


def _ev(id_: str, kind: EvidenceKind, service: str, description: str, **extra: Any) -> Evidence:
    return Evidence(
        id=id_, kind=kind, service=service, description=description, source_query=f"fixture:{id_}", **extra
    )


def slo_status_dump() -> dict[str, Any]:
    return {
        "definition": {
            "name": "frontend-availability",
            "service": "frontend",
            "sli": "availability",
            "goal": 0.995,
        },
        "window": {"start": START.isoformat(), "end": END.isoformat()},
        "total_events": 1800,
        "good_events": 1500,
        "attainment": 0.833,
        "error_budget_remaining": -32.0,
        "burn_rate": 33.0,
        "breaching": True,
    }


def alarm_dump(name: str = "frontend-5xx", service: str = "frontend") -> dict[str, Any]:
    return {
        "name": name,
        "service": service,
        "metric": "http.server.errors",
        "statistic": "sum",
        "comparison": ">",
        "threshold": 20,
        "period_seconds": 60,
        "evaluation_periods": 5,
        "state": "ALARM",
        "history": [
            {"time": (ONSET + timedelta(minutes=7)).isoformat(), "old_state": "OK", "new_state": "ALARM"}
        ],
    }


def result_for(
    fault: FaultType, *, component: str | None = None, with_change: bool = False, alarm: bool = True
) -> InvestigationResult:
    """An engine-shaped result blaming ``visits`` for ``fault``."""
    evidence = [
        _ev(
            "ev-1",
            EvidenceKind.ERROR_ORIGIN,
            "visits",
            "Errors originate in visits GET /visits (frontend only propagates them)",
            time=ONSET,
        ),
        _ev(
            "ev-2",
            EvidenceKind.TOPOLOGY,
            "frontend",
            "frontend -> visits edge error rate rose from 0% to 50%",
        ),
        _ev(
            "ev-3",
            EvidenceKind.LOG_PATTERN,
            "visits",
            "New log template 'java.io.IOException: disk read error' (480 lines)",
            time=ONSET,
        ),
        _ev("ev-4", EvidenceKind.SLO, "frontend", "SLO frontend-availability burning at 33x"),
    ]
    if component:
        evidence.append(
            _ev(
                "ev-5",
                EvidenceKind.HOST_SKEW,
                "visits",
                f"All visits errors on {component}",
                attributes={"host": component},
            )
        )
    if alarm:
        evidence.append(
            _ev(
                "ev-6",
                EvidenceKind.ALARM,
                "frontend",
                "Alarm frontend-5xx fired 7 minutes after onset",
                time=ONSET + timedelta(minutes=7),
            )
        )
    changes: list[dict[str, Any]] = []
    if with_change:
        change_time = ONSET - timedelta(minutes=2)
        evidence.append(
            _ev(
                "ev-7",
                EvidenceKind.CHANGE,
                "visits",
                "Deployment visits v2.4.1 at 10:28, 2 minutes before onset",
                time=change_time,
            )
        )
        changes.append(
            {
                "time": change_time.isoformat(),
                "service": "visits",
                "kind": "deployment",
                "version": "v2.4.1",
                "previous_version": "v2.4.0",
                "id": "deploy-42",
                "actor": "pipeline",
            }
        )
    top = Hypothesis(
        rank=1,
        service="visits",
        fault_type=fault,
        confidence=0.86,
        component=component,
        onset=ONSET,
        verified=True,
        summary=f"visits fails requests ({fault.value.replace('_', ' ')})"
        + (f" on {component}" if component else ""),
        evidence=[e for e in evidence if e.service == "visits" or e.kind == EvidenceKind.TOPOLOGY],
    )
    runner_up = Hypothesis(
        rank=2,
        service="frontend",
        fault_type=FaultType.ERROR_EXCEPTION,
        confidence=0.2,
        summary="frontend answers 500",
        evidence=[evidence[3]],
    )
    return InvestigationResult(
        id="inv-fixture",
        scenario="fixture-single-host",
        question="frontend 5xx alarm",
        trigger={
            "kind": "alarm",
            "service": "frontend",
            "alarm": "frontend-5xx",
            "time": (ONSET + timedelta(minutes=7)).isoformat(),
        }
        if alarm
        else {"kind": "question", "text": "customers report errors on the visits page"},
        window={"start": START, "end": END},
        baseline_window={"start": START, "end": ONSET},
        onset=ONSET,
        affected_services=["visits", "frontend"],
        hypotheses=[top, runner_up],
        evidence=evidence,
        slos=[slo_status_dump()],
        alarms=[alarm_dump()] if alarm else [],
        changes=changes,
        detection=Detection(
            onset=ONSET,
            first_alarm="frontend-5xx",
            first_alarm_time=ONSET + timedelta(minutes=7),
            detection_delay_seconds=420.0,
            slo_breach_time=ONSET + timedelta(minutes=2),
        )
        if alarm
        else Detection(onset=ONSET, slo_breach_time=ONSET + timedelta(minutes=2)),
        knowledge=[
            KnowledgeRef(doc_id="sop-single-host", doc_type="sop", title="Single host failure", score=0.8)
        ],
        mitigations=[
            Mitigation(
                order=1,
                kind=MitigationKind.SHIFT_AWAY,
                action="Take the failing host out of the load balancer",
                target=component or "visits",
                sop="sop-single-host",
            )
        ],
        timings={"gather": 1.2, "rank": 0.3},
        tool_calls=12,
    )


def past_coe(fault: FaultType = FaultType.SINGLE_HOST_FAILURE) -> CoeDocument:
    return CoeDocument(
        id="coe-2025-visits-host",
        title="visits errors from a failed host",
        date=datetime(2025, 11, 4).date(),
        services=["visits"],
        fault_types=[fault],
        summary="A host failed and kept receiving traffic.",
        five_whys=WhyNode(question="Why did customers see errors?", answer="A host failed."),
        action_items=[
            ActionItem(
                title="Add deep health checks to visits", status=ActionStatus.OPEN, validation="Game day"
            )
        ],
    )
