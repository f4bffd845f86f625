"""The five-whys node while the tree is built, and what building it reads."""

from __future__ import annotations

from dataclasses import dataclass, field

from agent.report.evidence_book import EvidenceBook
from agent.report.fault_factors import Action
from agent.report.impact import Measurements
from agent.report.skew import ComponentSkew
from knowledge.documents import CoeDocument, WhyBranch
from mcp_server.analysis.models import Hypothesis, InvestigationResult


@dataclass
class Why:
    question: str
    answer: str
    evidence: list[str]
    branch: WhyBranch
    needs_human_input: bool = False
    action: Action | None = None
    children: list[Why] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.evidence = list(dict.fromkeys(self.evidence))
        if not self.evidence:
            self.needs_human_input = True


@dataclass
class WhyInputs:
    result: InvestigationResult
    book: EvidenceBook
    measurements: Measurements
    skew: ComponentSkew | None = None
    past_coes: list[CoeDocument] = field(default_factory=list)
    callers: set[str] | None = None  # services that call the top hypothesis' service, directly or not


class Fields(dict[str, str]):
    def __missing__(self, key: str) -> str:
        return f"{{{key}}}"


def fmt(text: str, fields: dict[str, str]) -> str:
    return text.format_map(Fields(fields))


def cause_phrase(top: Hypothesis) -> str:
    """ "<service> [on <component>]: <fault and why>" from the leading hypothesis. The engine's
    summary already opens with "<service>: "; it is said once."""
    where = f" on {top.component}" if top.component else ""
    own = f"{top.service}: "
    if top.summary.startswith(own):
        return f"{top.service}{where}: {top.summary.removeprefix(own)}"
    return f"{top.service}{where} ({top.fault_type.value.replace('_', ' ')}): {top.summary}"
