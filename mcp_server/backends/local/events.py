"""The local backend's change records, SLO indicators and alarms (evaluated from metrics when
the scenario gives no history)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from mcp_server.backends.base import MetricQuery, SliBucket
from mcp_server.backends.local.alarm_evaluation import evaluate_alarm
from mcp_server.backends.local.database import Database, where_sql, window_clause
from mcp_server.backends.local.metrics import STATISTICS, MetricQueries
from mcp_server.errors import QueryError, UnknownMetricError, UnknownServiceError
from mcp_server.telemetry import (
    Alarm,
    AlarmState,
    ChangeEvent,
    ChangeKind,
    MetricSeries,
    SliKind,
    SloDefinition,
    TimeWindow,
    from_nanos,
)


class ChangeQueries:
    def __init__(self, db: Database) -> None:
        self.db = db

    def list_changes(
        self,
        window: TimeWindow | None = None,
        service: str | None = None,
        kinds: list[ChangeKind] | None = None,
    ) -> list[ChangeEvent]:
        where, params = self.db.filters("time_ns", window, service)
        rows = self.db.fetchall(f"SELECT document FROM changes {where_sql(where)} ORDER BY time_ns", params)
        changes = [ChangeEvent.model_validate_json(r[0]) for r in rows]
        return [c for c in changes if kinds is None or c.kind in kinds]


class SloQueries:
    def __init__(self, db: Database) -> None:
        self.db = db

    def list_slo_definitions(self) -> list[SloDefinition]:
        return self.db.slo_definitions()

    def sli_buckets(
        self, slo: SloDefinition, window: TimeWindow, bucket_seconds: int = 60
    ) -> list[SliBucket]:
        where = ["service = ?", "is_entry"]
        params: list[Any] = [slo.service]
        if slo.operation:
            where.append("operation = ?")
            params.append(slo.operation)
        window_clause("start_ns", window, where, params)
        good = (
            "NOT is_error"
            if slo.sli == SliKind.AVAILABILITY
            else f"duration_ms <= {float(slo.threshold_ms or 0)}"
        )
        width = bucket_seconds * 1_000_000_000
        rows = self.db.fetchall(
            f"SELECT (start_ns // {width}) * {width}, count(*), sum(({good})::INTEGER) FROM spans {where_sql(where)} "
            "GROUP BY 1 ORDER BY 1",
            params,
        )
        return [
            SliBucket(bucket_start=from_nanos(int(r[0])), total=int(r[1]), good=int(r[2] or 0)) for r in rows
        ]


class AlarmQueries:
    """Alarms as stored, or evaluated against their metric once (kept until the next import)."""

    def __init__(
        self, db: Database, metrics: MetricQueries, time_range: Callable[[], TimeWindow | None]
    ) -> None:
        self.db = db
        self.metrics = metrics
        self.time_range = time_range
        self._cache: list[Alarm] | None = None

    def forget(self) -> None:
        self._cache = None

    def list_alarms(self, state: AlarmState | None = None) -> list[Alarm]:
        alarms = self._evaluated_alarms()
        return [a for a in alarms if state is None or a.state == state]

    def alarm_history(self, name: str, window: TimeWindow | None = None) -> Alarm:
        for alarm in self._evaluated_alarms():
            if alarm.name == name:
                if window is None:
                    return alarm
                kept = [t for t in alarm.history if window.contains(t.time)]
                return alarm.model_copy(update={"history": kept})
        known = ", ".join(a.name for a in self._evaluated_alarms()) or "(none)"
        raise QueryError(f"unknown alarm {name!r}; known alarms: {known}")

    def _evaluated_alarms(self) -> list[Alarm]:
        if self._cache is not None:
            return self._cache
        alarms = []
        window = self.time_range()
        for (document,) in self.db.fetchall("SELECT document FROM alarms ORDER BY name"):
            alarm = Alarm.model_validate_json(document)
            if not alarm.history and window is not None:
                alarm = evaluate_alarm(alarm, self._alarm_series(alarm, window))
            alarms.append(alarm)
        self._cache = alarms
        return alarms

    def _alarm_series(self, alarm: Alarm, window: TimeWindow) -> MetricSeries | None:
        statistic = alarm.statistic if alarm.statistic in STATISTICS else "avg"
        try:
            series = self.metrics.query_metrics(
                MetricQuery(
                    name=alarm.metric,
                    window=window,
                    service=alarm.service,
                    statistic=statistic,  # type: ignore[arg-type]
                    period_seconds=alarm.period_seconds,
                    attributes=dict(alarm.dimensions),
                )
            )
        except (UnknownMetricError, UnknownServiceError):
            return None
        return series[0] if series else None
