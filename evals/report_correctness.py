"""Is the COE draft right, not just complete? Five checks of one report against the scenario's truth.

The facts are read from the drafted report by :func:`evals.report_facts.report_facts`; the truth is
the simulator's (``GroundTruth.detected_at``, ``customer_facing_service``, ``key_metric``...). A
check whose truth is absent (a real data set without these labels) is not scored (None).

- **detect**: the report's time to detect is within ``DETECT_TOLERANCE_S`` of the truth's
  (``detected_at - onset``). A report that gives no time to detect fails when the truth has one.
- **customer service**: the report's customer-facing service is the truth's.
- **recurrence**: every past COE the report cites as a recurrence carries a true cause's fault type
  and is dated before the incident (precision: the share of cited COEs that do; no citation passes).
- **runbook**: the report names a runbook the mitigation followed, and every runbook it names is an
  SOP written for a true cause's fault type.
- **key evidence**: some evidence the report cites names the fault's key metric, and some names one
  of its key terms (the bad version, the zone, ``certificate``...), for the parts the truth labels.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from pydantic import BaseModel, ConfigDict, Field

from mcp_server.scenario import GroundTruth

DETECT_TOLERANCE_S = 60.0
CHECKS = ("detect", "customer_service", "recurrence", "runbook", "key_evidence")
CHECK_LABELS = {
    "detect": "time to detect ±60 s",
    "customer_service": "customer-facing service",
    "recurrence": "recurrences precise",
    "runbook": "runbook matches",
    "key_evidence": "key metric cited",
}


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class CitedDoc(_Model):
    """A knowledge document the report cites, with what the checks need to know about it."""

    id: str
    date: dt.date | None = None
    fault_types: list[str] = Field(default_factory=list)


class ReportFacts(_Model):
    """What a drafted report says that the correctness checks read."""

    entry_service: str | None = None
    time_to_detect_seconds: float | None = None
    detected_at: dt.datetime | None = None  # the detection timeline entry's time
    detected_by: str | None = None  # the detection timeline entry, for reading a miss
    past_coes: list[CitedDoc] = Field(default_factory=list)  # cited as recurrences
    runbooks: list[CitedDoc] = Field(default_factory=list)  # named as what the mitigation followed
    evidence_text: list[str] = Field(
        default_factory=list
    )  # every cited record: description, query, attributes


class ReportCorrectness(_Model):
    """The five checks for one report; None where the truth does not label the check."""

    detect: bool | None = None
    ttd_error_seconds: float | None = None  # |report's time to detect - truth's|
    ttd_bias_seconds: float | None = None  # report's time to detect - truth's (diagnosis: + is long)
    detected_at_error_seconds: float | None = None  # report's detection time - truth's (diagnosis only)
    customer_service: bool | None = None
    recurrence: bool | None = None
    recurrence_precision: float | None = None  # None when the report cites no past COE
    runbook: bool | None = None
    key_evidence: bool | None = None
    misses: list[str] = Field(default_factory=list)  # one line per failed check, for reading


class CheckRate(_Model):
    passed: int = 0
    n: int = 0

    @property
    def rate(self) -> float | None:
        return self.passed / self.n if self.n else None


def _true_fault_types(truth: GroundTruth) -> set[str]:
    return {str(c.fault_type) for c in [truth.root_cause, *truth.secondary_root_causes]}


def _cites(texts: Sequence[str], term: str) -> bool:
    wanted = term.lower()
    return any(wanted in text.lower() for text in texts)


def score_report(facts: ReportFacts | None, truth: GroundTruth) -> ReportCorrectness:
    """The checks for one report; ``facts`` None (no report could be drafted) fails every labelled check."""
    if facts is None:
        scored = _score(ReportFacts(), truth)
        failed = {name: False for name in CHECKS if getattr(scored, name) is not None}
        return scored.model_copy(update={**failed, "misses": ["no report was drafted"]})
    return _score(facts, truth)


def _score(facts: ReportFacts, truth: GroundTruth) -> ReportCorrectness:
    out = ReportCorrectness()
    if truth.detected_at is not None and truth.onset is not None:
        true_ttd = (truth.detected_at - truth.onset).total_seconds()
        if facts.time_to_detect_seconds is not None:
            out.ttd_bias_seconds = round(facts.time_to_detect_seconds - true_ttd, 1)
            out.ttd_error_seconds = abs(out.ttd_bias_seconds)
        if facts.detected_at is not None:
            out.detected_at_error_seconds = round((facts.detected_at - truth.detected_at).total_seconds(), 1)
        out.detect = out.ttd_error_seconds is not None and out.ttd_error_seconds <= DETECT_TOLERANCE_S
        if not out.detect:
            said = "none" if facts.time_to_detect_seconds is None else f"{facts.time_to_detect_seconds:.0f}s"
            off = out.detected_at_error_seconds
            when = "" if off is None else f"; detection time {off:+.0f}s from the truth's"
            out.misses.append(
                f"detect: report {said} ({facts.detected_by or 'no alarm'}), "
                f"truth {true_ttd:.0f}s ({truth.detected_by}){when}"
            )
    if truth.customer_facing_service is not None:
        out.customer_service = facts.entry_service == truth.customer_facing_service
        if not out.customer_service:
            out.misses.append(
                f"customer service: report {facts.entry_service}, truth {truth.customer_facing_service}"
            )
    kinds = _true_fault_types(truth)
    day = truth.onset.date() if truth.onset is not None else None
    wrong = [
        coe
        for coe in facts.past_coes
        if not kinds & set(coe.fault_types) or (day is not None and (coe.date is None or coe.date >= day))
    ]
    out.recurrence = not wrong
    if facts.past_coes:
        out.recurrence_precision = (len(facts.past_coes) - len(wrong)) / len(facts.past_coes)
    if wrong:
        out.misses.append(
            "recurrence: " + ", ".join(f"{c.id} ({c.date}, {'/'.join(c.fault_types)})" for c in wrong)
        )
    out.runbook = bool(facts.runbooks) and all(kinds & set(sop.fault_types) for sop in facts.runbooks)
    if not out.runbook:
        named = ", ".join(f"{s.id} ({'/'.join(s.fault_types)})" for s in facts.runbooks) or "none"
        out.misses.append(f"runbook: report names {named}, truth {'/'.join(sorted(kinds))}")
    if truth.key_metric is not None or truth.key_terms:
        metric_ok = truth.key_metric is None or _cites(facts.evidence_text, truth.key_metric)
        terms_ok = not truth.key_terms or any(_cites(facts.evidence_text, t) for t in truth.key_terms)
        out.key_evidence = metric_ok and terms_ok
        if not out.key_evidence:
            wanted = [*([truth.key_metric] if not metric_ok and truth.key_metric else [])]
            wanted += [" or ".join(truth.key_terms)] if not terms_ok else []
            out.misses.append(f"key evidence: no cited record names {' and '.join(wanted)}")
    return out


def summarize_checks(
    scores: Sequence[ReportCorrectness | None], failed_runs: int = 0
) -> dict[str, CheckRate]:
    """Pass counts per check over the reports whose truth labels it; a failed run is a miss in each.

    Empty when no report was scored at all (a method that drafts none)."""
    present = [score for score in scores if score is not None]
    if not present:
        return {}
    rates = {name: CheckRate(n=failed_runs) for name in CHECKS}
    for score in present:
        for name in CHECKS:
            value = getattr(score, name)
            if value is not None:
                rates[name].n += 1
                rates[name].passed += bool(value)
    return rates
