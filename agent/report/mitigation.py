"""The mitigation a COE recommends and the runbook it follows, decided once and used everywhere.

The runbook is the SOP written for the top hypothesis' fault type (one naming its service first),
looked up after ranking. The action is the fault-specific section's, measured from the data (a zonal
shift of the named zone, a rollback to the previous version...); else the engine's mitigation that
follows that runbook; else the engine's first applicable one. The summary, the timeline, "what went well" and the action
items all read this one plan, so they cannot name different runbooks.
"""

from __future__ import annotations

from agent.report.evidence_book import EvidenceBook
from agent.report.model import FaultSection, MitigationPlan, follow_runbook
from agent.report.past_coes import runbook_for
from mcp_server.analysis.models import EvidenceKind, InvestigationResult


def plan_mitigation(
    result: InvestigationResult, book: EvidenceBook, section: FaultSection | None
) -> MitigationPlan | None:
    top = result.hypotheses[0] if result.hypotheses else None
    if top is None:
        return None
    sop = runbook_for(top.fault_type, top.service)
    sop_ev: list[str] = []
    if sop is not None:
        sop_ev = [
            book.add(
                EvidenceKind.KNOWLEDGE,
                f"SOP {sop.id}: {sop.title} (for {', '.join(f.value for f in sop.fault_types)})",
                source_query=f"knowledge: sop {sop.id}",
                attributes={"doc_id": sop.id},
            )
        ]
    applicable = [x for x in result.mitigations if x.applicable]
    following = next((x for x in applicable if sop is not None and x.sop == sop.id), None)
    if section is not None and section.mitigation is not None:  # measured: names the zone, version...
        action, evidence = section.mitigation.text, sop_ev + section.mitigation.evidence
    elif following is not None:
        action, evidence = following.action, sop_ev + book.hypothesis_ids(top)[:1]
    elif applicable:
        action, evidence = applicable[0].action, sop_ev + book.hypothesis_ids(top)[:1]
    elif sop is not None:
        action, evidence = follow_runbook(sop.title), sop_ev
    else:
        return None
    return MitigationPlan(
        action=action.rstrip("."),
        runbook_id=sop.id if sop else None,
        runbook_title=sop.title if sop else None,
        evidence=list(dict.fromkeys(evidence)),
    )
