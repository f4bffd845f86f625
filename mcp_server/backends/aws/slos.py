"""Application Signals: services, their log groups, SLO definitions and error-budget reports."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict

from mcp_server.backends.aws.calls import ApiCaller
from mcp_server.telemetry import SliKind, SloDefinition, TimeWindow

_DAYS = {"MINUTE": 1 / 1440, "HOUR": 1 / 24, "DAY": 1, "MONTH": 30}
BUDGET_REPORT_MAX_IDS = 50
MAX_SERVICES = 1_000


class SloBudgetReport(BaseModel):
    """Application Signals' own evaluation of one SLO at a moment."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str
    budget_status: str  # OK, WARNING, BREACHED, INSUFFICIENT_DATA
    attainment: float | None = None  # percent
    budget_requests_remaining: int | None = None
    total_budget_requests: int | None = None
    budget_seconds_remaining: int | None = None
    total_budget_seconds: int | None = None


class ApplicationSignalsReader:
    def __init__(self, client: Any, calls: ApiCaller) -> None:
        self._client = client
        self._calls = calls
        self._notes = calls.notes

    # --------------------------------------------------------------------------- services

    def services(self, window: TimeWindow) -> list[dict[str, Any]]:
        """Summaries (KeyAttributes, MetricReferences) of every service Application Signals saw."""
        summaries = list(
            self._calls.pages(
                "application-signals:ListServices",
                self._client,
                "list_services",
                "ServiceSummaries",
                MAX_SERVICES,
                StartTime=window.start,
                EndTime=window.end,
            )
        )
        return [s for s in summaries if (s.get("KeyAttributes") or {}).get("Name")]

    def log_groups(self, key_attributes: dict[str, str], window: TimeWindow) -> list[str]:
        response = self._calls.call(
            "application-signals:GetService",
            self._client.get_service,
            KeyAttributes=key_attributes,
            StartTime=window.start,
            EndTime=window.end,
        )
        references = list(response.get("LogGroupReferences") or []) + list(
            (response.get("Service") or {}).get("LogGroupReferences") or []
        )
        return list(dict.fromkeys(str(r["Identifier"]) for r in references if r.get("Identifier")))

    # ------------------------------------------------------------------------------- SLOs

    def slo_definitions(self) -> list[SloDefinition]:
        summaries = list(
            self._calls.pages(
                "application-signals:ListServiceLevelObjectives",
                self._client,
                "list_service_level_objectives",
                "SloSummaries",
            )
        )
        definitions = []
        for summary in summaries:
            slo = self._calls.call(
                "application-signals:GetServiceLevelObjective",
                self._client.get_service_level_objective,
                Id=summary["Arn"],
            )["Slo"]
            definition = slo_definition(slo)
            if definition is None:
                self._notes.add(
                    "slos", f"SLO {slo.get('Name')!r} is on a custom metric; only service SLOs are read"
                )
                continue
            definitions.append(definition)
        return sorted(definitions, key=lambda d: d.name)

    def budget_reports(self, slo_names: list[str], at: datetime) -> list[SloBudgetReport]:
        reports: list[SloBudgetReport] = []
        for i in range(0, len(slo_names), BUDGET_REPORT_MAX_IDS):
            response = self._calls.call(
                "application-signals:BatchGetServiceLevelObjectiveBudgetReport",
                self._client.batch_get_service_level_objective_budget_report,
                Timestamp=at,
                SloIds=slo_names[i : i + BUDGET_REPORT_MAX_IDS],
            )
            for error in response.get("Errors") or []:
                self._notes.add("slos", f"budget report for {error.get('Name')}: {error.get('ErrorMessage')}")
            reports.extend(
                SloBudgetReport(
                    name=str(r["Name"]),
                    budget_status=str(r.get("BudgetStatus", "INSUFFICIENT_DATA")),
                    attainment=r.get("Attainment"),
                    budget_requests_remaining=r.get("BudgetRequestsRemaining"),
                    total_budget_requests=r.get("TotalBudgetRequests"),
                    budget_seconds_remaining=r.get("BudgetSecondsRemaining"),
                    total_budget_seconds=r.get("TotalBudgetSeconds"),
                )
                for r in response.get("Reports") or []
            )
        return reports


def slo_definition(slo: dict[str, Any]) -> SloDefinition | None:
    """An Application Signals SLO on a service (period- or request-based) as a SloDefinition."""
    sli = slo.get("Sli") or {}
    request_sli = slo.get("RequestBasedSli") or {}
    metric = sli.get("SliMetric") or request_sli.get("RequestBasedSliMetric") or {}
    metric_type = metric.get("MetricType")
    service = (metric.get("KeyAttributes") or {}).get("Name")
    if metric_type not in ("LATENCY", "AVAILABILITY") or not service:
        return None
    goal = slo.get("Goal") or {}
    attainment = round(float(goal.get("AttainmentGoal") or 99.0) / 100.0, 10)
    interval = (
        (goal.get("Interval") or {}).get("RollingInterval")
        or (goal.get("Interval") or {}).get("CalendarInterval")
        or {"DurationUnit": "DAY", "Duration": 7}
    )
    days = max(1, round(_DAYS.get(str(interval.get("DurationUnit")), 1) * int(interval.get("Duration") or 1)))
    threshold = sli.get("MetricThreshold") if sli else request_sli.get("MetricThreshold")
    kind = SliKind.LATENCY if metric_type == "LATENCY" else SliKind.AVAILABILITY
    return SloDefinition(
        name=str(slo["Name"]),
        service=str(service),
        operation=metric.get("OperationName"),
        sli=kind,
        goal=min(max(attainment, 1e-6), 1 - 1e-9),
        threshold_ms=float(threshold) if kind == SliKind.LATENCY and threshold is not None else None,
        interval_days=days,
        description=str(slo.get("Description") or ""),
    )
