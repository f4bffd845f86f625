"""The offline reasoner: the analysis engine's ranking plus rules, no model and no network.

It is a complete investigator on its own (the default without credentials) and the fallback
when an LLM is unreachable. Its rules never reorder the engine's ranking except on a person's
explicit rejection, so the graph keeps the engine's accuracy.
"""

from __future__ import annotations

from agent.analysis import AnalysisSteps
from agent.reasoners.base import ReasoningContext, ReasoningReply, ReasoningRequest
from agent.state import HumanFeedback, hypothesis_key
from mcp_server.analysis.models import Hypothesis

PARTIAL_PENALTY = 0.15  # confidence lost per gather source that failed
REJECTED_FACTOR = 0.3
REVIEWER_REJECTED = "rejected by reviewer"


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


def apply_feedback(hypotheses: list[Hypothesis], feedback: list[HumanFeedback]) -> list[Hypothesis]:
    """Accepted hypotheses are marked verified; rejected ones drop below every other, flagged."""
    accepted = {key for fb in feedback for key in fb.accepted_keys}
    rejected = {key for fb in feedback for key in fb.rejected_keys}
    if not (accepted or rejected):
        return hypotheses
    kept: list[Hypothesis] = []
    demoted: list[Hypothesis] = []
    for h in hypotheses:
        if hypothesis_key(h) in rejected:
            demoted.append(
                h.model_copy(
                    update={
                        "confidence": round(h.confidence * REJECTED_FACTOR, 3),
                        "verified": False,
                        "flags": _with_flag(h.flags, REVIEWER_REJECTED),
                    }
                )
            )
        elif hypothesis_key(h) in accepted:
            kept.append(
                h.model_copy(update={"verified": True, "flags": _with_flag(h.flags, "accepted by reviewer")})
            )
        else:
            kept.append(h)
    return rerank(kept + demoted)


def _with_flag(flags: list[str], flag: str) -> list[str]:
    return flags if flag in flags else [*flags, flag]


def rerank(hypotheses: list[Hypothesis]) -> list[Hypothesis]:
    return [h.model_copy(update={"rank": i}) for i, h in enumerate(hypotheses, start=1)]


class OfflineReasoner:
    name = "offline"

    def __init__(self, analysis: AnalysisSteps) -> None:
        self.analysis = analysis

    def hypothesize(
        self, request: ReasoningRequest, context: ReasoningContext | None = None
    ) -> ReasoningReply:
        hypotheses = self.analysis.rank(request.scope, request.findings)
        failed = [f.source.value for f in request.findings if not f.ok]
        hypotheses = apply_partial_penalty(hypotheses, failed)
        hypotheses = apply_feedback(hypotheses, request.feedback)
        notes = [f"ranked by the {self.analysis.name} analysis without a language model"]
        return ReasoningReply(hypotheses=hypotheses, notes=notes, reasoner=self.name)
