"""Past COEs for the recurrence branch: the bundled ones (``knowledge/coes``) plus any the team adds.

Read with the knowledge base's own loader, without opening the vector store. A file that does not
parse is skipped and reported, so one bad COE never stops a report.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import knowledge
from knowledge.documents import COE_SUFFIXES, CoeDocument, load_document
from mcp_server.errors import InputFileError

BUNDLED_COES = Path(knowledge.__file__).resolve().parent / "coes"


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
