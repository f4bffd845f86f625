"""The offline reasoner: the analysis engine's ranking plus rules, no model and no network.

It is a complete investigator on its own (the default without credentials) and the fallback
when an LLM is unreachable. It never reorders the engine's ranking; a person's verdict is
applied after any reasoner, by the graph (:mod:`agent.reranking`).
"""

from __future__ import annotations

from agent.analysis import AnalysisSteps
from agent.reasoners.base import ReasoningContext, ReasoningReply, ReasoningRequest
from mcp_server.analysis.models import Hypothesis

PARTIAL_PENALTY = 0.15  # confidence lost per gather source that failed


def apply_partial_penalty(hypotheses: list[Hypothesis], failed: list[str]) -> list[Hypothesis]:
    """Lower confidence when some sources could not be read: the ranking saw less than usual."""
    if not failed:
        return hypotheses
    factor = max(0.4, 1.0 - PARTIAL_PENALTY * len(failed))
    flag = "partial evidence: " + ", ".join(failed) + " unavailable"
    return [
        h.model_copy(update={"confidence": round(h.confidence * factor, 3), "flags": [*h.flags, flag]})
        for h in hypotheses
    ]


class OfflineReasoner:
    name = "offline"

    def __init__(self, analysis: AnalysisSteps) -> None:
        self.analysis = analysis

    def hypothesize(
        self, request: ReasoningRequest, context: ReasoningContext | None = None
    ) -> ReasoningReply:
        hypotheses = self.analysis.rank(request.scope, request.findings)
        failed = [f.step for f in request.findings if not f.ok]
        hypotheses = apply_partial_penalty(hypotheses, failed)
        # how it ranked is the result's ``reasoner``, not a note: notes say what is missing or degraded
        return ReasoningReply(hypotheses=hypotheses, reasoner=self.name)
