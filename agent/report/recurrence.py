"""The recurrence branch of the five whys: past COEs that are real recurrences, and why their
action items did not prevent this one."""

from __future__ import annotations

from agent.report.fault_factors import RECURRENCE, Action
from agent.report.model import PLACEHOLDER
from agent.report.why import Why, WhyInputs, fmt
from knowledge.documents import ActionStatus, ActionTerm, CoeDocument, WhyBranch
from mcp_server.analysis.models import EvidenceKind as K
from mcp_server.analysis.models import InvestigationResult


def similar_past_coes(result: InvestigationResult, past_coes: list[CoeDocument]) -> list[CoeDocument]:
    """Past COEs that are real recurrences: they share the top hypothesis' fault type (the same service
    ranks first) and are dated before this incident. Being returned by a knowledge search is not
    enough: a search hit on a connection-pool COE says nothing about a memory leak, and a later COE is
    not a past one."""
    top = result.hypotheses[0] if result.hypotheses else None
    if top is None:
        return []
    day = result.window.start.date()
    similar = [coe for coe in past_coes if coe.date < day and top.fault_type in coe.fault_types]
    similar.sort(key=lambda coe: (top.service not in coe.services, -coe.date.toordinal()))
    return similar[:2]


def recurrence_branch(inputs: WhyInputs) -> list[Why]:
    branches = []
    for coe in similar_past_coes(inputs.result, inputs.past_coes):
        items = "; ".join(f"'{a.title}' ({a.status.value})" for a in coe.action_items) or "none recorded"
        ev = inputs.book.add(
            K.KNOWLEDGE,
            f"Past COE {coe.id} ({coe.date}, {', '.join(f.value for f in coe.fault_types) or 'no fault type'}): "
            f"{coe.title}. Action items: {items}",
            source_query=f"knowledge: coe {coe.id}",
            attributes={"doc_id": coe.id},
        )
        children = [
            Why(
                f"Why did '{item.title}' not prevent this?"
                if item.status == ActionStatus.DONE
                else f"Why is '{item.title}' still {item.status.value}?",
                f"{PLACEHOLDER}: the owning team must explain"
                + (
                    " why the completed item did not cover this case."
                    if item.status == ActionStatus.DONE
                    else " why it was not finished."
                ),
                [ev],
                WhyBranch.RECURRENCE,
                needs_human_input=True,
                action=Action(
                    fmt(RECURRENCE.title, {"title": item.title, "coe": coe.id}),
                    RECURRENCE.term,
                    item.validation or RECURRENCE.validation,
                ),
            )
            for item in coe.action_items[:3]
        ]
        branches.append(
            Why(
                f"Why did the actions from past COE {coe.id} not prevent a recurrence?",
                f"{coe.title} ({coe.date}) had the same kind of failure.",
                [ev],
                WhyBranch.RECURRENCE,
                action=None
                if children
                else Action(
                    f"Review past COE {coe.id} against this incident",
                    ActionTerm.SHORT,
                    "Done when the review is recorded here.",
                ),
                children=children,
            )
        )
    return branches
