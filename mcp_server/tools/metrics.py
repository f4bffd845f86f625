"""Metric and alarm tools: ``list_metrics``, ``query_metrics``, ``detect_metric_anomalies``,
``get_active_alarms``, ``get_alarm_history``."""

import itertools
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
from mcp_server.telemetry import Alarm, AlarmState, MetricKind, MetricSeries, TimeWindow
from mcp_server.tools.common import (
    READ_ONLY,
    End,
    OnsetArg,
    ServiceArg,
    Start,
    ToolKit,
    iso,
    limit_field,
    num,
)
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
MAX_PERIOD_SECONDS = 86_400
LIVE_RESOLUTION_SECONDS = 60  # CloudWatch's standard resolution: no finer period on live data
Statistic = Literal["avg", "sum", "min", "max", "p50", "p95", "p99", "count", "rate"]
_COUNTING = (MetricKind.SUM, MetricKind.HISTOGRAM, MetricKind.EXPONENTIAL_HISTOGRAM, MetricKind.SUMMARY)


def statistic_unit(unit: str, kind: MetricKind, statistic: str, period: int) -> str:
    """The unit of a statistic's values: a counter's rate is per second, its sum per period."""
    counting = kind in _COUNTING
    if statistic == "rate" and counting:
        base = "{observation}" if kind != MetricKind.SUM else unit
        return f"{base}/s" if base else "/s"
    if statistic == "count":
        return "{observation}" if kind != MetricKind.SUM and counting else "{datapoint}"
    if statistic == "sum" and counting:
        return f"{unit or '1'} per {period}s"
    return unit


def data_interval(kit: ToolKit, name: str, service: str | None, window: TimeWindow) -> int | None:
    """Seconds between a metric's own data points (the finest period it supports), or None.

    Recorded data: the smallest typical spacing of any of its series in the window, probed once
    per metric. Live data: the backend's standard resolution.
    """
    if kit.deps.clock != "data":
        return LIVE_RESOLUTION_SECONDS

    def probe() -> int | None:
        found = kit.deps.backend.query_metrics(
            MetricQuery(name=name, window=window, service=service, statistic="count", period_seconds=1)
        )
        spacings = []
        for series in found:
            times = [p.time for p in series.points]
            gaps = sorted((b - a).total_seconds() for a, b in itertools.pairwise(times))
            if gaps:
                spacings.append(gaps[len(gaps) // 2])  # the median gap: robust to a missed scrape
        return max(1, round(min(spacings))) if spacings else None

    return kit.cached(("data_interval", name, service, window), probe)


def choose_period(requested: int | None, interval: int | None, window: TimeWindow) -> tuple[int, str]:
    """The bucket width to use and why it differs from the request (empty when it does not).

    Never finer than the data (a 15 s rate over one-minute points would read 4x too high), a
    whole multiple of the data's interval, and coarse enough for MAX_POINTS_PER_SERIES points."""
    step = interval or 1
    floor = max(1, math.ceil(window.duration.total_seconds() / MAX_POINTS_PER_SERIES))
    wanted = requested if requested is not None else max(60, floor)
    period = math.ceil(max(wanted, floor, step) / step) * step
    if requested is None and period % 60 and period > 60:
        period = math.ceil(period / 60) * 60  # a default reads best in whole minutes
    if requested is None or period == requested:
        return period, ""
    reasons = []
    if requested < step:
        reasons.append(f"the data has one point every {step}s")
    elif requested % step:
        reasons.append(f"periods are whole multiples of the data's {step}s interval")
    if floor > max(requested, step):
        reasons.append(f"at most {MAX_POINTS_PER_SERIES} points per series")
    return period, f"period raised from {requested}s to {period}s ({'; '.join(reasons)})"


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
        slo=alarm.slo,
    )


def _series_out(series: MetricSeries, statistic: str, period: int) -> SeriesOut:
    values = [p.value for p in series.points]
    return SeriesOut(
        name=series.name,
        service=series.service,
        unit=statistic_unit(series.unit, series.kind, statistic, period),
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
        unit=f"{a.unit}/s" if a.statistic == "rate" else a.unit,
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
        limit: Annotated[int, limit_field("metrics")] = 60,
    ) -> Annotated[CallToolResult, MetricList]:
        """List the metrics available, per service, with their kind, unit and attribute keys
        (the keys query_metrics can group or filter by)."""
        kit.check_service(service)
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
        statistic: Annotated[
            Statistic,
            Field(description="Aggregation per period; rate is per second (counters, histograms)."),
        ] = "avg",
        period_seconds: Annotated[
            int | None,
            Field(
                ge=1,
                le=MAX_PERIOD_SECONDS,
                description="Bucket width. Never finer than the data; the answer reports the one used. "
                "Default: a whole minute keeping each series within 120 points.",
            ),
        ] = None,
        group_by: Annotated[
            list[str] | None, Field(description="Attribute keys to split series by (e.g. host.name).")
        ] = None,
        attributes: Annotated[
            dict[str, str] | None, Field(description="Only points whose attributes equal these values.")
        ] = None,
        start: Start = None,
        end: End = None,
        max_series: Annotated[int, Field(ge=1, le=50, description="Most series to return.")] = 20,
    ) -> Annotated[CallToolResult, MetricData]:
        """Time series of one metric, aggregated per period, one series per service (and per
        group_by value). Each series reports min, max and last alongside its points, and the unit
        of its values (a rate is per second)."""
        window = kit.window(start, end)
        kit.check_service(service)

        def work() -> tuple[list[MetricSeries], int, int | None, str]:
            interval = data_interval(kit, name, service, window)
            period, note = choose_period(period_seconds, interval, window)
            query = MetricQuery(
                name=name,
                window=window,
                service=service,
                statistic=statistic,
                period_seconds=period,
                group_by=group_by or [],
                attributes=attributes or {},
            )
            return backend.query_metrics(query), period, interval, note

        found, period, interval, note = await kit.run(work)
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
        unit = statistic_unit(found[0].unit, found[0].kind, statistic, period) if found else ""
        out = MetricData(
            window=kit.window_out(window),
            statistic=statistic,
            period_seconds=period,
            requested_period_seconds=period_seconds,
            data_interval_seconds=interval,
            unit=unit,
            series=[_series_out(s, statistic, period) for s in found[:max_series]],
            has_more=len(found) > max_series,
            message="; ".join(m for m in messages if m),
        )

        def render(o: MetricData) -> str:
            lines = [
                f"{name} {o.statistic} per {o.period_seconds}s bucket, in {o.unit or 'no unit'}, "
                f"{iso(window.start)} .. {iso(window.end)}"
            ]
            for s in o.series:
                labels = ", ".join(f"{k}={v}" for k, v in s.attributes.items())
                lines.append(
                    f"{s.service}{' ' + labels if labels else ''}: min {num(s.min, 3)} max {num(s.max, 3)} "
                    f"last {num(s.last, 3)} {s.unit}".rstrip()
                )
                lines.append("  " + " ".join(f"{p.time:%H:%M:%S}={p.value:.4g}" for p in s.points))
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

        return kit.respond(out, render, "alarms", untrusted=["alarms[].description", "alarms[].state_reason"])

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

        return kit.respond(
            out,
            render,
            "transitions",
            page_hint="narrow start/end",
            untrusted=["alarm.description", "alarm.state_reason", "transitions[].reason"],
        )

    @server.tool(annotations=READ_ONLY, structured_output=True)
    async def detect_metric_anomalies(
        service: ServiceArg = None,
        start: Start = None,
        end: End = None,
        onset: OnsetArg = None,
        limit: Annotated[int, limit_field("anomalies")] = 20,
    ) -> Annotated[CallToolResult, AnomalyList]:
        """Metric series that left their normal band after the onset, strongest first.

        Every metric series is compared before and after the onset (robust z-score and relative
        change); each anomaly gives its baseline, incident level, peak and when it began. Default
        window: the whole recorded incident (local store) or the last hour (live)."""
        window = kit.window(start, end)
        kit.check_service(service)

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
                    f"{a.baseline:.4g} -> {a.incident:.4g} ({a.peak:.4g}, {a.direction}) {a.unit} | {iso(a.onset) or '-'}"
                )
            return "\n".join([*lines, o.message]).strip()

        return kit.respond(out, render, "anomalies")
