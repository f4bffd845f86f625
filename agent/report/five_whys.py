"""The five whys as a tree, derived from the evidence of one incident.

The root asks why customers were hurt. Its branches, each present only when this incident gives a
reason to ask: the trigger chain (symptom -> origin -> fault -> what lies below it), why the blast
radius was as large as it was, why detection took as long as it did, and why a past COE's action
items did not prevent a recurrence. The chain keeps asking past five while the last answer is not
actionable. Every node cites evidence ids or is marked ``needs_human_input``; every leaf gets an
action item that points at it.
"""

from __future__ import annotations

import itertools
from datetime import datetime, timedelta

from agent.report.detection import alarm_rule, is_burn_alert
from agent.report.evidence_book import EvidenceBook
from agent.report.fault_factors import (
    DETECTION_NO_ALARM,
    DETECTION_SLOW_ALARM,
    DETECTION_SLOW_BURN,
    DETECTION_WRONG_PLACE,
    ENGAGEMENT,
    KNOWLEDGE,
    PROPAGATION,
    UNEXPLAINED,
    Action,
    Factor,
)
from agent.report.impact import incident_began, onset_guess
from agent.report.model import PLACEHOLDER
from agent.report.recurrence import recurrence_branch
from agent.report.symptom import symptom_words
from agent.report.why import Why, WhyInputs, cause_phrase, fmt
from agent.report.why_fields import component_of, factor_fields
from agent.report.wording import duration_phrase
from knowledge.documents import ActionItem, ActionTerm, WhyBranch, WhyNode
from mcp_server.analysis.classify import FAULT_METRICS
from mcp_server.analysis.models import EvidenceKind as K
from mcp_server.analysis.models import Hypothesis
from mcp_server.taxonomy import FaultType as F
from mcp_server.telemetry import Alarm

SHARE_RISE = 1.15  # a component's traffic share this much above baseline counts as "more than its share"
SLOW_DETECTION_SECONDS = 120


def _hhmm(moment: datetime | None) -> str:
    return f"{moment:%H:%M} UTC" if moment is not None else PLACEHOLDER


def _own_metrics_first(cited: list[str], book: EvidenceBook, fault: F) -> list[str]:
    """The fault's own metric family (FAULT_METRICS) before any other metric that moved: a CPU
    saturation's "Observed:" was the memory that also rose."""
    family = FAULT_METRICS.get(fault)
    if family is None:
        return cited

    def foreign(i: str) -> bool:
        e = book.get(i)
        metric = str(e.attributes.get("metric", "")) if e is not None else ""
        return not (e is not None and e.kind == K.METRIC_ANOMALY and family.search(metric))

    return sorted(cited, key=foreign)  # stable: the book's order within each group


def _factor_node(factor: Factor, inputs: WhyInputs, top: Hypothesis, branch: WhyBranch) -> Why:
    fields = factor_fields(top, inputs)
    book = inputs.book
    own = book.hypothesis_ids(top)
    # the hypothesis' own evidence first, then any about its service; evidence the engine tied to
    # this cause counts even when recorded under a caller (the time its calls into the service took)
    cited = (
        book.find(factor.supported_by, service=top.service, within=own)
        or book.find(factor.supported_by, within=own)
        or book.find(factor.supported_by, service=top.service)
    )
    cited = _own_metrics_first(cited, book, top.fault_type)
    answer = fmt(factor.answer, fields)
    if factor.ask is not None:  # not something telemetry can show: asked, never stated as fact
        known = book.get(cited[0]) if cited else None
        return Why(
            fmt(factor.ask, fields),
            f"{PLACEHOLDER}: the telemetry cannot show this; the team must answer."
            + (f" Known from the data: {known.description}." if known is not None else ""),
            cited[:1],
            branch,
            needs_human_input=True,
            action=factor.action,
        )
    if not cited:
        answer = f"Typical for this fault, to confirm: {answer}"
    elif (first := book.get(cited[0])) is not None:
        answer = f"{answer} Observed: {first.description}."
    return Why(fmt(factor.question, fields), answer, cited, branch, action=factor.action)


def _trigger_branch(inputs: WhyInputs, top: Hypothesis | None, entry: str | None) -> Why:
    book = inputs.book
    words = symptom_words(inputs.measurements.impact.symptom)
    if top is None:
        return Why(
            f"Why did {entry or 'the service'} {words.verb}?",
            "The investigation could not identify a cause.",
            [],
            WhyBranch.TRIGGER,
            action=UNEXPLAINED,
        )
    hyp_ids = book.hypothesis_ids(top)
    chain: list[Why] = []
    if entry and top.service != entry:
        if inputs.callers is None:  # no call graph: the path from the front door is the team's to confirm
            answer = (
                f"{PLACEHOLDER}: the investigation traced {words.spread} to {top.service}, but the data holds "
                f"no call graph to show how {entry} depends on it; the team must confirm the path."
            )
            cited = []
        else:
            answer = f"{entry} did not {words.verb} on its own: {words.spread} started in {top.service} and propagated up the call chain."
            cited = book.find([K.ERROR_ORIGIN, K.TOPOLOGY], within=hyp_ids) or book.find(
                [K.ERROR_ORIGIN, K.TOPOLOGY]
            )
        chain.append(Why(f"Why did {entry} {words.entry_question}?", answer, cited, WhyBranch.TRIGGER))
    where = f" ({top.component})" if top.component else ""
    core = [i for i in hyp_ids if (e := book.get(i)) is not None and e.kind != K.KNOWLEDGE][:4]
    chain.append(Why(f"Why did {top.service}{where} {words.verb}?", top.summary, core, WhyBranch.TRIGGER))
    skew = inputs.skew
    if (
        skew is not None and not top.component
    ):  # the data single out a host or zone the hypothesis did not name
        chain.append(
            Why(
                f"Where in {top.service} did the failures happen?",
                f"On {skew.component}: {skew.error_rate:.0%} of its requests failed against "
                f"{skew.other_error_rate:.1%} on the other {skew.level.replace('_', ' ')}s.",
                [skew.share_evidence],
                WhyBranch.TRIGGER,
            )
        )
    changes = book.find([K.CHANGE], service=top.service, within=hyp_ids, limit=1)
    if changes and (change := book.get(changes[0])) is not None:
        chain.append(
            Why(
                f"What changed in {top.service} just before the onset?",
                change.description,
                changes,
                WhyBranch.TRIGGER,
            )
        )
    knowledge = KNOWLEDGE.get(top.fault_type)
    for factor in knowledge.deeper if knowledge else ():
        chain.append(_factor_node(factor, inputs, top, WhyBranch.TRIGGER))
    if chain[-1].action is None:  # keep asking until the answer is something a team can act on
        chain.append(
            Why(
                f"What is the underlying cause of {top.service}'s failure?",
                f"{PLACEHOLDER}: the owning team must establish it; the evidence above stops here.",
                [],
                WhyBranch.TRIGGER,
                action=UNEXPLAINED,
            )
        )
    for parent, child in itertools.pairwise(chain):
        parent.children.append(child)
    return chain[0]


def _blast_branch(inputs: WhyInputs, top: Hypothesis | None) -> Why | None:
    if top is None:
        return None
    skew, impact = inputs.skew, inputs.measurements.impact
    children: list[Why] = []
    if skew is not None:
        level = skew.level.replace("_", " ")
        if skew.failing_minutes >= 2:
            health_fault = F.SINGLE_HOST_FAILURE if skew.level == "host" else F.AZ_IMPAIRMENT
            action = KNOWLEDGE[health_fault].blast_radius[0].action
            children.append(
                Why(
                    f"Why did health checks not take {skew.component} out of service?",
                    f"{skew.component} kept answering requests for {duration_phrase(skew.failing_minutes * 60)} while failing "
                    f"{skew.error_rate:.0%} of them: the load balancer's health check kept passing (it does not "
                    f"exercise what real requests use), so it did not remove the {level}.",
                    [skew.health_evidence],
                    WhyBranch.BLAST_RADIUS,
                    action=action,
                )
            )
        if skew.baseline_share is not None and skew.incident_share > skew.baseline_share * SHARE_RISE:
            children.append(
                Why(
                    f"Why did {skew.component} receive more than its share of traffic?",
                    f"Its share of requests rose from {skew.baseline_share:.0%} to {skew.incident_share:.0%}: a "
                    f"fast-failing {level} finishes requests sooner, so least-outstanding-requests routing sends it "
                    f"more traffic than its share, turning 1/{skew.components} of capacity into a larger share of errors.",
                    [skew.share_evidence],
                    WhyBranch.BLAST_RADIUS,
                    action=Action(
                        f"Enable outlier detection / slow start on {top.service}'s load balancer so fast-failing {level}s get less traffic",
                        ActionTerm.MID,
                        f"Done when a game day with one failing {level} keeps errors below its capacity share.",
                    ),
                )
            )
    # the measured host nodes above replace the single-host table entry; other fault types add theirs
    if top.fault_type in KNOWLEDGE and (skew is None or top.fault_type != F.SINGLE_HOST_FAILURE):
        children.extend(
            _factor_node(f, inputs, top, WhyBranch.BLAST_RADIUS)
            for f in KNOWLEDGE[top.fault_type].blast_radius
        )
    spread = _spread_node(inputs, top)
    if spread is not None:
        children.append(spread)
    if not children:
        return None
    peak = (
        f"{impact.failed_fraction:.1%} of requests ({impact.failed_requests:,} of {impact.total_requests:,})"
        if impact.failed_fraction
        else "customers"
    )
    return Why(
        f"Why did a failure in {skew.component if skew else component_of(top, inputs)} affect {peak}?",
        "Several factors widened the impact beyond the failing component; see below.",
        inputs.measurements.impact_evidence + ([inputs.skew.share_evidence] if inputs.skew else []),
        WhyBranch.BLAST_RADIUS,
        children=children,
    )


def _named(services: list[str], limit: int = 4) -> str:
    shown = ", ".join(services[:limit])
    return shown if len(services) <= limit else f"{shown} and {len(services) - limit} more"


def _spread_node(inputs: WhyInputs, top: Hypothesis) -> Why | None:
    """Why callers failed with ``top.service``: only services that call it (directly or not), counted
    as named, citing only evidence about them from the incident (not a red herring's earlier errors)."""
    book, m = inputs.book, inputs.measurements
    callers = inputs.callers
    others = [
        s for s in inputs.result.affected_services if s != top.service and (callers is None or s in callers)
    ]
    if not others:
        return None
    if callers is None:  # no call graph: moving together is not spreading along calls
        return Why(
            f"Why did {_named(others)} move with {top.service}?",
            f"{PLACEHOLDER}: {len(others)} other {'services' if len(others) > 1 else 'service'} "
            f"({', '.join(others)}) moved at the same time, but the data holds no call graph to show "
            f"whether {'they depend' if len(others) > 1 else 'it depends'} on {top.service}; the team "
            "must say whether the failure spread to them or they share a cause.",
            [],
            WhyBranch.BLAST_RADIUS,
            action=PROPAGATION,
        )
    began = incident_began(m)
    earliest = began - timedelta(seconds=m.bucket_seconds) if began is not None else None
    about = {top.service, *others}
    cited = [
        i
        for i in book.find([K.TOPOLOGY, K.ERROR_ORIGIN], limit=50)
        if (e := book.get(i)) is not None
        and e.service in about
        and (e.kind != K.ERROR_ORIGIN or e.service == top.service)
        and (earliest is None or e.time is None or e.time >= earliest)
    ][:3]
    return Why(
        f"Why did {top.service}'s failure spread to {_named(others)}?",
        f"{len(others)} {'services that call' if len(others) > 1 else 'service that calls'} {top.service} "
        f"({', '.join(others)}) failed or slowed with it instead of degrading.",
        cited,
        WhyBranch.BLAST_RADIUS,
        action=PROPAGATION,
    )


def _alarm(inputs: WhyInputs, name: str) -> Alarm | None:
    return next((a for a in inputs.result.alarms if a.name == name), None)


BURN_WAIT = "so it pages only once the failure has spent enough of the error budget across its window."


def _alarm_rule(alarm: Alarm) -> str:
    periods, seconds = alarm.evaluation_periods, alarm.period_seconds
    if alarm.slo is not None:  # a burn-rate alert: it waits for budget spend, not for datapoints
        return f"It is {alarm.slo}'s burn-rate alert ({alarm_rule(alarm).rstrip('.')}), {BURN_WAIT}"
    return (
        f"It fires only when {alarm.metric} ({alarm.statistic}) is {alarm.comparison} "
        f"{alarm.threshold} in {periods} of {periods} datapoints of {seconds}s, so it needs at least "
        f"{duration_phrase(periods * seconds)} of failure before anyone is told."
    )


def _detection_branch(inputs: WhyInputs, top: Hypothesis | None, entry: str | None) -> Why:
    result, book, m = inputs.result, inputs.book, inputs.measurements
    detection = result.detection
    onset = incident_began(m) or (detection.onset if detection else None)
    alarm_ev = book.about(K.ALARM, detection.first_alarm) if detection and detection.first_alarm else []
    engagement = Why(
        "Why did engagement take as long as it did?",
        f"{PLACEHOLDER}: when was the on-call paged, when did they engage, and what slowed them down?",
        [],
        WhyBranch.DETECTION,
        action=ENGAGEMENT,
    )
    service = (top.service if top else entry) or "the service"
    if detection is None or detection.first_alarm is None or detection.first_alarm_time is None:
        breach = (
            f" The SLO breached at {_hhmm(detection.slo_breach_time)}."
            if detection and detection.slo_breach_time
            else ""
        )
        no_alarm = Why(
            "Why did no alarm fire?",
            "No alarm fired during the incident"
            + (" although customers were affected" if m.impact.symptom is not None else "")
            + f".{breach}",
            m.impact_evidence + book.find([K.SLO], limit=1),
            WhyBranch.DETECTION,
            action=Action(
                fmt(DETECTION_NO_ALARM.title, {"service": entry or service}),
                DETECTION_NO_ALARM.term,
                DETECTION_NO_ALARM.validation,
            ),
        )
        return Why(
            "Why was the incident not detected sooner?",
            "Nothing automatic told anyone; detection depended on people noticing.",
            m.impact_evidence,
            WhyBranch.DETECTION,
            children=[no_alarm, *_fault_detection_factors(inputs, top), engagement],
        )
    delay = (detection.first_alarm_time - onset).total_seconds() if onset is not None else None
    delay = max(0.0, delay) if delay is not None else None
    guess = onset_guess(result, m)
    guessed = f" (a guess, {guess}: no series dates it; confirm it)" if guess else ""
    node = Why(
        f"Why did it take {duration_phrase(delay)} to detect?"
        if delay is not None and delay > SLOW_DETECTION_SECONDS
        else f"How was the incident detected, {duration_phrase(delay or 0)} after onset?",
        f"Impact began at {_hhmm(onset)}{guessed}; the first alarm, {detection.first_alarm}, fired "
        f"at {_hhmm(detection.first_alarm_time)}, {duration_phrase(delay or 0)} after onset.",
        alarm_ev + m.impact_evidence[:1],
        WhyBranch.DETECTION,
        needs_human_input=guess is not None,
    )
    alarm = _alarm(inputs, detection.first_alarm)
    if delay is not None and delay > SLOW_DETECTION_SECONDS:
        burn = is_burn_alert(detection.first_alarm, result.alarms)
        if alarm is not None:
            rule = _alarm_rule(alarm)
        elif burn:
            rule = f"It is an SLO burn-rate alert, {BURN_WAIT}"
        else:
            rule = f"{PLACEHOLDER}: the alarm's definition was not in the investigation."
        tighten = DETECTION_SLOW_BURN if burn else DETECTION_SLOW_ALARM
        node.children.append(
            Why(
                f"Why did {detection.first_alarm} need {duration_phrase(delay)} to fire?",
                rule,
                alarm_ev,
                WhyBranch.DETECTION,
                action=Action(
                    fmt(tighten.title, {"alarm": detection.first_alarm, "service": service}),
                    tighten.term,
                    tighten.validation,
                ),
            )
        )
    alarm_service = alarm.service if alarm else None
    if top is not None and alarm_service and alarm_service != top.service:
        node.children.append(
            Why(
                f"Why did the alarm point at {alarm_service} rather than {top.service}?",
                f"The alarm that fired watches {alarm_service}; the failure started in {top.service}, so responders had to trace it down the call chain.",
                alarm_ev + book.find([K.ERROR_ORIGIN, K.TOPOLOGY], within=book.hypothesis_ids(top), limit=1),
                WhyBranch.DETECTION,
                action=Action(
                    fmt(DETECTION_WRONG_PLACE.title, {"service": top.service}),
                    DETECTION_WRONG_PLACE.term,
                    fmt(DETECTION_WRONG_PLACE.validation, {"service": top.service}),
                ),
            )
        )
    node.children.extend(_fault_detection_factors(inputs, top))
    node.children.append(engagement)
    return node


def _fault_detection_factors(inputs: WhyInputs, top: Hypothesis | None) -> list[Why]:
    if top is None or top.fault_type not in KNOWLEDGE:
        return []
    return [_factor_node(f, inputs, top, WhyBranch.DETECTION) for f in KNOWLEDGE[top.fault_type].detection]


def build_tree(inputs: WhyInputs) -> Why:
    result, m = inputs.result, inputs.measurements
    top = result.hypotheses[0] if result.hypotheses else None
    entry = m.impact.entry_service or (top.service if top else None)
    cause = f" The investigation traced it to {cause_phrase(top)}" if top else ""
    root = Why(
        f"Why did customers of {entry or 'the service'} {symptom_words(m.impact.symptom).seen}?",
        " ".join(c.text for c in m.impact.claims[:1]) + cause,
        m.impact_evidence + (inputs.book.hypothesis_ids(top)[:2] if top else []),
        WhyBranch.OTHER,
    )
    root.children.append(_trigger_branch(inputs, top, entry))
    blast = _blast_branch(inputs, top)
    if blast is not None:
        root.children.append(blast)
    root.children.append(_detection_branch(inputs, top, entry))
    root.children.extend(recurrence_branch(inputs))
    return root


def _to_node(why: Why, path: str, fields: dict[str, str], items: list[ActionItem]) -> WhyNode:
    node = WhyNode(
        id=path,
        question=why.question,
        answer=why.answer,
        evidence=why.evidence,
        needs_human_input=why.needs_human_input,
        branch=why.branch,
    )
    action = why.action
    if action is None and not why.children:
        action = Action(
            f"Answer '{why.question}' and act on the answer",
            ActionTerm.SHORT,
            "Done when this node's answer is confirmed and acted on.",
        )
    if action is not None:
        items.append(
            ActionItem(
                title=fmt(action.title, fields),
                why_addressed=path,
                term=action.term,
                owner=f"{PLACEHOLDER} (owning team)",
                validation=fmt(action.validation, fields),
            )
        )
    node.children = [
        _to_node(child, f"{path}.{i}", fields, items) for i, child in enumerate(why.children, start=1)
    ]
    return node


def build_five_whys(inputs: WhyInputs) -> tuple[WhyNode, list[ActionItem]]:
    """The tree with path ids ("1", "1.2", ...) and one action item per leaf (and per actionable node)."""
    top = inputs.result.hypotheses[0] if inputs.result.hypotheses else None
    items: list[ActionItem] = []
    root = _to_node(build_tree(inputs), "1", factor_fields(top, inputs), items)
    return root, items


def leaves(node: WhyNode) -> list[WhyNode]:
    return [n for n in node.walk() if not n.children]
