"""Checking what the model submits: every hypothesis must cite evidence that exists and concerns it.

Evidence ids come from the gathered findings (``traces-1``), people (``human-1-1-1``) and the
model's own tool results (``tool-1-2``). A hypothesis that cites nothing real, or only evidence
about other services, is dropped and the drop is noted; unknown ids are flagged.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from mcp_server.analysis.models import Evidence, Hypothesis
from mcp_server.taxonomy import FaultType

FROM_OFFLINE_FLAG = "from the offline ranking"


class LlmHypothesis(BaseModel):
    model_config = ConfigDict(extra="ignore")

    service: str = Field(min_length=1)
    fault_type: FaultType
    confidence: float = Field(ge=0.0, le=1.0)
    summary: str = Field(min_length=1)
    component: str | None = None
    evidence_ids: list[str] = Field(default_factory=list)


class Submission(BaseModel):
    model_config = ConfigDict(extra="ignore")

    hypotheses: list[LlmHypothesis]
    notes: str = ""


def concerns(ev: Evidence, service: str) -> bool:
    """Evidence attributed to a service concerns only that service (a frontend log line that names
    checkout is still frontend's data); unattributed evidence concerns the services it names."""
    if ev.service:
        return ev.service == service
    return service.lower() in ev.description.lower()


def validate_submission(
    raw: Any, known: Mapping[str, Evidence], known_services: list[str]
) -> tuple[list[Hypothesis], list[str]]:
    """Hypotheses that cite real evidence about their service, and notes on what was dropped or flagged."""
    submission = Submission.model_validate(raw)
    kept: list[Hypothesis] = []
    notes: list[str] = []
    for item in submission.hypotheses:
        label = f"{item.service}/{item.fault_type.value}"
        cited = [known[i] for i in dict.fromkeys(item.evidence_ids) if i in known]
        unknown = [i for i in item.evidence_ids if i not in known]
        if not cited:
            notes.append(
                f"dropped uncited hypothesis {label}: no evidence id it cites came from a tool result"
            )
            continue
        if not any(concerns(ev, item.service) for ev in cited):
            notes.append(f"dropped hypothesis {label}: none of its evidence concerns {item.service}")
            continue
        flags: list[str] = []
        if unknown:
            flags.append("uncited claim: unknown evidence ids ignored: " + ", ".join(unknown[:5]))
        if known_services and item.service not in known_services:
            flags.append(f"service {item.service!r} not seen in the telemetry")
        kept.append(
            Hypothesis(
                rank=len(kept) + 1,
                service=item.service,
                fault_type=item.fault_type,
                confidence=round(item.confidence, 3),
                summary=item.summary[:600],
                component=item.component,
                evidence=cited,
                flags=flags,
            )
        )
    return kept, notes


def merge_with_baseline(llm: list[Hypothesis], baseline: list[Hypothesis]) -> list[Hypothesis]:
    """The model's ranking first (onsets filled from the engine), then the engine's other candidates."""
    by_key = {(h.service, h.fault_type): h for h in baseline}
    merged: list[Hypothesis] = []
    for h in llm:
        engine = by_key.get((h.service, h.fault_type))
        update: dict[str, Any] = {"rank": len(merged) + 1}
        if engine is not None:
            update |= {"onset": h.onset or engine.onset, "scores": engine.scores}
        merged.append(h.model_copy(update=update))
    covered = {(h.service, h.fault_type) for h in llm}
    for h in baseline:
        if (h.service, h.fault_type) not in covered:
            merged.append(
                h.model_copy(update={"rank": len(merged) + 1, "flags": [*h.flags, FROM_OFFLINE_FLAG]})
            )
    return merged
