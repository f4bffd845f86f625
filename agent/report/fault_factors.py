"""What usually lies below the trigger, widens the blast radius, or delays detection, per fault type.

The table itself is data (``fault_factors.yaml`` next to this module); this module loads and checks
it. It only proposes questions: a node built from a factor cites evidence of ``supported_by`` kinds
from *this* incident, or is marked ``needs_human_input`` with its answer phrased as a typical cause
for the team to confirm or replace.

A factor with ``ask`` claims something the telemetry cannot show (that no canary ran, that automatic
rollback was off): it is always put to the team as that question, citing what the data does show.

Placeholders: ``{service}`` (the faulty service), ``{component}`` (host, zone or dependency).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, ValidationError

from knowledge.documents import ActionTerm
from mcp_server.analysis.models import EvidenceKind
from mcp_server.errors import InputFileError
from mcp_server.taxonomy import FaultType

TABLE = Path(__file__).with_name("fault_factors.yaml")


@dataclass(frozen=True)
class Action:
    title: str
    term: ActionTerm
    validation: str


@dataclass(frozen=True)
class Factor:
    question: str
    answer: str
    supported_by: tuple[EvidenceKind, ...]
    action: Action
    ask: str | None = None  # telemetry cannot show the answer: always put to the team as this question


@dataclass(frozen=True)
class FaultKnowledge:
    deeper: tuple[Factor, ...] = ()  # continues the trigger chain below the fault itself
    blast_radius: tuple[Factor, ...] = ()
    detection: tuple[Factor, ...] = ()  # fault-specific reasons an alarm did not fire sooner


class _ActionSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")

    title: str
    term: ActionTerm
    validation: str


class _FactorSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")

    question: str
    answer: str
    supported_by: list[EvidenceKind] = []
    ask: str | None = None
    action: _ActionSpec

    def factor(self) -> Factor:
        a = self.action
        return Factor(
            self.question,
            self.answer,
            tuple(self.supported_by),
            Action(a.title, a.term, a.validation),
            self.ask,
        )


class _FaultSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")

    deeper: list[_FactorSpec | str] = []
    blast_radius: list[_FactorSpec | str] = []
    detection: list[_FactorSpec | str] = []


class _TableSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")

    shared: dict[str, _FactorSpec] = {}
    fault_types: dict[FaultType, _FaultSpec]


def load_fault_knowledge(path: Path = TABLE) -> dict[FaultType, FaultKnowledge]:
    """Read and check the table; a bad file raises :class:`InputFileError` naming the field."""
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
        spec = _TableSpec.model_validate(raw)
    except FileNotFoundError:
        raise InputFileError(path, None, None, "file not found") from None
    except yaml.YAMLError as exc:
        raise InputFileError(path, None, None, f"not valid YAML: {exc}") from None
    except ValidationError as exc:
        first = exc.errors()[0]
        raise InputFileError(path, None, ".".join(str(p) for p in first["loc"]), first["msg"]) from None

    def resolve(items: list[_FactorSpec | str], where: str) -> tuple[Factor, ...]:
        factors = []
        for item in items:
            if isinstance(item, str):
                if item not in spec.shared:
                    raise InputFileError(path, None, where, f"unknown shared factor {item!r}")
                item = spec.shared[item]
            factors.append(item.factor())
        return tuple(factors)

    return {
        fault: FaultKnowledge(
            deeper=resolve(entry.deeper, f"fault_types.{fault.value}.deeper"),
            blast_radius=resolve(entry.blast_radius, f"fault_types.{fault.value}.blast_radius"),
            detection=resolve(entry.detection, f"fault_types.{fault.value}.detection"),
        )
        for fault, entry in spec.fault_types.items()
    }


KNOWLEDGE: dict[FaultType, FaultKnowledge] = load_fault_knowledge()


def _gameday(what: str) -> str:
    return f"Done when a game day or test reproduces {what} and customers see no errors."


DETECTION_NO_ALARM = Action(
    "Add an SLO burn-rate alarm on {service}'s customer-facing availability and latency",
    ActionTerm.SHORT,
    "Done when replaying this incident's data fires the alarm within 5 minutes of onset.",
)
DETECTION_SLOW_ALARM = Action(
    "Tighten alarm {alarm}: fewer evaluation periods or a multi-window burn-rate rule",
    ActionTerm.SHORT,
    "Done when replaying this incident's data fires the alarm in half the time.",
)
DETECTION_SLOW_BURN = Action(
    "Add a shorter-window burn-rate rule beside {alarm}, or an alarm on {service} where the failure starts",
    ActionTerm.SHORT,
    "Done when replaying this incident's data pages in half the time without paging on a week of normal traffic.",
)
DETECTION_WRONG_PLACE = Action(
    "Add an alarm and a dashboard on {service}, where this failure started",
    ActionTerm.MID,
    "Done when a game day on {service} pages its owners directly.",
)
ENGAGEMENT = Action(
    "Review paging and escalation for this alarm: who was paged, how fast they engaged",
    ActionTerm.SHORT,
    "Done when the paging policy has been tested with a test page.",
)
PROPAGATION = Action(
    "Add timeouts and circuit breakers where {service}'s failure spread to its callers",
    ActionTerm.LONG,
    _gameday("the failure of {service}"),
)
RECURRENCE = Action(
    "Finish or replace past action item '{title}' from {coe}",
    ActionTerm.MID,
    "Done when the action item's own validation step has been run and recorded.",
)
UNEXPLAINED = Action(
    "Find and fix the root cause of {service}'s failure (the investigation could not name it)",
    ActionTerm.SHORT,
    "Done when the cause is confirmed and this report's five whys are updated.",
)
