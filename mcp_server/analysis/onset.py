"""Finding when the incident began, when the trigger does not say (or says only when it was noticed).

Every service contributes its per-bucket error rate, mean span duration and error-log count; each
series gets the single step that best explains it. A step counts when it explains much of the
series' variance and moves far enough to matter. The onset is the earliest strong step: root
causes tend to start first, and propagated symptoms a bucket or two later.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from mcp_server.analysis.stats import step_fit
from mcp_server.backends.base import SpanStatsQuery, TelemetryBackend
from mcp_server.errors import QueryError
from mcp_server.telemetry import Severity, TimeWindow

MIN_SEGMENT = 3  # buckets on each side of a step


@dataclass(frozen=True)
class OnsetCandidate:
    service: str
    series: str  # "error_rate" | "latency" | "error_logs"
    time: datetime
    score: float  # 0..1


def choose_bucket_seconds(window: TimeWindow) -> int:
    """About 60 buckets per window, never finer than a minute (metrics rarely are)."""
    seconds = window.duration.total_seconds() / 60
    for nice in (60, 120, 300, 600, 900, 1800, 3600):
        if seconds <= nice:
            return nice
    return 3600


def _buckets(window: TimeWindow, width: int) -> list[datetime]:
    start_ns = (window.start_ns // (width * 1_000_000_000)) * width * 1_000_000_000
    first = window.start - timedelta(microseconds=(window.start_ns - start_ns) // 1000)
    out = []
    t = first
    while t < window.end:
        out.append(t)
        t += timedelta(seconds=width)
    return out


def onset_candidates(
    backend: TelemetryBackend, window: TimeWindow, bucket_seconds: int, *, latest: datetime | None = None
) -> list[OnsetCandidate]:
    """Strong steps in each service's error rate, latency and error logs, strongest first."""
    times = _buckets(window, bucket_seconds)
    index = {t: i for i, t in enumerate(times)}
    n = len(times)
    per_service: dict[str, dict[str, list[float]]] = {}

    def series(service: str, name: str) -> list[float]:
        return per_service.setdefault(service, {}).setdefault(name, [0.0] * n)

    try:
        buckets = backend.span_stats(
            SpanStatsQuery(window=window, bucket_seconds=bucket_seconds, group_by=["service"])
        )
    except QueryError:
        buckets = []
    for b in buckets:
        i = index.get(b.bucket_start)
        service = b.group.get("service")
        if i is None or service is None or b.count == 0:
            continue
        series(service, "count")[i] = b.count
        series(service, "errors")[i] = b.errors
        series(service, "duration_sum")[i] = b.duration_ms_sum
    try:
        counts = backend.log_counts(window, bucket_seconds)
    except QueryError:
        counts = []
    for c in counts:
        i = index.get(c.bucket_start)
        if i is not None and c.severity in (Severity.ERROR, Severity.FATAL):
            series(c.service, "error_logs")[i] += c.count

    out: list[OnsetCandidate] = []
    limit = n if latest is None else sum(1 for t in times if t <= latest) + 1
    for service, data in per_service.items():
        derived: dict[str, list[float]] = {}
        if "count" in data:
            cnt, err, dur = data["count"], data["errors"], data["duration_sum"]
            derived["error_rate"] = [e / c if c else 0.0 for e, c in zip(err, cnt, strict=True)]
            derived["latency"] = [d / c if c else 0.0 for d, c in zip(dur, cnt, strict=True)]
        if "error_logs" in data:
            derived["error_logs"] = data["error_logs"]
        for name, values in derived.items():
            fit = step_fit(values[:limit] if limit < n else values, MIN_SEGMENT)
            if fit is None or fit.after <= fit.before:
                continue
            if name == "error_rate":
                magnitude = min(1.0, (fit.after - fit.before) / 0.03)
            elif name == "latency":
                magnitude = min(1.0, (fit.after - fit.before) / (0.5 * max(fit.before, 1e-6)))
            else:
                magnitude = min(1.0, (fit.after - fit.before) / (3.0 + fit.before))
            score = fit.r2 * magnitude
            if score > 0.05:
                out.append(OnsetCandidate(service, name, times[fit.index], score))
    return sorted(out, key=lambda c: (-c.score, c.time))


def metric_onset_candidates(
    backend: TelemetryBackend, window: TimeWindow, bucket_seconds: int, *, latest: datetime | None = None
) -> list[OnsetCandidate]:
    """Steps in metric series: the fallback when there are no spans or logs to time the onset by."""
    bulk = getattr(backend, "metric_buckets", None)
    if bulk is None:
        return []
    try:
        buckets = bulk(window, bucket_seconds)
    except QueryError:
        return []
    times = _buckets(window, bucket_seconds)
    index = {t: i for i, t in enumerate(times)}
    limit = len(times) if latest is None else sum(1 for t in times if t <= latest) + 1
    series: dict[tuple[str, str], list[float | None]] = {}
    for b in buckets:
        i = index.get(b.bucket_start)
        if i is not None:
            series.setdefault((b.service, b.name), [None] * len(times))[i] = b.value
    out = []
    for (service, name), raw in series.items():
        values = [v for v in raw[:limit] if v is not None]
        positions = [i for i, v in enumerate(raw[:limit]) if v is not None]
        fit = step_fit(values, MIN_SEGMENT)
        if fit is None:
            continue
        scale = abs(fit.before) * 0.5 + 1e-9
        score = fit.r2 * min(1.0, abs(fit.after - fit.before) / scale)
        if score > 0.05:
            out.append(OnsetCandidate(service, f"metric:{name}", times[positions[fit.index]], score))
    return sorted(out, key=lambda c: (-c.score, c.time))


def pick_onset(candidates: list[OnsetCandidate], *, strong: float = 0.6) -> datetime | None:
    """The earliest candidate among the strong ones (within ``strong`` × the best score)."""
    if not candidates:
        return None
    best = candidates[0].score
    if best < 0.25:
        return None
    return min(c.time for c in candidates if c.score >= strong * best)
