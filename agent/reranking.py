"""Re-ranking after the data or a person has spoken, the same whichever reasoner ranked.

A person's verdict (review) and the data's (verification) move hypotheses; nothing else does:
the reasoner's order otherwise stands.
"""

from __future__ import annotations

from agent.state import HumanFeedback, hypothesis_key
from mcp_server.analysis.models import Hypothesis

REJECTED_FACTOR = 0.3
REVIEWER_REJECTED = "rejected by reviewer"
REVIEWER_ACCEPTED = "accepted by reviewer"


def rerank(hypotheses: list[Hypothesis]) -> list[Hypothesis]:
    """Ranks 1..n in list order."""
    return [h.model_copy(update={"rank": i}) for i, h in enumerate(hypotheses, start=1)]


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
                h.model_copy(update={"verified": True, "flags": _with_flag(h.flags, REVIEWER_ACCEPTED)})
            )
        else:
            kept.append(h)
    return rerank(kept + demoted)


def refuted_last(hypotheses: list[Hypothesis]) -> list[Hypothesis]:
    """Refuted hypotheses drop below the rest, and those a person rejected below those; otherwise
    the order stands."""
    return rerank(sorted(hypotheses, key=lambda h: (REVIEWER_REJECTED in h.flags, h.verified is False)))


def _with_flag(flags: list[str], flag: str) -> list[str]:
    return flags if flag in flags else [*flags, flag]
