"""Metric and alarm tools: ``list_metrics``, ``query_metrics``, ``detect_metric_anomalies``,
``get_active_alarms``, ``get_alarm_history``."""

import math
from typing import Annotated, Literal

from mcp.server import MCPServer
from mcp.types import CallToolResult
from pydantic import Field

from mcp_server.analysis import anomalies as anomaly_analysis
from mcp_server.analysis.anomalies import MetricAnomaly
from mcp_server.analysis.signals import Scope
from mcp_server.backends.base import MetricQuery
from mcp_server.deps import ServerDeps
from mcp_server.telemetry import Alarm, AlarmState, MetricSeries
from mcp_server.tools.common import READ_ONLY, End, OnsetArg, ServiceArg, Start, ToolKit, iso, num
from mcp_server.tools.models import (
    AlarmHistoryOut,
    AlarmList,
    AlarmOut,
    AnomalyList,
    AnomalyOut,
    MetricData,
    MetricInfo,
    MetricList,
    Point,
    ScopeOut,
    SeriesOut,
    TransitionOut,
    WindowOut,
)

MAX_POINTS_PER_SERIES = 120
Statistic = Literal["avg", "sum", "min", "max", "p50", "p95", "p99", "count", "rate"]


def alarm_out(alarm: Alarm) -> AlarmOut:
    condition = (
        f"{alarm.statistic}({alarm.metric}) {alarm.comparison} {alarm.threshold:g} "
        f"for {alarm.evaluation_periods}x{alarm.period_seconds}s"
    )
    if alarm.dimensions:
        condition += " where " + ", ".join(f"{k}={v}" for k, v in sorted(alarm.dimensions.items()))
    return AlarmOut(
        name=alarm.name,
        service=alarm.service,
        metric=alarm.metric,
        condition=condition,
        state=alarm.state.value,
        state_reason=alarm.state_reason,
        since=alarm.history[-1].time if alarm.history else None,
        description=alarm.description,
    )


def _series_out(series: MetricSeries, statistic: str) -> SeriesOut:
    values = [p.value for p in series.points]
    return SeriesOut(
        name=series.name,
        service=series.service,
        unit=series.unit,
        statistic=statistic,
        attributes=dict(series.attributes),
        points=[Point(time=p.time, value=p.value) for p in series.points[-MAX_POINTS_PER_SERIES:]],
        min=min(values) if values else None,
        max=max(values) if values else None,
        last=values[-1] if values else None,
        points_total=len(values),
    )


def scope_out(scope: Scope) -> ScopeOut:
    return ScopeOut(
        onset=scope.onset,
        onset_source="given" if scope.onset_source == "trigger" else scope.onset_source,
        baseline=WindowOut(start=scope.baseline.start, end=scope.baseline.end),
        incident=WindowOut(start=scope.incident.start, end=scope.incident.end),
    )


def _finite(value: float) -> float | None:
    return value if math.isfinite(value) else None


def anomaly_out(a: MetricAnomaly) -> AnomalyOut:
    return AnomalyOut(
        service=a.service,
        metric=a.metric,
        statistic=a.statistic,
        attributes=dict(a.attributes),
        direction="up" if a.direction > 0 else "down",
        baseline=round(a.baseline, 6),
        incident=round(a.incident, 6),
        peak=round(a.peak, 6),
        z=round(a.z, 2) if math.isfinite(a.z) else 999.0,
        relative=_finite(round(a.relative, 4)),
        onset=a.onset,
        score=round(a.score, 3),
    )


def metric_anomalies(kit: ToolKit, scope: Scope, service: str | None) -> list[MetricAnomaly]:
    """Anomalous series after the scope's onset (scored once per window, onset and service)."""
    return kit.cached(
        ("anomalies", scope.window, scope.onset, service),
        lambda: anomaly_analysis.detect_metric_anomalies(
            kit.deps.backend, scope, [service] if service else None
        ),
    )


def register(server: MCPServer[ServerDeps], deps: ServerDeps) -> None:
    kit = ToolKit(deps)
    backend = deps.backend

    @server.tool(annotations=READ_ONLY, structured_output=True)
    async def list_metrics(
        service: ServiceArg = None,
        name_contains: Annotated[
            str | None, Field(description="Case-insensitive substring of the metric name.")
        ] = None,
        limit: Annotated[int, Field(description="Most metrics to return (1..500).")] = 60,
    ) -> Annotated[CallToolResult, MetricList]:
        """List the metrics available, per service, with their kind, unit and attribute keys
        (the keys query_metrics can group or filter by)."""
        kit.check_service(service)
        kit.check_limit(limit)
        found = await kit.run(
            lambda: kit.cached(("list_metrics", service), lambda: backend.list_metrics(service))
        )
        if name_contains:
            found = [m for m in found if name_contains.lower() in m.name.lower()]
        out = MetricList(
            metrics=[
                MetricInfo(
                    name=m.name,
                    service=m.service,
                    kind=m.kind.value,
                    unit=m.unit,
                    description=m.description,
                    attribute_keys=m.attribute_keys,
                    point_count=m.point_count,
                )
                for m in found[:limit]
            ],
            has_more=len(found) > limit,
            message=f"showing {limit} of {len(found)} metrics; filter by service or name_contains"
            if len(found) > limit
            else "",
        )

        def render(o: MetricList) -> str:
            lines = [f"{len(o.metrics)} metrics: service | name | kind | unit | attribute keys"]
            lines += [
                f"{m.service} | {m.name} | {m.kind} | {m.unit or '-'} | {', '.join(m.attribute_keys) or '-'}"
                for m in o.metrics
            ]
            return "\n".join([*lines, o.message]).strip()

        return kit.respond(out, render, "metrics", page_hint="filter by service or name_contains")

    @server.tool(annotations=READ_ONLY, structured_output=True)
    async def query_metrics(
        name: Annotated[str, Field(description="Metric name, as list_metrics shows it.")],
        service: ServiceArg = None,
        statistic: Annotated[Statistic, Field(description="Aggregation per period.")] = "avg",
        period_seconds: Annotated[
            int | None, Field(description="Bucket width; default keeps each series within 120 points.")
        ] = None,
        group_by: Annotated[
            list[str] | None, Field(description="Attribute keys to split series by (e.g. host.name).")
        ] = None,
        attributes: Annotated[
            dict[str, str] | None, Field(description="Only points whose attributes equal these values.")
        ] = None,
        start: Start = None,
        end: End = None,
        max_series: Annotated[int, Field(description="Most series to return (1..50).")] = 20,
    ) -> Annotated[CallToolResult, MetricData]:
        """Time series of one metric, aggregated per period, one series per service (and per
        group_by value). Each series reports min, max and last alongside its points."""
        window = kit.window(start, end)
        kit.check_service(service)
        if not 1 <= max_series <= 50:
            kit.check_limit(0, "max_series")
        seconds = window.duration.total_seconds()
        floor = max(1, math.ceil(seconds / MAX_POINTS_PER_SERIES))
        note = ""
        if period_seconds is None:
            period = max(60, math.ceil(floor / 60) * 60)
        elif period_seconds < 1:
            kit.check_limit(0, "period_seconds")
            period = period_seconds
        elif period_seconds < floor:
            period = floor
            note = f"period raised from {period_seconds}s to {period}s to keep within {MAX_POINTS_PER_SERIES} points per series"
        else:
            period = period_seconds
        query = MetricQuery(
            name=name,
            window=window,
            service=service,
            statistic=statistic,
            period_seconds=period,
            group_by=group_by or [],
            attributes=attributes or {},
        )
        found = await kit.run(lambda: backend.query_metrics(query))
        messages = [note, kit.data_note(window)]
        for key in group_by or []:
            if found and all(s.attributes.get(key) is None for s in found):
                keys = sorted(
                    {
                        k
                        for m in kit.cached(("list_metrics", service), lambda: backend.list_metrics(service))
                        if m.name == name
                        for k in m.attribute_keys
                    }
                )
                messages.append(
                    f"no point carries attribute {key!r}; this metric's keys: {', '.join(keys) or '(none)'}"
                )
        if len(found) > max_series:
            messages.append(f"showing {max_series} of {len(found)} series; filter by service or attributes")
        if not found and not messages[1]:
            messages.append("no points match in this window")
        out = MetricData(
            window=kit.window_out(window),
            statistic=statistic,
            period_seconds=period,
            series=[_series_out(s, statistic) for s in found[:max_series]],
            has_more=len(found) > max_series,
            message="; ".join(m for m in messages if m),
        )

        def render(o: MetricData) -> str:
            lines = [
                f"{name} {o.statistic} per {o.period_seconds}s, {iso(window.start)} .. {iso(window.end)}"
            ]
            for s in o.series:
                labels = ", ".join(f"{k}={v}" for k, v in s.attributes.items())
                lines.append(
                    f"{s.service}{' ' + labels if labels else ''}: min {num(s.min, 3)} max {num(s.max, 3)} "
                    f"last {num(s.last, 3)} {s.unit}".rstrip()
                )
                lines.append("  " + " ".join(f"{p.time:%H:%M}={p.value:.4g}" for p in s.points))
            if o.message:
                lines.append(o.message)
            return "\n".join(lines)

        return kit.respond(
            out, render, "series", page_hint="filter by service or attributes, or narrow the window"
        )

    @server.tool(annotations=READ_ONLY, structured_output=True)
    async def get_active_alarms(service: ServiceArg = None) -> Annotated[CallToolResult, AlarmList]:
        """Alarms currently in ALARM state, with their condition, reason and since when.

        On a recorded incident "currently" means at the end of the recorded data."""
        kit.check_service(service)
        alarms = await kit.run(lambda: backend.list_alarms(AlarmState.ALARM))
        chosen = [alarm_out(a) for a in alarms if service is None or a.service == service]
        out = AlarmList(alarms=chosen, message="" if chosen else "no alarm is in ALARM state")

        def render(o: AlarmList) -> str:
            lines = [f"{len(o.alarms)} alarms firing"]
            lines += [
                f"{a.name} [{a.state} since {iso(a.since) or '?'}] {a.service or '-'}: {a.condition}; {a.state_reason}"
                for a in o.alarms
            ]
            return "\n".join([*lines, o.message]).strip()

        return kit.respond(out, render, "alarms")

    @server.tool(annotations=READ_ONLY, structured_output=True)
    async def get_alarm_history(
        name: Annotated[str, Field(description="Alarm name, as get_active_alarms shows it.")],
        start: Start = None,
        end: End = None,
    ) -> Annotated[CallToolResult, AlarmHistoryOut]:
        """An alarm's state changes (OK / ALARM / INSUFFICIENT_DATA) in a window, oldest first:
        when it fired is a proxy for when the problem was detected."""
        window = kit.window(start, end)
        alarm = await kit.run(lambda: backend.alarm_history(name, window))
        out = AlarmHistoryOut(
            window=kit.window_out(window),
            alarm=alarm_out(alarm),
            transitions=[
                TransitionOut(
                    time=t.time, old_state=t.old_state.value, new_state=t.new_state.value, reason=t.reason
                )
                for t in alarm.history
            ],
            message="" if alarm.history else "no state changes in this window",
        )

        def render(o: AlarmHistoryOut) -> str:
            lines = [f"{o.alarm.name}: {o.alarm.condition}; now {o.alarm.state}"]
            lines += [f"{iso(t.time)} {t.old_state} -> {t.new_state}: {t.reason}" for t in o.transitions]
            return "\n".join([*lines, o.message]).strip()

        return kit.respond(out, render, "transitions", page_hint="narrow start/end")

    @server.tool(annotations=READ_ONLY, structured_output=True)
    async def detect_metric_anomalies(
        service: ServiceArg = None,
        start: Start = None,
        end: End = None,
        onset: OnsetArg = None,
        limit: Annotated[int, Field(description="Most anomalies to return (1..500).")] = 20,
    ) -> Annotated[CallToolResult, AnomalyList]:
        """Metric series that left their normal band after the onset, strongest first.

        Every metric series is compared before and after the onset (robust z-score and relative
        change); each anomaly gives its baseline, incident level, peak and when it began. Default
        window: the whole recorded incident (local store) or the last hour (live)."""
        window = kit.window(start, end)
        kit.check_service(service)
        kit.check_limit(limit)

        def work() -> AnomalyList:
            scope = kit.scope(window, onset, service)
            found = metric_anomalies(kit, scope, service)
            return AnomalyList(
                window=kit.window_out(window),
                scope=scope_out(scope),
                anomalies=[anomaly_out(a) for a in found[:limit]],
                has_more=len(found) > limit,
                message=kit.ranked_message(window, limit, len(found), "no metric left its baseline band"),
            )

        out = await kit.run(work)

        def render(o: AnomalyList) -> str:
            lines = [
                f"onset {iso(o.scope.onset)} ({o.scope.onset_source}); {len(o.anomalies)} anomalies: "
                "score | service metric | baseline -> incident (peak) | began"
            ]
            for a in o.anomalies:
                labels = ", ".join(f"{k}={v}" for k, v in a.attributes.items())
                lines.append(
                    f"{a.score:.2f} | {a.service} {a.statistic}({a.metric}){' ' + labels if labels else ''} | "
                    f"{a.baseline:.4g} -> {a.incident:.4g} ({a.peak:.4g}, {a.direction}) | {iso(a.onset) or '-'}"
                )
            return "\n".join([*lines, o.message]).strip()

        return kit.respond(out, render, "anomalies")
