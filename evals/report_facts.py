"""Read the facts the correctness checks score (:mod:`evals.report_correctness`) out of a drafted COE."""

from __future__ import annotations

import functools
from pathlib import Path
from typing import TYPE_CHECKING

from evals.report_correctness import CitedDoc, ReportFacts

if TYPE_CHECKING:
    from agent.report.model import IncidentReport

COE_QUERY = "knowledge: coe "
SOP_QUERY = "knowledge: sop "
SOP_SOURCE = "SOP "


@functools.cache
def _bundled_docs() -> dict[str, CitedDoc]:
    """The bundled COEs and SOPs by id, with their dates and fault types."""
    from agent.report.past_coes import BUNDLED_COES, BUNDLED_SOPS, load_past_coes
    from knowledge.documents import SopDocument, load_document
    from mcp_server.errors import InputFileError

    docs = {
        coe.id: CitedDoc(id=coe.id, date=coe.date, fault_types=[str(f) for f in coe.fault_types])
        for coe in load_past_coes([BUNDLED_COES])[0]
    }
    for file in sorted(Path(BUNDLED_SOPS).rglob("*.md")):
        try:
            doc = load_document(file)
        except InputFileError:
            continue
        if isinstance(doc, SopDocument):
            docs[doc.id] = CitedDoc(id=doc.id, fault_types=[str(f) for f in doc.fault_types])
    return docs


def _doc(doc_id: str) -> CitedDoc:
    return _bundled_docs().get(doc_id) or CitedDoc(id=doc_id)


def _unique(ids: list[str]) -> list[str]:
    return list(dict.fromkeys(i for i in ids if i))


def report_facts(report: IncidentReport) -> ReportFacts:
    """What ``report`` says about detection, the customer-facing service, recurrences, runbook, evidence."""
    from agent.report.model import TimelinePhase

    by_id = report.evidence_by_id()
    coes = list(report.related_coes)
    coes += [
        e.source_query.removeprefix(COE_QUERY).strip()
        for e in report.evidence
        if e.source_query.startswith(COE_QUERY)
    ]
    went_well = {ev for claim in report.what_went_well for ev in claim.evidence}
    sops = [
        by_id[ev].source_query.removeprefix(SOP_QUERY).strip()
        for ev in went_well
        if ev in by_id and by_id[ev].source_query.startswith(SOP_QUERY)
    ]
    sops += [
        entry.source.removeprefix(SOP_SOURCE).strip()
        for entry in report.timeline
        if entry.phase is TimelinePhase.MITIGATION and entry.source.startswith(SOP_SOURCE)
    ]
    detection = next(
        (e for e in report.timeline if e.phase is TimelinePhase.DETECTION and e.time is not None), None
    )
    texts = [
        " ".join([e.description, e.source_query, *(str(v) for v in e.attributes.values())])
        for e in report.evidence
    ]
    return ReportFacts(
        entry_service=report.customer_impact.entry_service,
        time_to_detect_seconds=report.response_analysis.time_to_detect_seconds,
        detected_at=detection.time if detection else None,
        detected_by=f"{detection.event} at {detection.time:%H:%M:%S}"
        if detection and detection.time
        else None,
        past_coes=[_doc(i) for i in _unique(coes)],
        runbooks=[_doc(i) for i in _unique(sops)],
        evidence_text=texts,
    )
