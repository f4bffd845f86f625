"""Application Signals beyond SLOs: operations, dependencies, audit findings and entity change events.

- ``ListServiceOperations`` and ``ListServiceDependencies`` name each operation of a service and
  each dependency it calls, with references to their RED metrics (``Latency``, ``Fault``,
  ``Error`` at exactly their dimension set); one batched ``GetMetricData`` reads them as
  :class:`OperationStats`: every request counted, not a sample of traces.
- ``ListAuditFindings`` is Application Signals' own automated analysis (SLO breaches, anomalous
  operation metrics, dependency impact...), read as :class:`PlatformFinding`.
- ``ListEntityEvents`` lists deployments and configuration changes of a service without
  CloudTrail, read as :class:`ChangeEvent`.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime
from typing import Any

from mcp_server.backends.aws.calls import ApiCaller
from mcp_server.backends.base import OperationStats, PlatformFinding, PlatformFindingKind
from mcp_server.telemetry import ChangeEvent, ChangeKind, TimeWindow

MAX_OPERATIONS = 200  # operations or dependencies read per service
AUDIT_TARGETS_PER_CALL = 10  # ListAuditFindings takes at most 10 targets
MAX_FINDINGS = 200
METRIC_QUERIES_PER_CALL = 500
_SEVERITY = {"CRITICAL": 1.0, "HIGH": 0.8, "MEDIUM": 0.5, "LOW": 0.25, "NONE": 0.0}
_AUDITOR_KIND: dict[str, PlatformFindingKind] = {
    "slo": "slo",
    "service_quota": "quota",
    "dependency_metric": "dependency",
    "log": "log",
}
_CHANGE_KIND = {"DEPLOYMENT": ChangeKind.DEPLOYMENT, "CONFIGURATION": ChangeKind.CONFIG}
# MetricType of a reference -> (statistic, field of OperationStats)
_STATS = {
    "LATENCY": (("SampleCount", "requests"), ("Average", "latency_ms")),
    "FAULT": (("Sum", "faults"),),
    "ERROR": (("Sum", "errors"),),
}


class ApplicationSignalsPlatform:
    def __init__(self, signals_client: Any, cloudwatch_client: Any, calls: ApiCaller) -> None:
        self._signals = signals_client
        self._cloudwatch = cloudwatch_client
        self._calls = calls

    # -------------------------------------------------------------------- operations, deps

    def operation_stats(self, services: list[dict[str, str]], window: TimeWindow) -> list[OperationStats]:
        """RED totals of every operation of ``services`` and of every dependency they call."""
        entries: list[tuple[dict[str, Any], list[dict[str, Any]]]] = []
        for keys in services:
            span = {"KeyAttributes": keys, "StartTime": window.start, "EndTime": window.end}
            for operation in self._calls.pages(
                "application-signals:ListServiceOperations",
                self._signals,
                "list_service_operations",
                "ServiceOperations",
                MAX_OPERATIONS,
                **span,
            ):
                entry = {"service": keys["Name"], "operation": str(operation.get("Name", ""))}
                entries.append((entry, list(operation.get("MetricReferences") or [])))
            for dependency in self._calls.pages(
                "application-signals:ListServiceDependencies",
                self._signals,
                "list_service_dependencies",
                "ServiceDependencies",
                MAX_OPERATIONS,
                **span,
            ):
                remote = dependency.get("DependencyKeyAttributes") or {}
                entry = {
                    "service": keys["Name"],
                    "operation": str(dependency.get("OperationName", "")),
                    "dependency": str(
                        remote.get("Name") or remote.get("Identifier") or remote.get("Type") or "?"
                    ),
                    "dependency_operation": dependency.get("DependencyOperationName"),
                }
                entries.append((entry, list(dependency.get("MetricReferences") or [])))
        values = self._read_totals(entries, window)
        stats = []
        for index, (entry, _) in enumerate(entries):
            found = values.get(index, {})
            if "requests" not in found:
                continue  # no Latency reference, or no requests in the window
            stats.append(
                OperationStats(
                    **entry,
                    requests=found["requests"],
                    faults=found.get("faults", 0.0),
                    errors=found.get("errors", 0.0),
                    latency_ms=found.get("latency_ms"),
                )
            )
        return stats

    def _read_totals(
        self, entries: list[tuple[dict[str, Any], list[dict[str, Any]]]], window: TimeWindow
    ) -> dict[int, dict[str, float]]:
        """One value per (entry, statistic) over the whole window, in batched GetMetricData calls."""
        period = max(60, -int(-window.duration.total_seconds() // 60) * 60)
        queries: list[dict[str, Any]] = []
        meaning: dict[str, tuple[int, str]] = {}
        for index, (_, references) in enumerate(entries):
            for reference in references:
                for statistic, field in _STATS.get(str(reference.get("MetricType", "")).upper(), ()):
                    query_id = f"q{len(queries)}"
                    meaning[query_id] = (index, field)
                    metric = {
                        k: reference[k] for k in ("Namespace", "MetricName", "Dimensions") if k in reference
                    }
                    queries.append(
                        {
                            "Id": query_id,
                            "MetricStat": {"Metric": metric, "Period": period, "Stat": statistic},
                        }
                    )
        values: dict[int, dict[str, float]] = defaultdict(dict)
        for i in range(0, len(queries), METRIC_QUERIES_PER_CALL):
            for result in self._calls.pages(
                "cloudwatch:GetMetricData",
                self._cloudwatch,
                "get_metric_data",
                "MetricDataResults",
                None,
                MetricDataQueries=queries[i : i + METRIC_QUERIES_PER_CALL],
                StartTime=window.start,
                EndTime=window.end,
            ):
                numbers = [float(v) for v in result.get("Values") or []]
                if not numbers:
                    continue
                index, field = meaning[str(result["Id"])]
                if field == "latency_ms":
                    values[index][field] = sum(numbers) / len(numbers)
                else:
                    values[index][field] = values[index].get(field, 0.0) + sum(numbers)
        return values

    # ------------------------------------------------------------------------------ audits

    def audit_findings(self, services: list[dict[str, str]], window: TimeWindow) -> list[PlatformFinding]:
        findings: list[PlatformFinding] = []
        for i in range(0, len(services), AUDIT_TARGETS_PER_CALL):
            targets = [
                {
                    "Type": "service",
                    "Data": {
                        "Service": {k: v for k, v in keys.items() if k in ("Type", "Name", "Environment")}
                    },
                }
                for keys in services[i : i + AUDIT_TARGETS_PER_CALL]
            ]
            for finding in self._calls.pages(
                "application-signals:ListAuditFindings",
                self._signals,
                "list_audit_findings",
                "AuditFindings",
                MAX_FINDINGS,
                StartTime=window.start,
                EndTime=window.end,
                AuditTargets=targets,
            ):
                findings.extend(_findings_of(finding))
        return findings

    # ------------------------------------------------------------------------------ events

    def entity_events(self, keys: dict[str, str], window: TimeWindow) -> list[ChangeEvent]:
        changes = []
        for event in self._calls.pages(
            "application-signals:ListEntityEvents",
            self._signals,
            "list_entity_events",
            "ChangeEvents",
            self._calls.config.max_change_events,
            Entity=keys,
            StartTime=window.start,
            EndTime=window.end,
        ):
            kind = _CHANGE_KIND.get(str(event.get("ChangeEventType", "")).upper())
            moment = event.get("Timestamp")
            if kind is None or not isinstance(moment, datetime):
                continue
            entity = event.get("Entity") or {}
            name = str(event.get("EventName") or event.get("ChangeEventType"))
            changes.append(
                ChangeEvent(
                    time=moment,
                    service=str(entity.get("Name") or keys.get("Name")),
                    kind=kind,
                    description=f"{name} on {entity.get('Name') or entity.get('Identifier') or keys.get('Name')}",
                    actor=str(event.get("UserName") or ""),
                    id=str(event["EventId"]) if event.get("EventId") else None,
                    attributes={
                        "source": "application-signals:ListEntityEvents",
                        "event_name": name,
                        **{f"entity.{k}": str(v) for k, v in entity.items()},
                    },
                )
            )
        return changes


def _findings_of(finding: dict[str, Any]) -> list[PlatformFinding]:
    keys = finding.get("KeyAttributes") or {}
    service = keys.get("Name")
    if not service:
        return []
    found = []
    for result in finding.get("AuditorResults") or []:
        severity = _SEVERITY.get(str(result.get("Severity", "")).upper(), 0.25)
        if severity <= 0:
            continue
        auditor = str(result.get("Auditor") or "")
        description = str(result.get("Description") or finding.get("Type") or auditor)
        data = {str(k): str(v)[:200] for k, v in (result.get("Data") or {}).items()}
        found.append(
            PlatformFinding(
                source="application-signals audit",
                kind=_kind(auditor, description),
                service=str(service),
                description=description,
                severity=severity,
                operation=finding.get("Operation"),
                attributes={"auditor": auditor, "finding_type": str(finding.get("Type") or ""), **data},
            )
        )
    return found


def _kind(auditor: str, description: str) -> PlatformFindingKind:
    if auditor in _AUDITOR_KIND:
        return _AUDITOR_KIND[auditor]
    text = description.lower()
    if any(word in text for word in ("fault", "error", "availability")):
        return "error_rate"
    if "latency" in text:
        return "latency"
    return "metric" if auditor == "operation_metric" else "other"
