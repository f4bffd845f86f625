"""What the summary says about the cause beyond the top hypothesis' own sentence.

- **The error signature** of the likeliest cause's service (:mod:`agent.report.error_signature`):
  the exception types and HTTP statuses it fails with that are new or doubled since the incident
  began, against its own baseline before.
- **A possible concurrent cause**: the runner-up hypothesis, named only when it stands on its own.
  Two faults at once happen (a disk fills on one host while a cache node dies), and a report that
  names only the first leaves the second unmitigated; but most runner-ups are the top cause's
  symptoms seen from elsewhere, and naming those would send the reader after an echo. So all of:

  - the verify step confirmed it with a targeted check;
  - it is on another service, with a known fault type;
  - that service does not call the top cause's service, directly or through others, so its
    failures are not the top cause's passed up the call chain (unknown call graph: not named);
  - it cites evidence of its own: measured on its service (not an edge, an SLO, an alarm or a
    document) and not cited by the top hypothesis.

  Its error signature is stated with it.
"""

from __future__ import annotations

from agent.report.error_signature import SignatureWindows, measure_error_signature, signature_claim
from agent.report.evidence_book import EvidenceBook
from agent.report.impact import Measurements, incident_began
from agent.report.model import Claim
from mcp_server.analysis.models import EvidenceKind, Hypothesis, InvestigationResult
from mcp_server.backends.base import TelemetryBackend
from mcp_server.taxonomy import FaultType
from mcp_server.telemetry import TimeWindow

# evidence that only shows a service's symptoms, or others': a propagated failure shows these too
_SECONDHAND = {
    EvidenceKind.TOPOLOGY,
    EvidenceKind.SLO,
    EvidenceKind.ALARM,
    EvidenceKind.KNOWLEDGE,
    EvidenceKind.NOTE,
    EvidenceKind.VERIFICATION,
}


def signature_windows(result: InvestigationResult, m: Measurements) -> SignatureWindows | None:
    """The baseline before the incident began and the incident since; None without a baseline."""
    began = incident_began(m)
    if began is None:
        return None
    end = m.impact.end or m.window.end
    before = result.baseline_window
    if before is None or before.end > began:
        before = TimeWindow(start=m.window.start, end=began) if began > m.window.start else None
    if before is None or end <= began:
        return None
    return SignatureWindows(before=before, since=TimeWindow(start=began, end=end))


def concurrent_cause(result: InvestigationResult, callers: set[str] | None) -> Hypothesis | None:
    """The runner-up hypothesis when it stands on its own (see the module doc), else None.

    ``callers``: the services that call the top cause's service, directly or through others."""
    if len(result.hypotheses) < 2 or callers is None:
        return None
    top, second = result.hypotheses[0], result.hypotheses[1]
    if (
        second.verified is not True
        or second.service == top.service
        or second.fault_type is FaultType.UNKNOWN
        or second.service in callers
    ):
        return None
    cited_by_top = {e.id for e in top.evidence}
    own = [
        e
        for e in second.evidence
        if e.service == second.service and e.kind not in _SECONDHAND and e.id not in cited_by_top
    ]
    return second if own else None


def _concurrent_claim(top: Hypothesis, second: Hypothesis, book: EvidenceBook) -> Claim:
    where = f" on {second.component}" if second.component else ""
    fault = second.fault_type.value.replace("_", " ")
    return Claim(
        text=f"A second cause may have run at the same time: {second.service}{where} ({fault}), confirmed by a "
        f"targeted check and not a caller of {top.service}, so its failures are not {top.service}'s passed on: "
        f"{second.summary}",
        evidence=[
            i for i in book.hypothesis_ids(second) if (e := book.get(i)) and e.kind != EvidenceKind.KNOWLEDGE
        ][:4],
    )


def cause_details(
    result: InvestigationResult,
    backend: TelemetryBackend,
    m: Measurements,
    book: EvidenceBook,
    callers: set[str] | None,
) -> list[Claim]:
    """The summary's claims after the top hypothesis': its error signature, then a concurrent cause."""
    if not result.hypotheses:
        return []
    top = result.hypotheses[0]
    windows = signature_windows(result, m)
    claims: list[Claim] = []
    if windows is not None and (signature := measure_error_signature(backend, top.service, windows)):
        claims.append(signature_claim(signature, book))
    second = concurrent_cause(result, callers)
    if second is not None:
        claims.append(_concurrent_claim(top, second, book))
        if windows is not None and (signature := measure_error_signature(backend, second.service, windows)):
            claims.append(signature_claim(signature, book))
    return claims
