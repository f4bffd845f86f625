"""Cut documents into the chunks the store indexes: one per section, long sections in parts.

Chunk ids are stable (``doc_id::section-slug`` plus ``~N`` for later parts), so re-ingesting a changed
document overwrites its chunks in place and the ids that disappear are exactly the removed sections.
Every chunk's text starts with the document title and section name, so a chunk read alone (by the
embedding model or by a person) still says what it is about.
"""

from __future__ import annotations

import hashlib
import re

from pydantic import BaseModel, ConfigDict

from knowledge.documents import CoeDocument, Document, DocumentType, SopDocument, WhyNode
from mcp_server.taxonomy import FAULT_DESCRIPTIONS, FaultType

MAX_CHUNK_CHARS = 1200  # about 256 word pieces, the embedding model's window
ABOUT_SECTION = "about"


class Chunk(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str
    doc_id: str
    type: DocumentType
    title: str
    section: str
    text: str  # what is embedded and scored: title, section name and body
    body: str  # the section body alone, for snippets
    services: tuple[str, ...] = ()
    fault_types: tuple[str, ...] = ()

    @property
    def content_hash(self) -> str:
        """Changes when anything stored with the chunk changes: its text or its filter metadata."""
        stored = "\x1f".join([self.text, self.type.value, *self.services, "|", *self.fault_types])
        return hashlib.sha256(stored.encode()).hexdigest()[:16]


def slugify(text: str) -> str:
    slug = re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")
    return slug or "section"


def split_long(body: str, limit: int = MAX_CHUNK_CHARS) -> list[str]:
    """Split at paragraph (then line) boundaries into parts of at most ``limit`` characters."""
    if len(body) <= limit:
        return [body]
    parts: list[str] = []
    current = ""
    pieces = re.split(r"(\n\s*\n)", body)
    units: list[str] = []
    for piece in pieces:
        if len(piece) > limit:
            units.extend(line + "\n" for line in piece.splitlines())
        else:
            units.append(piece)
    for unit in units:
        if current and len(current) + len(unit) > limit:
            parts.append(current.strip())
            current = ""
        current += unit
    if current.strip():
        parts.append(current.strip())
    return [p if len(p) <= limit else p[:limit] for p in parts if p]


def _sections(doc: Document) -> list[tuple[str, str]]:
    if isinstance(doc, SopDocument):
        return _sop_sections(doc)
    return _coe_sections(doc)


def _fault_words(fault_types: list[str]) -> str:
    return "; ".join(f"{f}: {FAULT_DESCRIPTIONS[FaultType(f)]}" for f in fault_types)


def _sop_sections(doc: SopDocument) -> list[tuple[str, str]]:
    about = [f"Runbook for: {doc.title}."]
    if doc.symptoms:
        about.append("Symptoms: " + "; ".join(doc.symptoms) + ".")
    if doc.services:
        about.append("Services: " + ", ".join(doc.services) + ".")
    if doc.fault_types:
        about.append("Fault types: " + _fault_words(list(doc.fault_types)))
    sections = [(ABOUT_SECTION, "\n".join(about))]
    sections.extend((s.heading, s.body) for s in doc.sections)
    return sections


def _why_lines(node: WhyNode, depth: int = 0) -> list[str]:
    line = f"{'  ' * depth}- Why: {node.question} Because: {node.answer}"
    if node.evidence:
        line += " (evidence: " + "; ".join(node.evidence) + ")"
    if node.needs_human_input:
        line += " [needs confirmation]"
    lines = [line]
    for child in node.children:
        lines.extend(_why_lines(child, depth + 1))
    return lines


def _coe_sections(doc: CoeDocument) -> list[tuple[str, str]]:
    about = [f"Incident on {doc.date.isoformat()}: {doc.title}.", doc.summary]
    if doc.services:
        about.append("Services: " + ", ".join(doc.services) + ".")
    if doc.fault_types:
        about.append("Fault types: " + _fault_words(list(doc.fault_types)))
    sections = [(ABOUT_SECTION, "\n".join(about))]
    if doc.customer_impact:
        sections.append(("customer impact", doc.customer_impact))
    if doc.timeline:
        lines = [
            f"- {t.time.isoformat()} {t.event}" + (f" ({t.source})" if t.source else "") for t in doc.timeline
        ]
        sections.append(("timeline", "\n".join(lines)))
    if doc.metrics:
        sections.append(("metrics", "\n".join(f"- {m}" for m in doc.metrics)))
    root = doc.five_whys
    head = f"Why: {root.question} Because: {root.answer}"
    if not root.children:
        sections.append(("five whys", "\n".join(_why_lines(root))))
    for child in root.children:
        sections.append((f"five whys: {child.branch.value}", head + "\n" + "\n".join(_why_lines(child))))
    lessons = [f"- Went well: {w}" for w in doc.what_went_well] + [
        f"- Lesson: {x}" for x in doc.lessons_learned
    ]
    if lessons:
        sections.append(("lessons", "\n".join(lessons)))
    if doc.action_items:
        items = [
            f"- [{a.status.value}] {a.title} ({a.term.value} term"
            + (f", owner {a.owner}" if a.owner else "")
            + (f", due {a.due.isoformat()}" if a.due else "")
            + ")"
            + (f" Validation: {a.validation}" if a.validation else "")
            for a in doc.action_items
        ]
        sections.append(("action items", "\n".join(items)))
    return sections


def chunk_document(doc: Document) -> list[Chunk]:
    chunks: list[Chunk] = []
    seen: dict[str, int] = {}
    doc_type = DocumentType(doc.type)
    for heading, body in _sections(doc):
        slug = slugify(heading)
        if slug in seen:  # two sections with the same name keep distinct, stable ids
            seen[slug] += 1
            slug = f"{slug}-{seen[slug]}"
        else:
            seen[slug] = 1
        for index, part in enumerate(split_long(body)):
            chunk_id = f"{doc.id}::{slug}" + (f"~{index}" if index else "")
            chunks.append(
                Chunk(
                    id=chunk_id,
                    doc_id=doc.id,
                    type=doc_type,
                    title=doc.title,
                    section=heading,
                    text=f"{doc.title}\n{heading}\n{part}",
                    body=part,
                    services=tuple(doc.services),
                    fault_types=tuple(str(f) for f in doc.fault_types),
                )
            )
    return chunks
