"""Fault-specific sections read from a service's own metrics: memory against its limit with the
restarts (memory_leak), throttled requests against capacity (dependency_throttling), and the cache
hit ratio with the load that fell through to what the cache protects (cache_failure).

Metrics are found by what their descriptors say (a memory metric in bytes and its limit, a restart
counter, a throttled-requests counter, consumed and provisioned capacity), so a backend that names
them differently still works as long as the names say what they measure.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from agent.report.charts import draw_lines
from agent.report.counter_periods import spread_counts
from agent.report.evidence_book import EvidenceBook
from agent.report.impact import Measurements, Series, incident_began
from agent.report.model import Chart, ChartMarker, Claim, FaultSection
from mcp_server.analysis.models import EvidenceKind as K
from mcp_server.analysis.models import Hypothesis, InvestigationResult
from mcp_server.analysis.sparse_metrics import closed_window
from mcp_server.backends.base import MetricBucket, TelemetryBackend
from mcp_server.taxonomy import FaultType as F
from mcp_server.telemetry import MetricDescriptor

GIB = 1024**3


@dataclass(frozen=True)
class SectionInputs:
    """What a fault-specific section is built from: the incident, its top hypothesis and the backend."""

    result: InvestigationResult
    top: Hypothesis
    backend: TelemetryBackend
    m: Measurements
    book: EvidenceBook
    markers: list[ChartMarker]


def finish(
    fault: F, title: str, claims: list[Claim], chart: Chart | None, mitigation: str, evidence: list[str]
) -> FaultSection:
    """The section, with its measured mitigation citing ``evidence``."""
    return FaultSection(
        fault_type=fault,
        title=title,
        claims=claims,
        chart=chart,
        mitigation=Claim(text=mitigation, evidence=evidence),
    )


def _find(descriptors: Iterable[MetricDescriptor], *words: str, unless: str = "") -> MetricDescriptor | None:
    return next(
        (
            d
            for d in descriptors
            if all(w in d.name.lower() for w in words) and not (unless and unless in d.name.lower())
        ),
        None,
    )


def _series(rows: list[MetricBucket], name: str, how: str = "max") -> tuple[list[datetime], list[float]]:
    """One value per bucket over the hosts: the max (memory, a gauge) or the sum (counters)."""
    per: dict[datetime, list[float]] = {}
    for r in rows:
        if r.name == name:
            per.setdefault(r.bucket_start, []).append(r.value)
    times = sorted(per)
    return times, [max(per[t]) if how == "max" else sum(per[t]) for t in times]


def _spread(rows: list[MetricBucket], name: str, m: Measurements) -> tuple[list[datetime], list[float]]:
    """A counter's per-second rates, as the store buckets them at each point's stamp (summed over
    the hosts), as counts per bucket of the interval each point counted (see ``counter_periods``)."""
    times, rates = _series(rows, name, "sum")
    stamped = {t: r * m.bucket_seconds for t, r in zip(times, rates, strict=True)}
    counted = {r.bucket_start: r.counted_seconds for r in rows if r.name == name and r.counted_seconds}
    spread = spread_counts(stamped, m.window, m.bucket_seconds, counted=counted)
    ordered = sorted(spread)
    return ordered, [spread[t] for t in ordered]


def _read(
    backend: TelemetryBackend, service: str, m: Measurements, *, by_host: bool = False
) -> list[MetricBucket]:
    """The service's metrics over the window including the point stamped at its very end: OTLP
    stamps a counted interval at its end, so the window's last interval (with five-minute points,
    a third of the incident) closes there."""
    return backend.metric_buckets(closed_window(m.window), m.bucket_seconds, service, by_host=by_host)


def _query(service: str, m: Measurements) -> str:
    window = closed_window(m.window)
    return (
        f"metric_buckets(service={service!r}, bucket_seconds={m.bucket_seconds}, by_host=True) over "
        f"{window.start.isoformat()}..{window.end.isoformat()}"
    )


def memory_section(x: SectionInputs) -> FaultSection | None:
    top, backend, m, book, markers = x.top, x.backend, x.m, x.book, x.markers
    descriptors = backend.list_metrics(top.service)
    usage = _find(descriptors, "memory", unless="limit")
    limit = _find(descriptors, "memory", "limit")
    restarts = _find(descriptors, "restart")
    if usage is None:
        return None
    rows = _read(backend, top.service, m, by_host=True)
    times, values = _series(rows, usage.name)
    if not values:
        return None
    peak_i = max(range(len(values)), key=lambda i: values[i])
    low_i = min(range(peak_i + 1), key=lambda i: values[i])
    cap = max(_series(rows, limit.name)[1], default=0.0) if limit is not None else 0.0
    scale, unit = (GIB, "GiB") if usage.unit in ("By", "bytes", "B") else (1.0, usage.unit)
    of_limit = (
        f", {values[peak_i] / cap:.0%} of its {cap / scale:.2f} {unit} limit ({limit.name})"
        if cap and limit
        else ""
    )
    climb = book.add(
        K.METRIC_ANOMALY,
        f"{usage.name} on {top.service} (highest host) climbed from {values[low_i] / scale:.2f} {unit} at "
        f"{times[low_i]:%H:%M} to {values[peak_i] / scale:.2f} {unit} at {times[peak_i]:%H:%M} UTC{of_limit}",
        source_query=_query(top.service, m),
        service=top.service,
        time=times[low_i],
        value=values[peak_i],
        baseline=values[low_i],
    )
    claims = [
        Claim(
            text=f"{usage.name} on {top.service} climbed from {values[low_i] / scale:.2f} {unit} at {times[low_i]:%H:%M} "
            f"to {values[peak_i] / scale:.2f} {unit} at {times[peak_i]:%H:%M} UTC{of_limit}.",
            evidence=[climb],
        )
    ]
    if restarts is not None:
        per_host: dict[str, list[float]] = {}
        for r in rows:
            if r.name == restarts.name:
                per_host.setdefault(r.host or "?", []).append(r.value)
        count = sum(max(0.0, max(v) - v[0]) for v in per_host.values())
        hosts = sum(1 for v in per_host.values() if max(v) > v[0])
        ev = book.add(
            K.METRIC_ANOMALY,
            f"{restarts.name} on {top.service}: {count:.0f} restart(s) on {hosts} of {len(per_host)} hosts in the window",
            source_query=_query(top.service, m),
            service=top.service,
            value=count,
        )
        claims.append(
            Claim(
                text=f"{count:.0f} container restart(s) on {hosts} of {len(per_host)} hosts ({restarts.name}): "
                + (
                    "the memory was reclaimed only by the process being killed."
                    if count
                    else "no restart yet."
                ),
                evidence=[ev],
            )
        )
    series = [Series(usage.name, times, [v / scale for v in values])]
    chart = Chart(
        id="fault-memory",
        title=f"Memory of {top.service} against its limit",
        caption=f"Highest host's {usage.name} per {m.bucket_seconds // 60}-minute bucket, {unit}"
        + (f"; the dotted line is {limit.name}." if cap and limit else "."),
        svg=draw_lines(f"Memory ({unit})", unit, series, markers, cap / scale if cap else None, "limit"),
        markers=markers,
        evidence=[climb],
    )
    return finish(
        F.MEMORY_LEAK,
        f"Memory of {top.service} against its limit",
        claims,
        chart,
        f"Replace {top.service}'s pods nearest their memory limit with a rolling restart (and roll back "
        "the release that introduced the leak, if one did), raising the memory limit only while the leak is fixed.",
        [climb],
    )


def throttling_section(x: SectionInputs) -> FaultSection | None:
    top, backend, m, book, markers = x.top, x.backend, x.m, x.book, x.markers
    descriptors = backend.list_metrics(top.service)
    throttled = _find(descriptors, "throttl")
    consumed = _find(descriptors, "consumed", "capacity")
    provisioned = _find(descriptors, "provisioned", "capacity")
    if throttled is None:
        return None
    rows = _read(backend, top.service, m)
    began = incident_began(m) or m.window.start
    t_times, t_values = _series(rows, throttled.name, "sum")
    if not t_values:
        return None
    per_bucket = [v * m.bucket_seconds for v in t_values]  # counters come back as per-second rates
    during = sum(v for t, v in zip(t_times, per_bucket, strict=True) if t >= began)
    before = sum(v for t, v in zip(t_times, per_bucket, strict=True) if t < began)
    ev = book.add(
        K.METRIC_ANOMALY,
        f"{throttled.name} on {top.service}: {during:.0f} throttled request(s) from {began:%H:%M} UTC, {before:.0f} before",
        source_query=_query(top.service, m),
        service=top.service,
        time=began,
        value=during,
        baseline=before,
    )
    claims = [
        Claim(
            text=f"{during:,.0f} requests from {top.service} were throttled ({throttled.name}) from {began:%H:%M} UTC, "
            f"against {before:,.0f} before.",
            evidence=[ev],
        )
    ]
    series = [Series("throttled / bucket", *_spread(rows, throttled.name, m))]
    if consumed is not None and provisioned is not None:
        c_times, c_counts = _spread(rows, consumed.name, m)
        c_values = [c / m.bucket_seconds for c in c_counts]  # per second over the interval counted
        _, p_values = _series(rows, provisioned.name)
        cap = max(p_values, default=0.0)
        peak = max(c_values, default=0.0)
        if cap and c_values:
            ratio = peak / cap
            cap_ev = book.add(
                K.METRIC_ANOMALY,
                f"{consumed.name} peaked at {peak:.1f}/s against {provisioned.name} {cap:.1f} ({ratio:.0%})",
                source_query=_query(top.service, m),
                service=top.service,
                value=peak,
                baseline=cap,
            )
            claims.append(
                Claim(
                    text=f"Consumed capacity peaked at {ratio:.0%} of what was provisioned ({peak:.1f} against {cap:.1f}).",
                    evidence=[cap_ev],
                )
            )
            series.append(Series("consumed / provisioned (%)", c_times, [100.0 * v / cap for v in c_values]))
    chart = Chart(
        id="fault-throttling",
        title=f"Throttled requests of {top.service} against capacity",
        caption=f"Throttled requests per {m.bucket_seconds // 60}-minute bucket and consumed capacity as a percent of provisioned.",
        svg=draw_lines("Throttling", "", series, markers),
        markers=markers,
        evidence=[e for c in claims for e in c.evidence],
    )
    return finish(
        F.DEPENDENCY_THROTTLING,
        f"Throttling of {top.service}'s requests",
        claims,
        chart,
        f"Raise the capacity {top.service} is throttled on (or switch it to on-demand) and cut retries "
        "that add load while it is throttled.",
        [ev],
    )


def cache_section(x: SectionInputs) -> FaultSection | None:
    """The cache's hit ratio before and since the incident began, from the failing service's metrics."""
    top, backend, m, book, markers = x.top, x.backend, x.m, x.book, x.markers
    ratio = _find(backend.list_metrics(top.service), "cache", "hit")
    if ratio is None:
        return None
    rows = _read(backend, top.service, m)
    times, values = _series(rows, ratio.name, "max")
    began = incident_began(m) or m.window.start
    before = [v for t, v in zip(times, values, strict=True) if t < began]
    since = [v for t, v in zip(times, values, strict=True) if t >= began]
    if not before or not since:
        return None
    usual, low = sum(before) / len(before), min(since)
    percent = ratio.unit in ("1", "ratio", "")  # a ratio of 0..1 is shown in percent
    shown = (lambda v: f"{v:.0%}") if percent else (lambda v: f"{v:.2f} {ratio.unit}")
    low_at = times[values.index(low, len(before))]
    ev = book.add(
        K.METRIC_ANOMALY,
        f"{ratio.name} on {top.service} fell from {shown(usual)} before {began:%H:%M} to {shown(low)} at "
        f"{low_at:%H:%M} UTC",
        source_query=_query(top.service, m),
        service=top.service,
        time=low_at,
        value=low,
        baseline=usual,
    )
    claims = [
        Claim(
            text=f"{top.service}'s cache hit ratio ({ratio.name}) fell from {shown(usual)} to {shown(low)} at "
            f"{low_at:%H:%M} UTC: the requests the cache used to answer went to what it protects.",
            evidence=[ev],
        )
    ]
    chart = Chart(
        id="fault-cache",
        title=f"Cache hit ratio of {top.service}",
        caption=f"{ratio.name} per {m.bucket_seconds // 60}-minute bucket"
        + (" in percent." if percent else f", {ratio.unit}."),
        svg=draw_lines(
            "Cache hit ratio",
            "%" if percent else ratio.unit,
            [Series(ratio.name, times, [100.0 * v if percent else v for v in values])],
            markers,
        ),
        markers=markers,
        evidence=[ev],
    )
    return finish(
        F.CACHE_FAILURE,
        f"The cache in front of {top.service}",
        claims,
        chart,
        f"Restore the cache {top.service} reads through (fail over or restart the cache node, then warm it) and "
        "shed or rate-limit the load falling through to the backing store until the hit ratio recovers.",
        [ev],
    )
