"""Past COEs for the recurrence branch: the bundled ones (``knowledge/coes``) plus any the team adds.

Read with the knowledge base's own loader, without opening the vector store. A file that does not
parse is skipped and reported, so one bad COE never stops a report.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import knowledge
from knowledge.documents import COE_SUFFIXES, CoeDocument, SopDocument, load_document
from mcp_server.errors import InputFileError

BUNDLED_COES = Path(knowledge.__file__).resolve().parent / "coes"
BUNDLED_SOPS = Path(knowledge.__file__).resolve().parent / "sops"


def load_past_coes(paths: Iterable[Path | str] = (BUNDLED_COES,)) -> tuple[list[CoeDocument], list[str]]:
    """COE documents under the given files or directories, and one error line per skipped file."""
    coes: list[CoeDocument] = []
    errors: list[str] = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            files = sorted(p for p in path.rglob("*") if p.is_file() and p.suffix.lower() in COE_SUFFIXES)
        elif path.is_file():
            files = [path]
        else:
            errors.append(f"{path}: no such file or directory")
            continue
        for file in files:
            try:
                doc = load_document(file)
            except InputFileError as exc:
                errors.append(str(exc))
                continue
            if isinstance(doc, CoeDocument):
                coes.append(doc)
    return coes, errors


def runbook_for(fault_type: object, service: str | None, root: Path = BUNDLED_SOPS) -> SopDocument | None:
    """The bundled SOP written for ``fault_type`` (one naming ``service`` first), looked up after the
    hypotheses are ranked, so "what went well" names the runbook the mitigation follows."""
    sops: list[SopDocument] = []
    if root.is_dir():
        for file in sorted(
            p for p in root.rglob("*") if p.is_file() and p.suffix.lower() in (".md", *COE_SUFFIXES)
        ):
            try:
                doc = load_document(file)
            except InputFileError:
                continue
            if isinstance(doc, SopDocument) and fault_type in doc.fault_types:
                sops.append(doc)
    # one about this service (named first: a queue's runbook names its producer too), then one about
    # this fault (listed first: a queue-backlog runbook that lists exceptions among a backlog's
    # causes is not the runbook for an exception in the producer), then one naming the service, a
    # general one, one for other services; then the most specific
    sops.sort(
        key=lambda s: (
            s.services[:1] != [service],
            s.fault_types[0] != fault_type,
            0 if service in s.services else 1 if not s.services else 2,
            len(s.fault_types),
            s.id,
        )
    )
    return sops[0] if sops else None
