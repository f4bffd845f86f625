"""The incident timeline and the response analysis (time to detect, time to diagnose).

Machine-observed moments (changes, onset, SLO breach, alarms, recovery) come with their evidence.
Human steps the telemetry cannot show (engagement, diagnosis, mitigation) are placeholders in their
place in the sequence, for the team to fill in.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from agent.report.detection import is_burn_alert, is_noise, slo_alert_name
from agent.report.evidence_book import EvidenceBook
from agent.report.impact import Measurements, incident_began, onset_guess
from agent.report.model import (
    PLACEHOLDER,
    Claim,
    MitigationPlan,
    ReportTimelineEntry,
    ResponseAnalysis,
    TimelinePhase,
)
from agent.report.wording import duration_phrase
from mcp_server.analysis.models import EvidenceKind, InvestigationResult
from mcp_server.scenario import TriggerKind
from mcp_server.telemetry import AlarmState

P = TimelinePhase
PHASE_ORDER = [
    P.CONTEXT,
    P.TRIGGER,
    P.IMPACT,
    P.DETECTION,
    P.ENGAGEMENT,
    P.DIAGNOSIS,
    P.MITIGATION,
    P.RECOVERY,
]
CHANGE_LOOKBACK = timedelta(hours=2)


def _minutes(seconds: float) -> str:
    return f"{seconds / 60:.0f} min" if seconds >= 90 else f"{seconds:.0f} s"


def _relative(seconds: float) -> str:
    return (
        f"{_minutes(seconds)} after onset"
        if seconds >= 0
        else f"{_minutes(-seconds)} before the measured onset"
    )


def _onset_event(book: EvidenceBook, onset: datetime) -> tuple[str, list[str]]:
    """What began the incident at ``onset``, with its evidence: a deployment's version first serving
    or a failure's first occurrence when the investigation dated the start from one, else the first
    anomaly."""
    for i in book.find([EvidenceKind.CHANGE, EvidenceKind.ERROR_ORIGIN], limit=50):
        e = book.get(i)
        if e is None:
            continue
        if e.attributes.get("first_served") == onset.isoformat():
            return f"{e.service} {e.attributes.get('version')} first serves requests", [i]
        if e.attributes.get("ran_in_from") == onset.isoformat():
            return f"First failure at {e.service} {e.attributes.get('operation', '')}".rstrip(), [i]
    return "Anomaly onset", book.find([EvidenceKind.METRIC_ANOMALY, EvidenceKind.ERROR_ORIGIN], limit=1)


def build_timeline(
    result: InvestigationResult, m: Measurements, book: EvidenceBook, plan: MitigationPlan | None = None
) -> list[ReportTimelineEntry]:
    timed: list[ReportTimelineEntry] = []
    onset = incident_began(m)  # one moment for "after onset" everywhere: when the timeline shows impact began
    implicated_services = {h.service for h in result.hypotheses[:1]}
    for change in result.changes:
        if onset is not None and not (onset - CHANGE_LOOKBACK <= change.time <= onset):
            continue
        cited = [
            i
            for i in book.find([EvidenceKind.CHANGE], service=change.service, limit=10)
            if (e := book.get(i)) is not None and e.time in (None, change.time)
        ][:1]
        if not cited:
            cited = [
                book.add(
                    EvidenceKind.CHANGE,
                    f"{change.kind} of {change.service}: {change.description or change.version or ''}".strip(),
                    source_query=f"list_changes(service={change.service!r})",
                    service=change.service,
                    time=change.time,
                )
            ]
        implicated = change.service in implicated_services
        what = change.version or change.description or change.kind.replace("_", " ")
        timed.append(
            ReportTimelineEntry(
                time=change.time,
                phase=P.TRIGGER if implicated else P.CONTEXT,
                event=f"Change to {change.service}: {what}"
                + (f" by {change.actor}" if change.actor else "")
                + ("" if implicated else " (not implicated by the investigation)"),
                source=f"change {change.id}" if change.id else "change record",
                evidence=cited,
            )
        )
    if m.impact.start is not None:
        timed.append(
            ReportTimelineEntry(
                time=m.impact.start,
                phase=P.IMPACT,
                event=f"Customer impact begins on {m.impact.entry_service}",
                source=m.impact_source,
                evidence=m.impact_evidence,
            )
        )
    elif onset is not None:
        event, cited = _onset_event(book, onset)
        guess = onset_guess(result, m)
        source = "investigation onset" + (f" (a guess: {guess}; no clear change point)" if guess else "")
        timed.append(
            ReportTimelineEntry(time=onset, phase=P.IMPACT, event=event, source=source, evidence=cited)
        )
    if result.detection is not None and result.detection.slo_breach_time is not None:
        timed.append(
            ReportTimelineEntry(
                time=result.detection.slo_breach_time,
                phase=P.IMPACT,
                event="SLO breached",
                source="SLO status",
                evidence=book.find([EvidenceKind.SLO], limit=1),
            )
        )
    for alarm in result.alarms:
        if is_noise(alarm, onset):
            continue  # flapping or already firing: not a moment of this incident
        fired = next(
            (
                t.time
                for t in alarm.history
                if t.new_state == AlarmState.ALARM
                and (onset is None or t.time >= onset - timedelta(minutes=5))
            ),
            None,
        )
        if result.detection is not None and result.detection.first_alarm == alarm.name:
            fired = result.detection.first_alarm_time or fired  # one time per alarm, the detection's
        if fired is None:
            continue
        delay = f" ({_relative((fired - onset).total_seconds())})" if onset is not None else ""
        cited = [
            i
            for i in book.find([EvidenceKind.ALARM], limit=10)
            if (e := book.get(i)) is not None and alarm.name in e.description
        ][:1]
        if not cited:
            cited = [
                book.add(
                    EvidenceKind.ALARM,
                    f"Alarm {alarm.name} went to ALARM at {fired:%H:%M:%S} UTC",
                    source_query=f"alarm_history(name={alarm.name!r})",
                    service=alarm.service,
                    time=fired,
                )
            ]
        timed.append(
            ReportTimelineEntry(
                time=fired,
                phase=P.CONTEXT
                if onset is not None and fired < onset
                else P.DETECTION,  # fired before the problem
                event=f"Alarm {alarm.name} fires{delay}",
                source=f"alarm {alarm.name}",
                evidence=cited,
            )
        )
    detection = result.detection
    if (
        detection is not None
        and detection.first_alarm
        and detection.first_alarm_time is not None
        and not any(e.source == f"alarm {detection.first_alarm}" for e in timed)
    ):
        delay = (
            f" ({_relative((detection.first_alarm_time - onset).total_seconds())})"
            if onset is not None
            else ""
        )
        timed.append(
            ReportTimelineEntry(
                time=detection.first_alarm_time,
                phase=P.DETECTION,
                event=f"Alarm {detection.first_alarm} fires{delay}",
                source=f"alarm {detection.first_alarm}",
                evidence=[
                    i
                    for i in book.find([EvidenceKind.ALARM], limit=50)
                    if (e := book.get(i)) is not None and detection.first_alarm in e.description
                ][:1],
            )
        )
    trigger = result.trigger
    if trigger.time is not None and trigger.kind is not TriggerKind.ALARM:
        paged = detection is not None and detection.first_alarm == slo_alert_name(
            trigger.slo or trigger.service or "the SLO"
        )
        delay = f" ({_relative((trigger.time - onset).total_seconds())})" if onset is not None else ""
        timed = [e for e in timed if not (paged and e.source == f"alarm {detection.first_alarm}")]  # type: ignore[union-attr]
        timed.append(
            ReportTimelineEntry(
                time=trigger.time,
                phase=P.DETECTION,
                event=f"SLO burn alert pages{delay}: {trigger.text}"
                if paged
                else f"Investigation requested: {trigger.text or 'manual trigger'}",
                source="trigger",
                evidence=[
                    book.add(
                        EvidenceKind.NOTE,
                        "The investigation's trigger",
                        source_query="InvestigationResult.trigger",
                        time=trigger.time,
                    )
                ],
            )
        )
    if m.recovery is not None:
        timed.append(
            ReportTimelineEntry(
                time=m.recovery,
                phase=P.RECOVERY,
                event=f"{m.impact.entry_service} back to its baseline error rate",
                source=m.impact_source,
                evidence=m.recovery_evidence,
            )
        )
    timed.sort(key=lambda e: e.time or m.window.start)

    top = result.hypotheses[0] if result.hypotheses else None
    placeholders = [
        ReportTimelineEntry(
            phase=P.ENGAGEMENT,
            event=f"On-call engaged ({PLACEHOLDER}: who, when, how paged)",
            placeholder=True,
        ),
        ReportTimelineEntry(
            phase=P.DIAGNOSIS,
            event=f"Root cause identified ({PLACEHOLDER}: when): "
            + (f"{top.service}, {top.fault_type.value}" if top else "unknown"),
            evidence=book.hypothesis_ids(top)[:2] if top else [],
            placeholder=True,
        ),
    ]
    placeholders.append(
        ReportTimelineEntry(
            phase=P.MITIGATION,
            event=f"Mitigation applied ({PLACEHOLDER}: when, by whom)" + (f": {plan.action}" if plan else ""),
            source=f"runbook {plan.runbook_id}" if plan and plan.runbook_id else "",
            evidence=plan.evidence[:1] if plan else [],
            placeholder=True,
        )
    )
    if m.recovery is None:
        placeholders.append(
            ReportTimelineEntry(
                phase=P.RECOVERY, event=f"Recovery ({PLACEHOLDER}: not visible in the data)", placeholder=True
            )
        )
    entries = list(timed)
    for entry in placeholders:
        rank = PHASE_ORDER.index(entry.phase)
        position = max(
            (i + 1 for i, e in enumerate(entries) if PHASE_ORDER.index(e.phase) <= rank), default=0
        )
        entries.insert(position, entry)
    return entries


SLOW_DETECTION_SECONDS = 120


def _time_to_mitigate(analysis: ResponseAnalysis, m: Measurements, began: datetime | None) -> Claim:
    """From the same two timeline events: impact beginning and recovery (back to baseline)."""
    if began is not None and m.recovery is not None:
        seconds = (m.recovery - began).total_seconds()
        analysis.time_to_mitigate_seconds = seconds
        return Claim(
            text=f"Time to mitigate: {_minutes(seconds)}, from impact beginning at {began:%H:%M} UTC to "
            f"recovery at {m.recovery:%H:%M} UTC.",
            evidence=m.impact_evidence[:1] + m.recovery_evidence,
        )
    if began is not None:
        lower = (m.window.end - began).total_seconds()
        return Claim(
            text=f"Time to mitigate: {PLACEHOLDER}; impact was still ongoing when the data ends at "
            f"{m.window.end:%H:%M} UTC, so at least {_minutes(lower)}.",
            evidence=m.impact_evidence[:1],
            needs_human_input=True,
        )
    return Claim(text=f"Time to mitigate: {PLACEHOLDER}.", needs_human_input=True)


BURN_RATE = 14.4  # the classic fast-burn multiplier: 2% of a 30-day budget in an hour
BURN_BUCKETS = 2


def _burn_rate_alarm(m: Measurements, book: EvidenceBook) -> tuple[datetime, str] | None:
    """When a fast burn-rate alarm on the measured SLI would have fired (None without an SLI)."""
    if not m.sli or m.sli_goal_percent is None:
        return None
    series = m.sli[0]
    allowed = (100.0 - m.sli_goal_percent) / 100.0
    run = 0
    for moment, good in zip(series.times, series.values, strict=True):
        run = run + 1 if (100.0 - good) / 100.0 > BURN_RATE * allowed else 0
        if run == BURN_BUCKETS:
            fired = moment + timedelta(seconds=m.bucket_seconds)  # the end of the second bad bucket
            ev = book.add(
                EvidenceKind.SLO,
                f"A {BURN_RATE:g}x burn-rate rule on {series.label} ({BURN_BUCKETS} consecutive {m.bucket_seconds}s "
                f"buckets above {BURN_RATE * allowed:.1%} bad) would have fired at {fired:%H:%M} UTC",
                source_query=f"sli_buckets(slo={series.label!r}, bucket_seconds={m.bucket_seconds})",
                time=fired,
            )
            return fired, ev
    return None


def build_response_analysis(
    result: InvestigationResult, m: Measurements, book: EvidenceBook
) -> ResponseAnalysis:
    detection = result.detection
    alarm_ev = (
        book.about(EvidenceKind.ALARM, detection.first_alarm) if detection and detection.first_alarm else []
    )
    top = result.hypotheses[0] if result.hypotheses else None
    analysis = ResponseAnalysis(alarm_fired=bool(detection and detection.first_alarm) or bool(result.alarms))
    claims = analysis.claims
    began = incident_began(m)
    if detection is not None and detection.first_alarm_time is not None and began is not None:
        delay = max(0.0, (detection.first_alarm_time - began).total_seconds())
        analysis.time_to_detect_seconds = delay
        claims.append(
            Claim(
                text=f"Time to detect: {_minutes(delay)}, from impact beginning at {began:%H:%M} UTC to alarm "
                f"{detection.first_alarm} at {detection.first_alarm_time:%H:%M:%S} UTC.",
                evidence=alarm_ev + m.impact_evidence[:1],
            )
        )
        guess = onset_guess(result, m)
        if guess is not None:
            claims.append(
                Claim(
                    text=f"{PLACEHOLDER}: confirm when impact began. No series changed clearly enough to "
                    f"date it, so the onset ({began:%H:%M} UTC) is {guess}, and time to detect is only as "
                    "good as that guess.",
                    needs_human_input=True,
                )
            )
        burn = _burn_rate_alarm(m, book)
        # a target only when detection was slow enough for a faster rule to matter: halving a delay of
        # a minute or two is noise in one-minute buckets, not an improvement anyone can verify
        if delay <= SLOW_DETECTION_SECONDS or delay <= 2 * m.bucket_seconds:
            claims.append(
                Claim(
                    text=f"Detection took no longer than the alarm's evaluation needs at {m.bucket_seconds}s "
                    "resolution; no faster target is set from this incident.",
                    evidence=alarm_ev,
                )
            )
        elif burn is not None and (burn[0] - began).total_seconds() < delay:
            fired, ev = burn
            claims.append(
                Claim(
                    text=f"A fast burn-rate alarm on {m.impact.entry_service}'s SLO ({BURN_RATE:g}x the "
                    f"error-budget rate for {BURN_BUCKETS} buckets) would have fired at {fired:%H:%M} UTC, "
                    f"{_relative((fired - began).total_seconds())}, {_minutes(delay - (fired - began).total_seconds())} "
                    "sooner.",
                    evidence=[ev],
                )
            )
        elif is_burn_alert(detection.first_alarm, result.alarms):
            claims.append(
                Claim(
                    text=f"To detect sooner: a shorter burn-rate window on {m.impact.entry_service}'s SLO, or an "
                    "alarm on the failing service itself, which the SLO sees only through its callers.",
                    evidence=alarm_ev,
                )
            )
        else:
            claims.append(
                Claim(
                    text=f"To detect sooner: alarm on the SLO burn rate of {m.impact.entry_service} over a short "
                    f"window, or fire {detection.first_alarm} on fewer evaluation periods.",
                    evidence=alarm_ev,
                )
            )
    else:
        claims.append(
            Claim(
                text="No alarm fired during the incident: detection depended on a person noticing.",
                evidence=m.impact_evidence,
            )
        )
        breach = detection.slo_breach_time if detection else None
        burn = _burn_rate_alarm(m, book)
        if burn is not None:
            fired, ev = burn
            after = f", {_relative((fired - began).total_seconds())}" if began is not None else ""
            claims.append(
                Claim(
                    text=f"A fast burn-rate alarm on {m.impact.entry_service}'s SLO ({BURN_RATE:g}x the error-budget "
                    f"rate for {BURN_BUCKETS} buckets) would have fired at {fired:%H:%M} UTC{after}.",
                    evidence=[ev],
                )
            )
        elif breach is not None:
            claims.append(
                Claim(
                    text=f"An SLO burn-rate alarm on {m.impact.entry_service} would have fired by {breach:%H:%M} UTC, when the SLO breached.",
                    evidence=book.find([EvidenceKind.SLO], limit=1),
                )
            )
    claims.append(_time_to_mitigate(analysis, m, began))
    total = sum(result.timings.values())
    if top is not None and total > 0:
        ev = book.add(
            EvidenceKind.NOTE,
            f"Sleuth's investigation ran {total:.1f}s and ranked {top.service} ({top.fault_type.value}) first with confidence {top.confidence:.2f}",
            source_query="InvestigationResult.timings, hypotheses[0]",
        )
        claims.append(
            Claim(
                text=f"Time to diagnose: {PLACEHOLDER} for the team; the automated investigation needed "
                f"{'under a second' if total < 1 else duration_phrase(total)} to rank {top.service} first.",
                evidence=[ev],
            )
        )
        claims.append(
            Claim(
                text="To halve diagnosis: start the investigation automatically when the alarm fires and page with its ranked hypotheses and evidence attached.",
                evidence=[ev],
            )
        )
    else:
        claims.append(Claim(text=f"Time to diagnose: {PLACEHOLDER}.", needs_human_input=True))
    claims.append(
        Claim(
            text=f"Was there a test that should have caught this before production? {PLACEHOLDER}.",
            needs_human_input=True,
        )
    )
    return analysis
