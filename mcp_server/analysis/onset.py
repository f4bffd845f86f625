"""Finding when the incident began, when the trigger does not say (or says only when it was noticed).

Every series the data offers is a witness: each service's span rate, error ratio, median
duration and median self time, the median time between each caller and its callee, error-log
counts, and every metric series of every host. At every candidate time ``t`` each series says
how far its level just after ``t`` moved from its level just before (a local two-sample test on
medians, in standard errors); the evidence for ``t`` is the sum over witnesses (one per service
and family, capped, so forty metrics of one pod are one witness). The onset is the peak of that
evidence. Three rules keep it honest on real data:

- buckets without data are missing, not zero: traces or logs that cover only part of the window
  must not look like a step where their coverage begins;
- the windows are local (minutes, not the whole window), so an older incident earlier in the
  window, or slow drift, does not pose as a step now;
- the trigger time is an upper bound, and when two incidents share the window the peak nearest
  the trigger wins unless it is much weaker.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import numpy as np

from mcp_server.analysis.count_onset import step_bucket_start
from mcp_server.analysis.stats import (
    ChangePoint,
    last_change_point,
    last_count_change,
    ramp_start,
    wiggle,
)
from mcp_server.backends.base import SpanStatsQuery, TelemetryBackend
from mcp_server.errors import QueryError
from mcp_server.telemetry import MetricKind, Severity, TimeWindow

Z_MIN = 5.0  # a series shift below this many standard errors is noise
Z_CAP = 25.0  # one enormous series must not outvote every other
REL_SCALE = 0.25  # a move of this share of the level counts fully; smaller moves count less
NEAR_TRIGGER_SHARE = 0.4  # a later peak wins over a stronger earlier one above this share of it
NICE_SECONDS = (5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600)
MIN_BEFORE = 3
SPAN_FLOOR = 0.05  # no scale below this share of a series' largest value
MIN_AFTER = 2
REVERT_SIGMA = 3.0  # a series whose last points are within this many baseline sigmas has reverted


Point = tuple[datetime, float] | tuple[datetime, float, float]  # (time, value) or (time, events, exposure)


@dataclass(frozen=True)
class OnsetCandidate:
    """One witness of a change at ``time``: which series, how strongly, which way."""

    service: str
    series: str  # "error_rate" | "latency" | "self_time" | "rate" | "gap:<caller>" | "error_logs" | "metric:<name>@<host>"
    time: datetime
    score: float
    direction: int = 1
    departed: datetime | None = None  # a ramp's start, when the series ramped (it crossed at ``time``)

    @property
    def began(self) -> datetime:
        return self.departed or self.time


@dataclass
class OnsetEstimate:
    time: datetime
    clarity: float  # 0..1: how clearly the data shows a change there
    candidates: list[OnsetCandidate] = field(default_factory=list)  # the strongest witnesses there
    # per service, when its own witnesses of this episode began to move (a ramp's start, not
    # where it crossed the noise band): when a cause that builds up slowly began
    service_starts: dict[str, datetime] = field(default_factory=dict)


@dataclass
class _Series:
    service: str
    label: str
    times: np.ndarray  # seconds since the window start, sorted
    values: np.ndarray
    start: datetime
    exposure: np.ndarray | None = None  # for count series: spans (or seconds) per point
    width: float = 60.0  # seconds each point covers

    def time_of(self, index: int) -> datetime:
        return self.start + timedelta(seconds=float(self.times[index]))


def choose_bucket_seconds(window: TimeWindow) -> int:
    """About 60 buckets per window, never finer than a minute (metrics rarely are)."""
    seconds = window.duration.total_seconds() / 60
    for nice in (60, 120, 300, 600, 900, 1800, 3600):
        if seconds <= nice:
            return nice
    return 3600


def fine_bucket_seconds(window: TimeWindow) -> int:
    """About 90 buckets per window for spans and logs (which have per-event times), at least 5 s."""
    seconds = window.duration.total_seconds() / 90
    return next((nice for nice in NICE_SECONDS if seconds <= nice), 3600)


# ------------------------------------------------------------------------------------ series


def span_series(
    backend: TelemetryBackend, window: TimeWindow, width: int
) -> dict[tuple[str, str], list[Point]]:
    """Per service (and caller→callee edge) series from spans, one point per bucket that has spans.
    Error series are counts with their exposure: (time, failed requests, requests), counted as
    distinct traces where the backend knows them, else as spans."""
    out: dict[tuple[str, str], list[Point]] = defaultdict(list)
    try:
        rows = backend.span_stats(
            SpanStatsQuery(window=window, bucket_seconds=width, group_by=["service"], count_traces=True)
        )
        edges = backend.span_stats(
            SpanStatsQuery(window=window, bucket_seconds=width, group_by=["service", "callee"])
        )
    except QueryError:
        return {}
    last = window.end - timedelta(seconds=width / 2)  # a bucket cut off by the window's end undercounts
    for b in rows:
        service = b.group.get("service")
        if not service or b.count < 3 or b.bucket_start > last:
            continue
        out[(service, "rate")].append((b.bucket_start, b.count / width))
        if b.traces is not None and b.error_traces is not None:
            out[(service, "error_rate")].append((b.bucket_start, float(b.error_traces), float(b.traces)))
        else:
            out[(service, "error_rate")].append((b.bucket_start, float(b.errors), float(b.count)))
        if b.p50_ms is not None:
            out[(service, "latency")].append((b.bucket_start, b.p50_ms))
        if b.self_p50_ms is not None:
            out[(service, "self_time")].append((b.bucket_start, b.self_p50_ms))
    for b in edges:
        service, callee = b.group.get("service"), b.group.get("callee")
        if service and callee and b.count >= 3 and b.self_p50_ms is not None:
            out[(callee, f"gap:{service}")].append((b.bucket_start, b.self_p50_ms))
    return out


def log_series(
    backend: TelemetryBackend, window: TimeWindow, width: int
) -> dict[tuple[str, str], list[Point]]:
    """Error-log counts per service, over the buckets the logs cover at all (zero where covered),
    as (time, count, seconds)."""
    try:
        counts = backend.log_counts(window, width)
    except QueryError:
        return {}
    covered = {c.bucket_start for c in counts}
    errors: dict[str, dict[datetime, float]] = defaultdict(dict)
    for c in counts:
        if c.severity in (Severity.ERROR, Severity.FATAL):
            errors[c.service][c.bucket_start] = errors[c.service].get(c.bucket_start, 0.0) + c.count
    return {
        (service, "error_logs"): [(t, by_time.get(t, 0.0), float(width)) for t in sorted(covered)]
        for service, by_time in errors.items()
    }


def metric_series(
    backend: TelemetryBackend, window: TimeWindow, width: int
) -> dict[tuple[str, str], list[Point]]:
    try:
        buckets = backend.metric_buckets(window, width, by_host=True)
    except QueryError:
        return {}
    out: dict[tuple[str, str], list[Point]] = defaultdict(list)
    counters: set[tuple[str, str]] = set()
    for b in buckets:
        key = (b.service, f"metric:{b.name}@{b.host or ''}")
        out[key].append((b.bucket_start, b.value))
        if b.kind == MetricKind.SUM:
            counters.add(key)
    for key in counters:
        if sparse_counts([float(p[1]) for p in out[key]], width) is not None:
            out[(key[0], key[1].replace("metric:", SPARSE_PREFIX, 1))] = out.pop(key)
    return out


SPARSE_PREFIX = "metric:sparse:"  # a sparse counter's label: "metric:sparse:<name>@<host>"
SPARSE_MEDIAN = 2.0  # a counter whose typical bucket holds at most this many events is sparse


def sparse_counts(rates: list[float], width: int) -> list[float] | None:
    """A counter's per-second rates as whole event counts per bucket, when they are whole and few
    (errors at one or two a minute). None when the counts are not sparse."""
    counts = [r * width for r in rates]
    if not counts or any(abs(c - round(c)) > 0.05 or c < 0 for c in counts):
        return None
    if float(np.median(counts)) > SPARSE_MEDIAN:
        return None
    return [float(round(c)) for c in counts]


def _collect(backend: TelemetryBackend, window: TimeWindow) -> list[_Series]:
    fine, coarse = fine_bucket_seconds(window), choose_bucket_seconds(window)
    out = []
    for width, source in (
        (fine, span_series(backend, window, fine)),
        (fine, log_series(backend, window, fine)),
        (coarse, metric_series(backend, window, coarse)),
    ):
        for (service, label), points in source.items():
            if len(points) < MIN_BEFORE + MIN_AFTER:
                continue
            points.sort()
            times = np.array([(p[0] - window.start).total_seconds() for p in points])
            values = np.array([p[1] for p in points], dtype=float)
            exposure = (
                np.array([float(p[2]) for p in points if len(p) > 2], dtype=float)
                if len(points[0]) > 2
                else None
            )
            if np.all(values == values[0]):
                continue
            out.append(_Series(service, label, times, values, window.start, exposure, float(width)))
    return out


# --------------------------------------------------------------------------------- votes


def _vote(series: _Series, latest: float | None) -> OnsetCandidate | None:
    """The series' last significant change before ``latest`` (seconds from the window start)."""
    limit = None if latest is None else int(np.searchsorted(series.times, latest, side="right"))
    if series.exposure is not None:  # sparse counts: a rate test, not a median
        counted = last_count_change(
            series.values.tolist(),
            series.exposure.tolist(),
            min_before=MIN_BEFORE,
            min_after=MIN_AFTER,
            latest=limit,
        )
        if counted is None or counted.z < Z_MIN:
            return None
        stepped = step_bucket_start(series.times, series.values, series.exposure, series.width, counted.index)
        return OnsetCandidate(
            series.service,
            series.label,
            series.start + timedelta(seconds=stepped),
            min(counted.z, Z_CAP),
        )
    cp = last_change_point(
        series.values.tolist(),
        min_before=MIN_BEFORE,
        min_after=MIN_AFTER,
        latest=limit,
        rel_floor=0.02,
        abs_floor=_noise(series.values),
    )
    if cp is None or abs(cp.z) < Z_MIN:
        return None
    if series.label.startswith(SPARSE_PREFIX):
        # errors at one or two a minute: their median falls to zero, and their last buckets sit
        # at zero, by chance gaps between them; only a rise says something started
        if cp.z < 0:
            return None
    elif _reverted(series.values, cp):
        return None
    effect = min(1.0, abs(cp.after - cp.before) / (REL_SCALE * max(abs(cp.before), 1e-9)))
    direction = 1 if cp.z > 0 else -1
    values = series.values.tolist()
    ramp = ramp_start(
        series.times.tolist(), values, cp.index, cp.before, direction, wiggle(values[: cp.index])
    )
    return OnsetCandidate(
        series.service,
        series.label,
        series.time_of(cp.index),
        round(min(abs(cp.z), Z_CAP) * effect, 3),
        direction,
        None if ramp is None else series.start + timedelta(seconds=ramp),
    )


def _reverted(values: np.ndarray, cp: ChangePoint) -> bool:
    """The series is back inside its old noise band at the window's end: an episode that ended
    (a batch job's run, a blip), not the incident still going on when someone asks."""
    sign = 1 if cp.z > 0 else -1
    tail = values[-MIN_AFTER:]
    return bool(np.all((tail - cp.before) * sign <= REVERT_SIGMA * cp.scale))


def _noise(values: np.ndarray) -> float:
    """Short-term noise of a series (robust sigma of point-to-point differences / sqrt 2, at least
    a small share of its largest value): the floor of any scale, so a baseline that happened to
    sit still is not infinitely precise."""
    # a series that mostly sits at zero and blips has no wiggle: its blips set its scale
    return max(wiggle(values.tolist()), SPAN_FLOOR * float(np.max(np.abs(values))), 1e-9)


def onset_candidates(
    backend: TelemetryBackend, window: TimeWindow, *, latest: datetime | None = None
) -> list[OnsetCandidate]:
    """Every series' significant last change, strongest first."""
    limit = None if latest is None else (latest - window.start).total_seconds()
    votes = [v for s in _collect(backend, window) if (v := _vote(s, limit)) is not None and v.score > 0]
    return sorted(votes, key=lambda c: (-c.score, c.time))


def detect_onset(
    backend: TelemetryBackend, window: TimeWindow, *, latest: datetime | None = None
) -> OnsetEstimate | None:
    """The onset the data shows (None when no series changed significantly)."""
    candidates = onset_candidates(backend, window, latest=latest)
    quiet = timedelta(seconds=max(3 * choose_bucket_seconds(window), 10 * fine_bucket_seconds(window)))
    return pick_onset(candidates, quiet)


def pick_onset(candidates: list[OnsetCandidate], quiet: timedelta) -> OnsetEstimate | None:
    """Where the votes cluster.

    Votes separated by a quiet gap of at least ``quiet`` belong to different episodes (an older
    incident's recovery, the incident asked about). The latest episode that is not much weaker
    than the strongest wins: the change nearest the trigger is the one someone is asking about.
    Within it, the onset is the earliest strong fine-grained vote (spans, logs), since metrics
    only say which minute; root causes start first, their symptoms follow.
    """
    if not candidates:
        return None
    episodes: list[list[OnsetCandidate]] = []
    for c in sorted(candidates, key=lambda c: c.time):
        if episodes and c.time - episodes[-1][-1].time < quiet:
            episodes[-1].append(c)
        else:
            episodes.append([c])
    episodes = _merge_escalations(episodes)
    weight = [_weight(e) for e in episodes]
    strongest = max(weight)
    chosen = max(i for i, w in enumerate(weight) if w >= NEAR_TRIGGER_SHARE * strongest)
    episode = episodes[chosen]
    # a lone witness minutes before the episode's bulk (a pod's memory settling, one blip) chains
    # into the episode through the quiet gap but is not where it starts
    anchor = _densest_start(episode, quiet)
    near = [c for c in episode if c.time >= anchor - quiet / 2]
    fine = [c for c in near if not c.series.startswith("metric:")]
    # a moment's strength is what every fine-grained witness says about it: two services' error
    # logs turning within seconds of each other outweigh either alone (metric votes share a
    # bucket with the symptoms that pile up after the cause, so each stands alone)
    span = quiet / 6 if fine else timedelta(0)
    fine = fine or near

    def support(c: OnsetCandidate) -> float:
        return c.score if not span else _weight([x for x in fine if c.time <= x.time < c.time + span])

    top = max(support(c) for c in fine)
    at = min(c.time for c in fine if support(c) >= 0.5 * top)
    clarity = min(1.0, weight[chosen] / (3 * Z_CAP))
    # each service's start among the witnesses near the onset, and among the whole episode's for a
    # series that ramped: a cause that builds up (a leak) moves minutes before the symptoms that
    # make up most of the episode, while a lone step long before them is not where it began
    starts: dict[str, datetime] = {}
    for c in [*near, *(c for c in episode if c.departed is not None)]:
        starts[c.service] = min(starts.get(c.service, c.began), c.began)
    return OnsetEstimate(
        at, round(0.4 + 0.6 * clarity, 3), sorted(episode, key=lambda c: -c.score)[:20], starts
    )


def _densest_start(episode: list[OnsetCandidate], width: timedelta) -> datetime:
    """The start of the ``width`` stretch of the episode that carries most weight (the earliest
    such stretch on a tie)."""
    starts = sorted({c.time for c in episode})
    return max(
        starts, key=lambda t: (_weight([c for c in episode if t <= c.time < t + width]), -starts.index(t))
    )


ESCALATION_SHARE = 0.5  # a later episode mostly made of the same witnesses moving the same way


def _merge_escalations(episodes: list[list[OnsetCandidate]]) -> list[list[OnsetCandidate]]:
    """A later episode whose weight comes mostly from witnesses (service, family, direction) that
    already moved the same way in the episode before it is that incident getting worse (another
    host failing, a second wave), not a new incident: it joins the earlier one. A recovery moves
    the other way, and a new incident elsewhere has other witnesses, so both stay apart."""
    merged: list[list[OnsetCandidate]] = []
    for episode in episodes:
        if merged:
            seen = {(c.service, c.series.split(":", 1)[0], c.direction) for c in merged[-1]}
            total = _weight(episode)
            repeated = _weight(
                [c for c in episode if (c.service, c.series.split(":", 1)[0], c.direction) in seen]
            )
            if total > 0 and repeated >= ESCALATION_SHARE * total:
                merged[-1] = merged[-1] + episode
                continue
        merged.append(episode)
    return merged


def _weight(episode: list[OnsetCandidate]) -> float:
    # one witness per service and series family: forty metrics of one pod are one witness
    best: dict[tuple[str, str], float] = {}
    for c in episode:
        family = c.series.split(":", 1)[0]
        best[(c.service, family)] = max(best.get((c.service, family), 0.0), c.score)
    return sum(best.values())
