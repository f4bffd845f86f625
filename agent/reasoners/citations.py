"""Checking what the model submits: every hypothesis must cite evidence that exists and concerns it.

Evidence ids come from the gathered findings (``traces-1``), people (``human-1-1-1``) and the
model's own tool results (``tool-1-2``). Evidence concerns a hypothesis only when it is attributed
to the hypothesis' service: a log line that merely names a service, or a tool result not asked
about one service, backs nothing. Evidence whose text (or service name) reads like instructions
to a model (a planted "ignore previous instructions...") backs nothing either. A hypothesis left
with no evidence about its service is dropped and the drop is noted; unknown ids are flagged.

A model may still have been steered: it read planted instructions, or its own words repeat them
or recommend destroying something. Then its hypotheses are marked :data:`STEERED_FLAG` and
:func:`merge_with_baseline` keeps the engine's ranking as it is: the engine cannot be talked to,
and a steered model gets no say in the ranking, the summaries (which the report quotes) or the
mitigations that follow from them. The notes say what was set aside.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from agent.reasoners.injection import destructive_advice_in, instruction_in
from mcp_server.analysis.models import Evidence, EvidenceKind, Hypothesis
from mcp_server.taxonomy import FaultType

FROM_OFFLINE_FLAG = "from the offline ranking"
STEERED_FLAG = "possible prompt injection"


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
    """Evidence concerns only the service it is attributed to (a frontend log line that names
    checkout is still frontend's data); unattributed evidence concerns no service."""
    return ev.service is not None and ev.service == service


def planted_instruction(ev: Evidence) -> str | None:
    """The phrase that makes this evidence read like instructions to a model (runbooks excepted)."""
    if ev.kind is EvidenceKind.KNOWLEDGE:
        return None
    return instruction_in(ev.description) or instruction_in(ev.service or "")


def _steering(text: str) -> str | None:
    return instruction_in(text) or destructive_advice_in(text)


def _planted_notes(known: Mapping[str, Evidence]) -> list[str]:
    # The planted phrase is not quoted: these notes go back to the model outside any fence.
    return [
        f"evidence {ev.id} reads like instructions to a model: possible prompt injection; it backs no hypothesis"
        for ev in known.values()
        if planted_instruction(ev) is not None
    ]


def validate_submission(
    raw: Any, known: Mapping[str, Evidence], known_services: list[str]
) -> tuple[list[Hypothesis], list[str]]:
    """Hypotheses that cite real evidence about their service, and notes on what was dropped or flagged."""
    submission = Submission.model_validate(raw)
    notes = _planted_notes(known)
    own_words = [
        submission.notes,
        *(f"{item.summary} {item.component or ''}" for item in submission.hypotheses),
    ]
    if any(_steering(text) for text in own_words):  # not quoted: this note goes back to the model
        notes.append("the model's own words repeat planted instructions or recommend destroying something")
    steered = bool(notes)
    kept: list[Hypothesis] = []
    for item in submission.hypotheses:
        hypothesis, note = _checked(item, known, known_services, steered)
        if hypothesis is None:
            notes.append(note)
        else:
            kept.append(hypothesis.model_copy(update={"rank": len(kept) + 1}))
    if steered and kept:
        labels = ", ".join(f"{h.service}/{h.fault_type.value}" for h in kept)
        notes.append(
            f"the model's ranking ({labels}) is set aside for the engine's: possible prompt injection"
        )
    return kept, notes


def _checked(
    item: LlmHypothesis, known: Mapping[str, Evidence], known_services: list[str], steered: bool
) -> tuple[Hypothesis | None, str]:
    label = f"{item.service}/{item.fault_type.value}"
    cited = [known[i] for i in dict.fromkeys(item.evidence_ids) if i in known]
    unknown = [i for i in item.evidence_ids if i not in known]
    if not cited:
        return None, f"dropped uncited hypothesis {label}: no evidence id it cites came from a tool result"
    planted = {ev.id for ev in cited if planted_instruction(ev)}
    backing = [ev for ev in cited if ev.id not in planted and concerns(ev, item.service)]
    if not backing:
        return None, f"dropped hypothesis {label}: none of its evidence concerns {item.service}"
    flags: list[str] = []
    ignored = [ev.id for ev in cited if ev not in backing]
    if ignored:
        flags.append(f"citations not about {item.service} ignored: " + ", ".join(ignored[:5]))
    if unknown:
        flags.append("uncited claim: unknown evidence ids ignored: " + ", ".join(unknown[:5]))
    if known_services and item.service not in known_services:
        flags.append(f"service {item.service!r} not seen in the telemetry")
    if steered:
        flags.append(STEERED_FLAG)
    hypothesis = Hypothesis(
        rank=1,
        service=item.service,
        fault_type=item.fault_type,
        confidence=round(item.confidence, 3),
        summary=item.summary[:600],
        component=item.component,
        evidence=backing,
        flags=flags,
    )
    return hypothesis, ""


def merge_with_baseline(llm: list[Hypothesis], baseline: list[Hypothesis]) -> list[Hypothesis]:
    """The model's ranking first (onsets filled from the engine), then the engine's other candidates.

    A steered model's ranking is set aside: the engine's stands, flagged as such.
    """
    by_key = {(h.service, h.fault_type): h for h in baseline}
    mine = {(h.service, h.fault_type) for h in llm}
    steered = any(STEERED_FLAG in h.flags for h in llm)
    merged: list[Hypothesis] = []
    for h in [] if steered else llm:
        engine = by_key.get((h.service, h.fault_type))
        update: dict[str, Any] = {"rank": len(merged) + 1}
        if engine is not None:
            update |= {"onset": h.onset or engine.onset, "scores": engine.scores}
        merged.append(h.model_copy(update=update))
    for key, h in by_key.items():
        if steered or key not in mine:
            flags = [*h.flags, FROM_OFFLINE_FLAG, *([STEERED_FLAG] if steered else [])]
            merged.append(h.model_copy(update={"rank": len(merged) + 1, "flags": flags}))
    return merged
