"""Knowledge documents: SOPs (runbooks) and COEs (blameless postmortems), and how to read them.

Two document kinds, one stable schema each:

* :class:`SopDocument` is read from Markdown with YAML front matter (``knowledge/sops/*.md``). The body is split
  into sections at ``##`` headings; text before the first heading is the ``overview`` section.
* :class:`CoeDocument` is read from JSON or YAML (``knowledge/coes/*.json``). The report drafter
  produces the same model, so a finished investigation can become a new COE.

The five-whys analysis is a tree: the root asks why customers were hurt, its children follow separate
branches (what triggered it, why the blast radius was so large, why detection was slow, why it could
recur), and action items point at the node they address by id. Nodes without an id get a path id
(``"1"``, ``"1.2"``, ``"1.2.1"``) on load, so a drafter may omit them.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from enum import StrEnum
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from mcp_server.errors import InputFileError
from mcp_server.taxonomy import FaultType

DOC_ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.-]*$"
SOP_SUFFIXES = (".md", ".markdown")
COE_SUFFIXES = (".json", ".yaml", ".yml")
OVERVIEW_SECTION = "overview"


class DocumentType(StrEnum):
    SOP = "sop"
    COE = "coe"


class DocumentSection(BaseModel):
    """One titled part of a document: the unit the store indexes and returns."""

    model_config = ConfigDict(extra="forbid")

    heading: str
    body: str


def _unique(values: list[str]) -> list[str]:
    seen: dict[str, None] = {}
    for value in values:
        cleaned = value.strip()
        if cleaned:
            seen.setdefault(cleaned, None)
    return list(seen)


class SopDocument(BaseModel):
    """A standard operating procedure: what to check and do, in order, for one kind of failure."""

    model_config = ConfigDict(extra="forbid")

    type: Literal["sop"] = "sop"
    id: str = Field(pattern=DOC_ID_PATTERN)
    title: str = Field(min_length=1)
    services: list[str] = Field(default_factory=list)  # empty: applies to any service
    symptoms: list[str] = Field(default_factory=list)
    fault_types: list[FaultType] = Field(default_factory=list)
    last_reviewed: dt.date
    owner: str | None = None
    sections: list[DocumentSection] = Field(default_factory=list)

    @field_validator("services", "symptoms")
    @classmethod
    def _strip_and_dedupe(cls, values: list[str]) -> list[str]:
        return _unique(values)

    def section(self, heading: str) -> DocumentSection | None:
        wanted = heading.strip().lower()
        return next((s for s in self.sections if s.heading.lower() == wanted), None)


class WhyBranch(StrEnum):
    TRIGGER = "trigger"  # what set it off
    BLAST_RADIUS = "blast_radius"  # why it hurt so many / so much
    DETECTION = "detection"  # why we noticed late, or diagnosed slowly
    RECURRENCE = "recurrence"  # why it could (or did) happen again
    OTHER = "other"


class WhyNode(BaseModel):
    """One question-and-answer step of the five-whys tree."""

    model_config = ConfigDict(extra="forbid")

    id: str = ""  # filled with a path id ("1.2") when empty
    question: str = Field(min_length=1)
    answer: str = ""
    evidence: list[str] = Field(default_factory=list)
    needs_human_input: bool = False  # the answer is a guess the owning team must confirm
    branch: WhyBranch = WhyBranch.OTHER
    children: list[WhyNode] = Field(default_factory=list)

    def walk(self) -> list[WhyNode]:
        """This node and all its descendants, depth first."""
        nodes = [self]
        for child in self.children:
            nodes.extend(child.walk())
        return nodes


class TimelineEntry(BaseModel):
    model_config = ConfigDict(extra="forbid")

    time: dt.datetime
    event: str = Field(min_length=1)
    source: str = ""  # where the fact comes from: an alarm, a log query, a deploy record, a person


class ActionTerm(StrEnum):
    SHORT = "short"  # days
    MID = "mid"  # weeks
    LONG = "long"  # quarters


class ActionStatus(StrEnum):
    OPEN = "open"
    DONE = "done"
    MISSED = "missed"


class ActionItem(BaseModel):
    model_config = ConfigDict(extra="forbid")

    title: str = Field(min_length=1)
    why_addressed: str | None = None  # id of the WhyNode this item answers
    term: ActionTerm = ActionTerm.SHORT
    owner: str = ""
    due: dt.date | None = None
    status: ActionStatus = ActionStatus.OPEN
    validation: str = ""  # how we will know it worked


class CoeDocument(BaseModel):
    """A Correction of Error: a blameless account of one incident, its causes and its fixes."""

    model_config = ConfigDict(extra="forbid")

    type: Literal["coe"] = "coe"
    id: str = Field(pattern=DOC_ID_PATTERN)
    title: str = Field(min_length=1)
    date: dt.date
    severity: str | None = None
    services: list[str] = Field(default_factory=list)
    fault_types: list[FaultType] = Field(default_factory=list)
    summary: str = Field(min_length=1)
    customer_impact: str = ""
    timeline: list[TimelineEntry] = Field(default_factory=list)
    metrics: list[str] = Field(default_factory=list)
    five_whys: WhyNode
    what_went_well: list[str] = Field(default_factory=list)
    lessons_learned: list[str] = Field(default_factory=list)
    action_items: list[ActionItem] = Field(default_factory=list)
    related_coes: list[str] = Field(default_factory=list)
    origin: Literal["authored", "investigation"] = "authored"

    @field_validator("services")
    @classmethod
    def _strip_and_dedupe(cls, values: list[str]) -> list[str]:
        return _unique(values)

    @model_validator(mode="after")
    def _number_why_nodes_and_check_refs(self) -> CoeDocument:
        _assign_path_ids(self.five_whys, "1")
        ids = [node.id for node in self.five_whys.walk()]
        duplicates = sorted({i for i in ids if ids.count(i) > 1})
        if duplicates:
            raise ValueError(f"five_whys node ids must be unique; repeated: {', '.join(duplicates)}")
        known = set(ids)
        for index, item in enumerate(self.action_items):
            if item.why_addressed is not None and item.why_addressed not in known:
                raise ValueError(
                    f"action_items[{index}].why_addressed {item.why_addressed!r} is not a five_whys node id "
                    f"(known: {', '.join(ids)})"
                )
        return self

    def why_node(self, node_id: str) -> WhyNode | None:
        return next((n for n in self.five_whys.walk() if n.id == node_id), None)


def _assign_path_ids(node: WhyNode, path: str) -> None:
    if not node.id:
        node.id = path
    for index, child in enumerate(node.children, start=1):
        _assign_path_ids(child, f"{node.id}.{index}")


Document = SopDocument | CoeDocument

_FRONT_MATTER = re.compile(r"\A---[ \t]*\r?\n(.*?)\r?\n---[ \t]*(?:\r?\n|\Z)", re.DOTALL)
_HEADING = re.compile(r"^(#{1,6})[ \t]+(.+?)[ \t]*#*[ \t]*$")


def split_markdown_sections(body: str) -> list[DocumentSection]:
    """Split Markdown at level-2 headings; a level-1 heading is the title and is dropped."""
    sections: list[DocumentSection] = []
    heading = OVERVIEW_SECTION
    lines: list[str] = []
    in_fence = False

    def flush() -> None:
        text = "\n".join(lines).strip()
        if text:
            sections.append(DocumentSection(heading=heading, body=text))

    for line in body.splitlines():
        if line.lstrip().startswith(("```", "~~~")):
            in_fence = not in_fence
        match = None if in_fence else _HEADING.match(line)
        if match and len(match.group(1)) <= 2:
            flush()
            lines = []
            heading = OVERVIEW_SECTION if len(match.group(1)) == 1 else match.group(2).strip()
            continue
        lines.append(line)
    flush()
    return sections


def parse_sop_markdown(text: str, path: Path | str = "<text>") -> SopDocument:
    match = _FRONT_MATTER.match(text)
    if match is None:
        raise InputFileError(path, 1, None, "SOP must start with YAML front matter between '---' lines")
    try:
        meta = yaml.safe_load(match.group(1))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 2 if mark is not None else None  # +1 for 1-based, +1 for the opening ---
        raise InputFileError(path, line, None, f"front matter is not valid YAML: {exc}") from None
    if not isinstance(meta, dict):
        raise InputFileError(path, 2, None, "front matter must be a mapping (id, title, last_reviewed, ...)")
    if "sections" in meta:
        raise InputFileError(path, None, "sections", "sections come from the Markdown body, not front matter")
    sections = split_markdown_sections(text[match.end() :])
    if not sections:
        raise InputFileError(path, None, None, "SOP has no body text")
    try:
        return SopDocument.model_validate({**meta, "sections": [s.model_dump() for s in sections]})
    except ValidationError as exc:
        raise _validation_error(path, exc) from None


def parse_coe(raw: Any, path: Path | str = "<data>") -> CoeDocument:
    if not isinstance(raw, dict):
        raise InputFileError(
            path, None, None, "a COE must be a mapping (id, title, date, summary, five_whys, ...)"
        )
    try:
        return CoeDocument.model_validate(raw)
    except ValidationError as exc:
        raise _validation_error(path, exc) from None


def load_document(path: Path | str) -> Document:
    """Read one SOP (``.md``) or COE (``.json``/``.yaml``) file.

    A bad file raises :class:`InputFileError` naming the file (and the line or field when known).
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in SOP_SUFFIXES + COE_SUFFIXES:
        raise InputFileError(
            path, None, None, "not a knowledge document (expected .md, .json, .yaml or .yml)"
        )
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InputFileError(path, None, None, "file not found") from None
    except IsADirectoryError:
        raise InputFileError(path, None, None, "is a directory, expected a file") from None
    except UnicodeDecodeError as exc:
        raise InputFileError(path, None, None, f"not UTF-8 text ({exc.reason})") from None
    if suffix in SOP_SUFFIXES:
        return parse_sop_markdown(text, path)
    if suffix == ".json":
        try:
            raw = json.loads(text)
        except json.JSONDecodeError as exc:
            raise InputFileError(path, exc.lineno, None, f"not valid JSON: {exc.msg}") from None
    else:
        try:
            raw = yaml.safe_load(text)
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            raise InputFileError(
                path, mark.line + 1 if mark is not None else None, None, f"not valid YAML: {exc}"
            ) from None
    return parse_coe(raw, path)


def dump_coe_json(coe: CoeDocument) -> str:
    """The canonical JSON form of a COE (what ``knowledge/coes/*.json`` holds)."""
    return coe.model_dump_json(indent=2, exclude_none=True) + "\n"


def _validation_error(path: Path | str, exc: ValidationError) -> InputFileError:
    first = exc.errors()[0]
    field = ".".join(str(part) for part in first["loc"]) or None
    return InputFileError(path, None, field, first["msg"])
