"""Customer impact measured from the telemetry: who, how many failed requests, how long.

The primary signal is the customer-facing SLO's SLI (good/total per bucket); without an SLO, the
entry service's server spans stand in, and without spans (metrics-only data) its request counters.
Impact starts at the first bucket after onset whose bad fraction is clearly above both the SLO's
allowance and the baseline, and ends at the start of the first run of good buckets after it
(recovery). The series are kept for the charts.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from agent.report.counted_requests import RequestSeries, counted_requests
from agent.report.customer_facing import customer_facing_slo, entry_service, slo_statuses
from agent.report.entry_spans import entry_span_stats
from agent.report.evidence_book import EvidenceBook
from agent.report.impact_claims import impact_claims, unmeasured_claims
from agent.report.model import Claim, CustomerImpact, EntryImpact
from agent.report.slowdown import Slowdown, slowdown_claims
from mcp_server.analysis.models import EvidenceKind, InvestigationResult
from mcp_server.analysis.span_totals import outcomes_unrecorded
from mcp_server.analysis.stats import last_count_change, poisson_tail, rate_surprise
from mcp_server.backends.base import TelemetryBackend
from mcp_server.errors import QueryError
from mcp_server.telemetry import ServiceEdge, SliKind, SloDefinition, TimeWindow

RECOVERY_RUN = 3  # consecutive good buckets that count as recovered
MIN_BAD_FRACTION = 0.005
CHANGE_Z = 3.0  # a rise in the failure rate this significant marks where impact began
IMPACT_ALPHA = 0.00135  # one-sided 3 sigma: impact's failures must be this unlikely at the baseline rate


@dataclass
class Series:
    label: str
    times: list[datetime]
    values: list[float]


@dataclass
class Measurements:
    window: TimeWindow
    bucket_seconds: int
    onset: datetime | None
    impact: CustomerImpact
    cause_began: datetime | None = None  # when the likeliest cause's own witnesses began to move
    recovery: datetime | None = None
    sli: list[Series] = field(default_factory=list)  # good fraction in percent
    sli_goal_percent: float | None = None
    errors: list[Series] = field(default_factory=list)  # error rate in percent
    latency: list[Series] = field(default_factory=list)  # p99 in ms
    charted_spans: str = "server spans"  # what the error and latency series were read from
    slowed: Slowdown | None = None  # the entry service's requests slowed clearly (median latency)
    impact_evidence: list[str] = field(default_factory=list)
    impact_source: str = "SLI buckets"  # what the impact was counted from, for the timeline
    recovery_evidence: list[str] = field(default_factory=list)
    edges: list[ServiceEdge] = field(default_factory=list)  # the window's call graph, read once
    failures_unrecorded: bool = False  # the entry's requests were traced, but no span says how one ended


def result_window(result: InvestigationResult) -> TimeWindow:
    return result.window


def incident_onset(result: InvestigationResult) -> datetime | None:
    if result.onset is not None:
        return result.onset
    if result.detection is not None and result.detection.onset is not None:
        return result.detection.onset
    return next((h.onset for h in result.hypotheses if h.onset is not None), None)


def incident_began(m: Measurements) -> datetime | None:
    """When the incident began: the onset the data shows, or earlier when the likeliest cause's own
    witnesses began to move first (a leak's memory ramp); the front door's first bad bucket when
    nothing else dates it. Time to detect and time to mitigate are measured from this one moment
    everywhere: a leak that grew for minutes before customers felt it went undetected for those
    minutes too.

    The first bad bucket counts only when it ended by the onset (its failures prove the onset
    late, see :func:`_impact_span`): one that holds the onset says only which minute, and taking
    its start would date a change seen to the second up to a bucket early."""
    moments = [t for t in (m.onset, m.cause_began) if t is not None]
    start = m.impact.start
    if start is not None and (m.onset is None or start + timedelta(seconds=m.bucket_seconds) <= m.onset):
        moments.append(start)
    return min(moments) if moments else None


def onset_guess(result: InvestigationResult, m: Measurements) -> str | None:
    """How the beginning was guessed when nothing in the data dated it (no change point, no first
    failure or served version, no customer impact before it): the middle of the window or shortly
    before the trigger. None when the data dated it."""
    began = incident_began(m)
    if began is None or began != result.onset:
        return None
    if result.onset_source == "default":
        return "the middle of the window"
    if result.onset_source == "trigger":
        return "shortly before the trigger time"
    return None


def bucket_seconds_for(window: TimeWindow) -> int:
    minutes = max(1, round(window.duration.total_seconds() / 60 / 150))
    return 60 * minutes


def _bad_series(
    backend: TelemetryBackend, slo: SloDefinition | None, service: str | None, window: TimeWindow, bucket: int
) -> RequestSeries:
    if slo is not None:
        buckets = backend.sli_buckets(slo, window, bucket)
        if buckets or slo.sli != SliKind.AVAILABILITY or service is None:
            query = f"sli_buckets(slo={slo.name!r}, bucket_seconds={bucket})"
            return RequestSeries(
                [b.bucket_start for b in buckets],
                [b.total for b in buckets],
                [b.total - b.good for b in buckets],
                query,
                bucket,
                "SLI buckets",
            )
    else:
        stats, source, query = entry_span_stats(backend, service, window, bucket)
        if stats or service is None:
            return RequestSeries(
                [b.bucket_start for b in stats],
                [b.count for b in stats],
                [b.errors for b in stats],
                query,
                bucket,
                source,
                outcomes_unrecorded(stats),
            )
    # no request was traced: the entry service's own request counters count its availability
    return counted_requests(backend, service, window, bucket) or RequestSeries(
        [], [], [], "", bucket, "SLI buckets"
    )


def _in_baseline(moment: datetime, result: InvestigationResult, onset: datetime | None, bucket: int) -> bool:
    """Before the incident: the result's baseline window, else buckets ending a bucket before onset
    (an onset estimate can be a minute late, and the first bad bucket must not count as baseline)."""
    if result.baseline_window is not None:
        baseline = result.baseline_window
        return baseline.start <= moment < baseline.end - timedelta(seconds=bucket)
    return onset is not None and moment < onset - timedelta(seconds=bucket)


def _impact_span(
    times: list[datetime],
    totals: list[int],
    bads: list[int],
    onset: datetime | None,
    threshold: float,
    bucket: int,
    began: datetime | None = None,
    *,
    base_bad: int = 0,
    base_total: int = 0,
) -> tuple[int, int | None] | None:
    """Index of the first bad bucket and of the first bucket of recovery (None: not recovered).

    Impact starts in the bucket that holds the onset or a later one, or in the bucket that ended as
    the onset began when its own failures are significantly above the baseline's (``base_bad`` of
    ``base_total``; any over the threshold when there is no baseline): an onset voted by metrics
    can be a minute late, while one unlucky failure in the minute before it is background.

    A bucket of a few dozen requests crosses a low threshold with one unlucky failure: when that
    bucket began before the incident ``began`` (the earliest the investigation dates it; unknown,
    before any bucket) and the failures up to recovery rose significantly later, impact starts
    where the failure rate changed. A failure after the incident began is the incident's, and
    starts it, as long as the failures up to recovery are more than the baseline rate plausibly
    gives (``IMPACT_ALPHA``): one failed request of a quiet service's two a minute is not impact."""
    fractions = [b / t if t else 0.0 for b, t in zip(bads, totals, strict=True)]

    def may_start(i: int) -> bool:
        ended = times[i] + timedelta(seconds=bucket)
        if onset is None or ended > onset:
            return True
        if ended < onset:
            return False
        # no baseline to test against (coverage began there): the threshold is all there is
        return base_total <= 0 or rate_surprise(bads[i], totals[i], base_bad, base_total) >= CHANGE_Z

    def first_bad(after: int) -> int | None:
        return next(
            (i for i in range(after, len(fractions)) if fractions[i] > threshold and may_start(i)), None
        )

    def recovery(start: int) -> int | None:
        good_run = 0
        for i in range(start + 1, len(fractions)):
            good_run = good_run + 1 if fractions[i] <= threshold else 0
            if good_run == RECOVERY_RUN:
                return i - RECOVERY_RUN + 1
        return None

    start = first_bad(0)
    if start is None:
        return None
    end = recovery(start)
    if began is None or times[start] < began:
        # a bad bucket before the incident began is the incident only if the rate rose there
        change = last_count_change(bads[: end or len(bads)], totals[: end or len(totals)])
        if change is not None and change.z >= CHANGE_Z and change.index > start:
            start = first_bad(change.index) or start
            end = recovery(start)
    failed, total = sum(bads[start:end]), sum(totals[start:end])
    if base_total > 0 and poisson_tail(failed, (base_bad + 0.5) / base_total * total) > IMPACT_ALPHA:
        return None
    return start, end


def measure(result: InvestigationResult, backend: TelemetryBackend, book: EvidenceBook) -> Measurements:
    window = result_window(result)
    bucket = bucket_seconds_for(window)
    onset = incident_onset(result)
    try:
        edges = backend.service_edges(window)
    except QueryError:
        edges = []
    slo = customer_facing_slo(result, backend, edges, onset, bucket)
    entry = entry_service(result, edges, slo)
    names = [s.definition.name for s in slo_statuses(result)] or ([slo.name] if slo is not None else [])
    impact = CustomerImpact(entry_service=entry, slo_names=names)
    began = result.detection.onset if result.detection is not None else None
    out = Measurements(
        window=window, bucket_seconds=bucket, onset=onset, impact=impact, cause_began=began, edges=edges
    )
    if entry is None:
        return out
    try:
        times, totals, bads, query, resolution, out.impact_source, out.failures_unrecorded = _bad_series(
            backend, slo, entry, window, bucket
        )
    except QueryError:
        return out
    if slo is not None and times:
        out.sli_goal_percent = slo.goal * 100
        out.sli.append(
            Series(
                slo.name,
                times,
                [100.0 * (t - b) / t if t else 100.0 for t, b in zip(totals, bads, strict=True)],
            )
        )
    before = [i for i, t in enumerate(times) if _in_baseline(t, result, onset, bucket)]
    base_total, base_bad = sum(totals[i] for i in before), sum(bads[i] for i in before)
    baseline = base_bad / base_total if base_total else 0.0
    allowance = 1 - slo.goal if slo is not None else 0.0
    threshold = max(allowance, 3 * baseline, MIN_BAD_FRACTION)
    dated = [t for t in (onset, began) if t is not None]
    span = _impact_span(
        times,
        totals,
        bads,
        onset,
        threshold,
        bucket,
        min(dated) if dated else None,
        base_bad=base_bad,
        base_total=base_total,
    )
    _chart_series(out, backend, result, entry, window, bucket)
    if span is None:
        impact.baseline_bad_fraction = baseline
        out.slowed, slowed = slowdown_claims(backend, book, entry, window, onset)
        impact.symptom = "slow responses" if out.slowed is not None else None
        impact.claims = slowed + unmeasured_claims(
            book,
            entry,
            _from_onset(times, onset, bucket),
            totals,
            bads,
            baseline,
            query,
            window,
            slowed=bool(slowed),
            unrecorded=out.failures_unrecorded,
        )
        # what was counted stands for the impact, measured or not (the no-alarm claims cite it)
        out.impact_evidence = [e for c in impact.claims for e in c.evidence]
        return out
    first, recovered = span
    last = recovered if recovered is not None else len(times)
    impact.start = times[first]
    impact.end = times[recovered] if recovered is not None else None
    end_for_duration = impact.end or (times[-1] + timedelta(seconds=bucket))
    impact.duration_seconds = (end_for_duration - impact.start).total_seconds()
    impact.total_requests = sum(totals[first:last])
    impact.failed_requests = sum(bads[first:last])
    impact.excess_failed_requests = max(0, round(impact.failed_requests - baseline * impact.total_requests))
    impact.failed_fraction = impact.failed_requests / impact.total_requests if impact.total_requests else 0.0
    impact.peak_bad_fraction = max(
        b / t for b, t in zip(bads[first:last], totals[first:last], strict=True) if t
    )
    impact.peak_seconds = resolution
    impact.baseline_bad_fraction = baseline
    impact.functions = _failing_functions(
        backend, entry, TimeWindow(start=impact.start, end=end_for_duration)
    )
    too_slow = slo is not None and slo.sli == SliKind.LATENCY
    what = "too slow" if too_slow else "failed"
    slowed_too: list[Claim] = []
    if not too_slow:  # failures counted; did the requests that succeeded slow down as well?
        out.slowed, slowed_too = slowdown_claims(backend, book, entry, window, onset, ask=False)
    impact.symptom = "slow responses" if too_slow else "slow responses and errors" if slowed_too else "errors"
    ev = book.add(
        EvidenceKind.SLO,
        f"{impact.failed_requests:,} of {impact.total_requests:,} requests to {entry} {what} "
        f"({impact.failed_fraction:.1%}) between {impact.start:%H:%M} and {end_for_duration:%H:%M} UTC ({impact.peak_period} "
        f"{impact.peak_bad_fraction:.1%}, baseline {baseline:.2%})",
        source_query=f"{query} over {window.start.isoformat()}..{window.end.isoformat()}",
        service=entry,
        time=impact.start,
        value=float(impact.failed_requests),
        baseline=baseline,
    )
    out.impact_evidence.append(ev)
    if impact.end is not None:
        out.recovery = impact.end
        out.recovery_evidence.append(
            book.add(
                EvidenceKind.SLO,
                f"{entry}'s bad fraction stayed at or below {threshold:.1%} from {impact.end:%H:%M} UTC on "
                f"({RECOVERY_RUN} consecutive {bucket}s buckets)",
                source_query=query,
                service=entry,
                time=impact.end,
            )
        )
    impact.entries = [
        EntryImpact(
            service=entry,
            failed_requests=impact.failed_requests,
            total_requests=impact.total_requests,
            start=impact.start,
            end=impact.end,
            duration_seconds=impact.duration_seconds,
            source=slo.name if slo is not None else "server spans",
        ),
        *_other_entries(
            result, backend, edges, entry, TimeWindow(start=impact.start, end=end_for_duration), book
        ),
    ]
    impact.claims = impact_claims(impact, what, out.impact_evidence)
    impact.claims[1:1] = slowed_too
    out.impact_evidence += [e for c in slowed_too for e in c.evidence]
    return out


def _other_entries(
    result: InvestigationResult,
    backend: TelemetryBackend,
    edges: list[ServiceEdge],
    primary: str,
    impact_window: TimeWindow,
    book: EvidenceBook,
) -> list[EntryImpact]:
    """Other entry services (nobody calls them) on the affected path whose server requests failed
    during the impact window well above their own baseline, each counted over that same window."""
    callees = {e.callee for e in edges}
    services = {e.caller for e in edges} | callees
    affected = set(result.affected_services) | {h.service for h in result.hypotheses[:1]}
    roots = sorted(s for s in services if s not in callees and s != primary and s in affected)
    window = result_window(result)
    out: list[EntryImpact] = []
    for service in roots:
        try:
            stats, source, query = entry_span_stats(backend, service, window, 60)
        except QueryError:
            continue
        inside = [b for b in stats if impact_window.start <= b.bucket_start < impact_window.end]
        before = [b for b in stats if b.bucket_start < impact_window.start]
        total, failed = sum(b.count for b in inside), sum(b.errors for b in inside)
        base_total = sum(b.count for b in before)
        baseline = sum(b.errors for b in before) / base_total if base_total else 0.0
        if not total or failed / total <= max(3 * baseline, MIN_BAD_FRACTION):
            continue
        book.add(
            EvidenceKind.SLO,
            f"{failed:,} of {total:,} requests to {service} ({failed / total:.1%}) failed between "
            f"{impact_window.start:%H:%M} and {impact_window.end:%H:%M} UTC (baseline {baseline:.2%}; {source})",
            source_query=query,
            service=service,
            time=impact_window.start,
            value=float(failed),
        )
        out.append(
            EntryImpact(
                service=service,
                failed_requests=failed,
                total_requests=total,
                start=impact_window.start,
                end=impact_window.end if impact_window.end < window.end else None,
                duration_seconds=impact_window.duration.total_seconds(),
                source=source,
            )
        )
    return out


def _failing_functions(backend: TelemetryBackend, entry: str, window: TimeWindow) -> list[str]:
    stats = entry_span_stats(
        backend, entry, window, max(60, int(window.duration.total_seconds())), ["operation"]
    ).buckets
    errors: dict[str, int] = {}
    counts: dict[str, int] = {}
    for b in stats:
        op = b.group.get("operation") or "?"
        errors[op] = errors.get(op, 0) + b.errors
        counts[op] = counts.get(op, 0) + b.count
    failing = sorted((op for op in errors if errors[op] > 0), key=lambda op: -errors[op])
    return (failing or sorted(counts, key=lambda op: -counts[op]))[:5]


def _chart_series(
    out: Measurements,
    backend: TelemetryBackend,
    result: InvestigationResult,
    entry: str,
    window: TimeWindow,
    bucket: int,
) -> None:
    services = [entry] + [h.service for h in result.hypotheses[:1] if h.service != entry]
    for service in services:
        try:
            stats, source, _ = entry_span_stats(backend, service, window, bucket)
        except QueryError:
            continue
        if not stats:
            continue
        out.charted_spans = source
        times = [b.bucket_start for b in stats]
        if not outcomes_unrecorded(stats):  # a flat 0% would chart what nobody recorded
            out.errors.append(
                Series(service, times, [100.0 * b.errors / b.count if b.count else 0.0 for b in stats])
            )
        out.latency.append(Series(service, times, [b.p99_ms or 0.0 for b in stats]))


def _from_onset(times: list[datetime], onset: datetime | None, bucket: int) -> list[int]:
    """Indices of the buckets that end after the onset (every bucket without one)."""
    return [i for i, t in enumerate(times) if onset is None or t + timedelta(seconds=bucket) > onset]
