"""Action items: one per five-whys leaf (from the tree), plus the immediate mitigation, ordered by term."""

from __future__ import annotations

from agent.report.model import PLACEHOLDER, MitigationPlan
from agent.report.symptom import SymptomKind
from knowledge.documents import ActionItem, ActionTerm, WhyBranch, WhyNode
from mcp_server.analysis.models import InvestigationResult

TERM_ORDER = [ActionTerm.SHORT, ActionTerm.MID, ActionTerm.LONG]
TERM_MEANING = {
    ActionTerm.SHORT: "short term (hours to days): prevent an immediate recurrence",
    ActionTerm.MID: "mid term (days to weeks): the promises",
    ActionTerm.LONG: "long term (quarters): systemic change",
}


def _trigger_node(tree: WhyNode) -> WhyNode:
    """The deepest node of the trigger chain: what a mitigation addresses first."""
    node = next((c for c in tree.children if c.branch == WhyBranch.TRIGGER), tree)
    while node.children:
        node = node.children[0]
    return node


# what must stay at baseline for a mitigation to count as holding: what customers got, as measured
HOLDING: dict[SymptomKind | None, str] = {
    "errors": "the error rate has",
    "slow responses": "latency has",
}


def finalize_action_items(
    tree_items: list[ActionItem],
    tree: WhyNode,
    result: InvestigationResult,
    plan: MitigationPlan | None = None,
    symptom: SymptomKind | None = None,
) -> list[ActionItem]:
    items: list[ActionItem] = []
    if plan is not None:
        runbook = f" (runbook {plan.runbook_id})" if plan.runbook_id else ""
        items.append(
            ActionItem(
                title=f"Confirm the mitigation is in place and safe to keep: {plan.action}{runbook}",
                why_addressed=_trigger_node(tree).id,
                term=ActionTerm.SHORT,
                owner=f"{PLACEHOLDER} (on-call)",
                validation=f"Done when {HOLDING.get(symptom, 'the error rate and latency have')} stayed at baseline "
                "for 24 hours with the mitigation in place.",
            )
        )
    seen = {(i.title, i.why_addressed) for i in items}
    for item in tree_items:
        if (item.title, item.why_addressed) not in seen:
            seen.add((item.title, item.why_addressed))
            items.append(item)
    return sorted(items, key=lambda i: TERM_ORDER.index(i.term))
