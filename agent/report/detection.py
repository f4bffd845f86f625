"""When was the incident detected? Fill the result's detection from every source the report can see.

The engine's ``Detection`` is used when it names a first alarm. Otherwise the first alarm is taken
from the result's alarms, then from the backend's alarm history, then from an alarm trigger, so a
thin result still yields the time-to-detect every COE asks about. Each alarm used gets evidence
(``alarm_history(...)``) so the claims built on it are cited. An SLO's burn-rate alert among the
alarms (``Alarm.slo``) is that SLO's page: it counts where an SLO page is asked for (a question's
first page at the front door), and its recorded history beats recomputing the page from the SLI.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from agent.report.evidence_book import EvidenceBook
from agent.report.impact import Measurements, incident_began
from mcp_server.analysis.models import Detection, EvidenceKind, InvestigationResult
from mcp_server.analysis.slos import burn_alert_time
from mcp_server.backends.base import TelemetryBackend
from mcp_server.errors import QueryError, SleuthError
from mcp_server.scenario import TriggerKind
from mcp_server.telemetry import Alarm, AlarmState

EARLY_ALARM = timedelta(minutes=5)  # an alarm this long before the estimated onset still counts
NOISE_LOOKBACK = timedelta(hours=1)  # an alarm that fired this long before the incident was already noisy


def is_noise(alarm: Alarm, onset: datetime | None) -> bool:
    """True when ``alarm`` cannot have detected an incident starting at ``onset``.

    It was already in ALARM before the incident began, or it flapped: it went to ALARM at least once
    in the hour before (onset - ``EARLY_ALARM``). Such an alarm says nothing about this incident, so
    crediting it with detection would make time-to-detect look better than the page that really came.
    """
    if onset is None:
        return False
    earliest = onset - EARLY_ALARM
    before = [t for t in sorted(alarm.history, key=lambda t: t.time) if t.time < earliest]
    if before and before[-1].new_state == AlarmState.ALARM:
        return True  # already firing when the incident began
    return any(t.new_state == AlarmState.ALARM and t.time >= earliest - NOISE_LOOKBACK for t in before)


def _fired_at(alarm: Alarm, onset: datetime | None, end: datetime) -> datetime | None:
    earliest = onset - EARLY_ALARM if onset is not None else None
    return next(
        (
            t.time
            for t in sorted(alarm.history, key=lambda t: t.time)
            if t.new_state == AlarmState.ALARM and (earliest is None or t.time >= earliest) and t.time <= end
        ),
        None,
    )


def slo_alert_name(slo: str) -> str:
    """How the report names the burn-rate alert of an SLO trigger, wherever it appears."""
    return f"{slo} burn-rate alert"


def is_burn_alert(name: str | None, alarms: list[Alarm]) -> bool:
    """True when the alarm called ``name`` is an SLO's burn-rate alert: one of ``alarms`` that watches an
    SLO, or the alert the report names for an SLO trigger. Its rule is a rate of budget spend, so
    tightening it means a shorter burn window, not fewer evaluation periods."""
    if name is None:
        return False
    return name.endswith(slo_alert_name("")) or any(a.name == name and a.slo is not None for a in alarms)


def alarm_rule(alarm: Alarm) -> str:
    """What an alarm fires on, as its evidence and the five whys state it."""
    if alarm.slo is not None:  # a burn-rate alert: its threshold is a rate of budget spend
        return alarm.description or f"{alarm.slo} burned its error budget over {alarm.threshold:g}x too fast"
    return (
        f"{alarm.metric} ({alarm.statistic}) {alarm.comparison} {alarm.threshold:g} for "
        f"{alarm.evaluation_periods} x {alarm.period_seconds}s"
    )


def _stored(backend: TelemetryBackend) -> tuple[list[Alarm], list[Alarm]]:
    """The backend's threshold alarms and its SLO burn-rate alerts. A burn alert is only the page of an
    SLO the report already measures, so it stands in only where that SLO's page is asked for."""
    try:
        alarms = backend.list_alarms()
    except SleuthError:
        return [], []
    return [a for a in alarms if a.slo is None], [a for a in alarms if a.slo is not None]


def fired_alarms(
    result: InvestigationResult, stored: list[Alarm], m: Measurements
) -> list[tuple[Alarm, datetime]]:
    """Alarms (the result's, then the backend's ``stored``) on the affected services that went to ALARM
    during the incident, earliest first.

    Alarms that were already firing or flapping before the onset (``is_noise``) are left out.
    """
    known = [a for a in result.alarms if a.slo is None]
    named = {a.name for a in known}
    known += [a for a in stored if a.name not in named]
    involved = set(result.affected_services) | {h.service for h in result.hypotheses}
    fired = [
        (a, t)
        for a in known
        if not is_noise(a, m.onset)
        and (t := _fired_at(a, m.onset, m.window.end)) is not None
        and (not involved or a.service in involved | {None})
    ]
    return sorted(fired, key=lambda item: item[1])


def _alarm_evidence(
    book: EvidenceBook, alarm_name: str, service: str | None, moment: datetime, rule: str
) -> str:
    existing = [
        i
        for i in book.find([EvidenceKind.ALARM], limit=50)
        if (e := book.get(i)) is not None and alarm_name in e.description
    ]
    if existing:
        return existing[0]
    detail = f" ({rule})" if rule else ""
    return book.add(
        EvidenceKind.ALARM,
        f"Alarm {alarm_name} went to ALARM at {moment:%H:%M:%S} UTC{detail}",
        source_query=f"alarm_history(name={alarm_name!r})",
        service=service,
        time=moment,
    )


def entry_burn_alert(
    backend: TelemetryBackend, m: Measurements, recorded: list[Alarm]
) -> tuple[datetime, str, str] | None:
    """The first page of a burn alert the team declared on the customer-facing service's SLOs, after
    the onset, as (time, alert name, rule); None when they declared none or none paged.

    An SLO whose burn alert's history is ``recorded`` paged when that history says; the others'
    pages are recomputed from their SLI."""
    service = m.impact.entry_service
    if service is None:
        return None
    since = (m.onset or m.window.start) - EARLY_ALARM
    pages: list[tuple[datetime, str, str]] = [
        (at, a.name, alarm_rule(a))
        for a in recorded
        if a.service == service and (at := _fired_at(a, m.onset, m.window.end)) is not None
    ]
    names = {a.slo for a in recorded}
    try:
        for slo in backend.list_slo_definitions():
            if slo.service == service and slo.burn_alert is not None and slo.name not in names:
                at = burn_alert_time(slo, backend.sli_buckets(slo, m.window, 60), since)
                rule = f"its SLI burned the budget over {slo.burn_alert.rate:g}x too fast for {slo.burn_alert.window_minutes} min"
                pages += [(at, slo_alert_name(slo.name), rule)] if at is not None else []
    except (QueryError, SleuthError):
        pass  # the recorded pages still stand
    return min(pages) if pages else None


def enrich_detection(
    result: InvestigationResult, backend: TelemetryBackend, m: Measurements, book: EvidenceBook
) -> InvestigationResult:
    """A copy of ``result`` whose ``detection`` and ``alarms`` say what fired and when, when knowable."""
    stored, burn_alerts = _stored(backend)
    named = {a.name for a in burn_alerts}
    burn_alerts += [a for a in result.alarms if a.slo is not None and a.name not in named]
    fired = fired_alarms(result, stored, m)
    for alarm, moment in fired:
        _alarm_evidence(book, alarm.name, alarm.service, moment, alarm_rule(alarm))
    existing = result.detection
    trigger = result.trigger
    # the alarm that paged (the trigger), at the time it fired in its history; else the engine's answer
    # unless that alarm was noise; else the first alarm on the customer-facing or the failing service;
    # else the first clean alarm anywhere on the affected path
    relevant = {m.impact.entry_service, *(h.service for h in result.hypotheses[:1])} - {None}
    on_path = [(a.name, t) for a, t in fired if a.service in relevant]
    fired_at = {a.name: t for a, t in fired}
    services = {a.name: a.service for a in [*result.alarms, *(a for a, _ in fired)]}
    noisy = {a.name for a in [*result.alarms, *stored] if is_noise(a, m.onset)}
    engine: tuple[str, datetime] | None = None
    if (
        existing is not None
        and existing.first_alarm
        and existing.first_alarm_time is not None
        and existing.first_alarm not in noisy
    ):
        engine = (existing.first_alarm, fired_at.get(existing.first_alarm, existing.first_alarm_time))
    began = incident_began(m)

    def plausible(name: str, moment: datetime) -> bool:
        """An alarm off the affected path that fired before impact began did not detect this incident."""
        return services.get(name) in relevant or began is None or moment >= began

    if engine is not None and not plausible(*engine):
        engine = None
    fired = [(a, t) for a, t in fired if plausible(a.name, t)]
    first: tuple[str, datetime] | None = None
    if trigger.kind is TriggerKind.ALARM and trigger.alarm and trigger.alarm not in noisy:
        fired_moment: datetime | None = fired_at.get(trigger.alarm, trigger.time)
        if fired_moment is not None:
            first = (trigger.alarm, fired_moment)
            _alarm_evidence(book, first[0], trigger.service, fired_moment, "")
    elif trigger.kind is TriggerKind.SLO and trigger.time is not None:
        # the SLO burn alert that paged, unless an alarm on the failure path fired before it
        name = slo_alert_name(trigger.slo or trigger.service or "the SLO")
        earlier = [(n, t) for n, t in on_path if t < trigger.time]
        first = earlier[0] if earlier else (name, trigger.time)
        if not earlier:
            services[name] = trigger.service
            _alarm_evidence(book, name, trigger.service, trigger.time, "the SLO burn alert that paged")
    elif trigger.kind not in (TriggerKind.ALARM, TriggerKind.SLO):
        # nobody's page named the incident: the first page on the front door customers use, from an
        # alarm or from the burn alert the team declared on its SLO (when its history recorded it,
        # else recomputed), is what detected it
        pages = [(t, a.name) for a, t in fired if a.service == m.impact.entry_service]
        burn = entry_burn_alert(backend, m, burn_alerts)
        pages += [burn[:2]] if burn is not None else []
        if pages:
            at, name = min(pages)
            first = (name, at)
            services.setdefault(name, m.impact.entry_service)
            if burn is not None and name == burn[1]:
                _alarm_evidence(book, name, m.impact.entry_service, at, burn[2])
    if first is not None:
        pass
    elif engine is not None and services.get(engine[0]) in relevant | {None}:
        first = engine
    elif on_path:
        first = on_path[0]
    else:
        first = engine or ((fired[0][0].name, fired[0][1]) if fired else None)
    update: dict[str, object] = {}
    alarms = list(result.alarms)
    if not alarms and fired:
        alarms = [a for a, _ in fired]
    alarms = [a for a in alarms if a.name not in noisy]
    # the burn alert that paged is this incident's alarm too, so every section can read its rule
    paging = next((a for a in burn_alerts if first is not None and a.name == first[0]), None)
    if paging is not None and all(a.name != paging.name for a in alarms):
        alarms.append(paging)
    if alarms != result.alarms:
        update["alarms"] = alarms
    onset = began or (existing.onset if existing else None)
    if first is not None:  # the delay always from the same moment the timeline shows impact beginning
        update["detection"] = Detection(
            onset=onset,
            first_alarm=first[0],
            first_alarm_time=first[1],
            detection_delay_seconds=max(0.0, (first[1] - onset).total_seconds())
            if onset is not None
            else None,
            slo_breach_time=existing.slo_breach_time if existing else None,
        )
    elif existing is not None and existing.first_alarm is not None:  # only noise fired: no detection
        update["detection"] = existing.model_copy(
            update={"first_alarm": None, "first_alarm_time": None, "detection_delay_seconds": None}
        )
    return result.model_copy(update=update) if update else result
