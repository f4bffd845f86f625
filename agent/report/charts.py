"""Metric graphs for the report: the SLI, the error rate and the p99 latency, with the incident's
moments (onset, first alarm, changes, recovery) marked. Drawn with matplotlib's object API (no
pyplot global state) to SVG text, which the HTML embeds inline and the Markdown links as files.
"""

from __future__ import annotations

import io
from datetime import datetime

import matplotlib

matplotlib.use("Agg")

from matplotlib import dates as mdates
from matplotlib.figure import Figure

from agent.report.impact import Measurements, Series, incident_began
from agent.report.model import Chart, ChartMarker

MARKER_STYLE = {
    "onset": ("#c0392b", "--"),
    "first alarm": ("#e67e22", "-."),
    "recovery": ("#27ae60", "--"),
    "change": ("#8e44ad", ":"),
}
LINE_COLORS = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd"]


def _svg(figure: Figure) -> str:
    buffer = io.StringIO()
    with matplotlib.rc_context({"svg.hashsalt": "sleuth", "svg.fonttype": "path"}):
        figure.savefig(buffer, format="svg", metadata={"Date": None}, bbox_inches="tight")
    text = buffer.getvalue()
    return text[text.index("<svg") :]  # drop the XML prolog and doctype so it can be inlined


def draw_lines(
    title: str,
    ylabel: str,
    series: list[Series],
    markers: list[ChartMarker],
    goal: float | None = None,
    goal_label: str = "goal",
) -> str:
    """One SVG line chart: the series, a dotted reference line (an SLO goal, a limit) and markers."""
    figure = Figure(figsize=(9, 2.8), dpi=100)
    axes = figure.add_subplot()
    for color, line in zip(LINE_COLORS, series, strict=False):
        axes.plot(mdates.date2num(line.times), line.values, color=color, linewidth=1.6, label=line.label)
    if goal is not None:
        axes.axhline(goal, color="#555555", linewidth=1, linestyle=":", label=f"{goal_label} {goal:.4g}")
        if goal_label != "goal":  # a limit the series climbs toward: keep it visible above the data
            low, high = axes.get_ylim()
            axes.set_ylim(low, max(high, goal * 1.08))
    for marker in markers:
        color, style = MARKER_STYLE.get(marker.label.split(":")[0], ("#333333", ":"))
        axes.axvline(float(mdates.date2num(marker.time)), color=color, linestyle=style, linewidth=1.3)
        axes.annotate(
            marker.label,
            xy=(mdates.date2num(marker.time), 1.0),
            xycoords=("data", "axes fraction"),
            rotation=90,
            va="top",
            ha="right",
            fontsize=7,
            color=color,
        )
    axes.set_title(title, fontsize=10, loc="left")
    axes.set_ylabel(ylabel, fontsize=8)
    axes.tick_params(labelsize=7)
    axes.xaxis.set_major_formatter(mdates.DateFormatter("%H:%M"))
    axes.grid(alpha=0.25)
    if series:
        axes.legend(fontsize=7, loc="upper left", frameon=False)
    return _svg(figure)


def incident_markers(
    m: Measurements, first_alarm: datetime | None, changes: list[tuple[str, datetime]]
) -> list[ChartMarker]:
    markers = [ChartMarker(label=f"change: {label}", time=t) for label, t in changes if m.window.contains(t)]
    began = incident_began(m)  # the same moment the timeline and time to detect start from
    if began is not None:
        markers.append(ChartMarker(label="onset", time=began))
    if first_alarm is not None and m.window.contains(first_alarm):
        markers.append(ChartMarker(label="first alarm", time=first_alarm))
    if m.recovery is not None:
        markers.append(ChartMarker(label="recovery", time=m.recovery))
    return markers


def build_charts(m: Measurements, markers: list[ChartMarker]) -> list[Chart]:
    charts: list[Chart] = []
    evidence = m.impact_evidence + m.recovery_evidence
    minutes = m.bucket_seconds // 60
    impact = m.impact
    counted = (
        f" Over the impact window {impact.failed_requests:,} of {impact.total_requests:,} requests failed "
        f"({impact.failed_fraction or 0:.1%})."
        if impact.start is not None
        else ""
    )
    if m.sli:
        charts.append(
            Chart(
                id="sli",
                title=f"SLI: {m.sli[0].label}",
                caption=f"Good events per {minutes}-minute bucket, percent, against the SLO goal.{counted}",
                svg=draw_lines("SLI (% good)", "% good", m.sli, markers, m.sli_goal_percent),
                markers=markers,
                evidence=evidence,
            )
        )
    if m.errors:
        charts.append(
            Chart(
                id="errors",
                title="Error rate",
                caption=f"Failed requests ({m.charted_spans}) per {minutes}-minute bucket, percent, for "
                + " and ".join(s.label for s in m.errors)
                + ".",
                svg=draw_lines("Error rate (%)", "% errors", m.errors, markers, None),
                markers=markers,
                evidence=evidence,
            )
        )
    if m.latency:
        charts.append(
            Chart(
                id="latency",
                title="Latency p99",
                caption=f"99th percentile latency ({m.charted_spans}) per {minutes}-minute bucket, milliseconds.",
                svg=draw_lines("Latency p99 (ms)", "ms", m.latency, markers, None),
                markers=markers,
                evidence=evidence,
            )
        )
    return charts
