"""CloudWatch alarms: DescribeAlarms for definitions and state, DescribeAlarmHistory for transitions."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from mcp_server.backends.aws.calls import ApiCaller
from mcp_server.errors import QueryError
from mcp_server.telemetry import Alarm, AlarmState, AlarmTransition, TimeWindow

COMPARISONS = {
    "GreaterThanThreshold": ">",
    "GreaterThanOrEqualToThreshold": ">=",
    "LessThanThreshold": "<",
    "LessThanOrEqualToThreshold": "<=",
    "GreaterThanUpperThreshold": ">",
    "LessThanLowerThreshold": "<",
    "LessThanLowerOrGreaterThanUpperThreshold": ">",  # anomaly band: outside is a breach
}
STATISTICS = {"Average": "avg", "Sum": "sum", "Minimum": "min", "Maximum": "max", "SampleCount": "count"}
MAX_HISTORY_ITEMS = 500
# Application Signals publishes an SLO's burn rate as this metric, one series per SLO and look-back
# window; an alarm on it is the SLO's burn-rate alert
BURN_RATE_NAMESPACE, BURN_RATE_METRIC, SLO_DIMENSION = "AWS/ApplicationSignals", "BurnRate", "SloName"


class AlarmReader:
    def __init__(self, client: Any, calls: ApiCaller) -> None:
        self._client = client
        self._calls = calls
        self._config = calls.config
        self._updated: dict[str, datetime] = {}

    def describe(self, state: AlarmState | None = None, names: list[str] | None = None) -> list[Alarm]:
        params: dict[str, Any] = {"AlarmTypes": ["MetricAlarm"]}
        if state is not None:
            params["StateValue"] = state.value
        if names:
            params["AlarmNames"] = names
        raw = list(
            self._calls.pages(
                "cloudwatch:DescribeAlarms", self._client, "describe_alarms", "MetricAlarms", None, **params
            )
        )
        for item in raw:
            if isinstance(item.get("StateUpdatedTimestamp"), datetime):
                self._updated[str(item["AlarmName"])] = item["StateUpdatedTimestamp"]
        return sorted((self._to_alarm(a) for a in raw), key=lambda a: a.name)

    def updated_since(self, name: str, moment: datetime) -> bool:
        """Whether the alarm changed state at or after ``moment`` (as of the last describe)."""
        updated = self._updated.get(name)
        return updated is not None and updated >= moment

    def _to_alarm(self, raw: dict[str, Any]) -> Alarm:
        dimensions = {str(d["Name"]): str(d["Value"]) for d in raw.get("Dimensions") or []}
        metric = str(raw.get("MetricName") or "")
        if not metric and raw.get("Metrics"):  # a metric-math alarm: name its expression
            metric = str(
                next((m.get("Expression") for m in raw["Metrics"] if m.get("Expression")), "expression")
            )
        service = next((dimensions[k] for k in self._config.service_dimensions if dimensions.get(k)), None)
        statistic = STATISTICS.get(
            str(raw.get("Statistic") or ""), str(raw.get("ExtendedStatistic") or "avg")
        )
        return Alarm(
            name=str(raw["AlarmName"]),
            service=service,
            metric=metric,
            statistic=statistic,
            comparison=COMPARISONS.get(str(raw.get("ComparisonOperator")), ">"),
            threshold=float(raw.get("Threshold") or 0.0),
            period_seconds=int(raw.get("Period") or 60),
            evaluation_periods=int(raw.get("EvaluationPeriods") or 1),
            dimensions={k: v for k, v in dimensions.items() if k not in self._config.service_dimensions},
            description=str(raw.get("AlarmDescription") or ""),
            state=AlarmState(str(raw.get("StateValue") or "INSUFFICIENT_DATA")),
            state_reason=str(raw.get("StateReason") or ""),
            slo=dimensions.get(SLO_DIMENSION)
            if raw.get("Namespace") == BURN_RATE_NAMESPACE and metric == BURN_RATE_METRIC
            else None,
        )

    def history(self, name: str, window: TimeWindow | None = None) -> list[AlarmTransition]:
        params: dict[str, Any] = {
            "AlarmName": name,
            "HistoryItemType": "StateUpdate",
            "ScanBy": "TimestampAscending",
        }
        if window is not None:
            params["StartDate"] = window.start
            params["EndDate"] = window.end
        items = list(
            self._calls.pages(
                "cloudwatch:DescribeAlarmHistory",
                self._client,
                "describe_alarm_history",
                "AlarmHistoryItems",
                MAX_HISTORY_ITEMS,
                **params,
            )
        )
        transitions = [t for t in (_transition(item) for item in items) if t is not None]
        if window is not None:
            transitions = [t for t in transitions if window.contains(t.time)]
        return sorted(transitions, key=lambda t: t.time)

    def alarm_with_history(self, name: str, window: TimeWindow | None = None) -> Alarm:
        found = self.describe(names=[name])
        if not found:
            raise QueryError(f"unknown CloudWatch alarm {name!r}")
        return found[0].model_copy(update={"history": self.history(name, window)})


def _transition(item: dict[str, Any]) -> AlarmTransition | None:
    try:
        data = json.loads(item.get("HistoryData") or "{}")
    except ValueError:
        return None
    old = str((data.get("oldState") or {}).get("stateValue"))
    new = str((data.get("newState") or {}).get("stateValue"))
    if old not in AlarmState.__members__ or new not in AlarmState.__members__:
        return None
    timestamp = item["Timestamp"]
    if not isinstance(timestamp, datetime):
        timestamp = datetime.fromisoformat(str(timestamp))
    return AlarmTransition(
        time=timestamp,
        old_state=AlarmState(old),
        new_state=AlarmState(new),
        reason=str((data.get("newState") or {}).get("stateReason") or item.get("HistorySummary") or ""),
    )
