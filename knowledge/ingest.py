"""Load documents from files into a store: idempotent, and one bad file never stops the rest.

Re-ingesting a document replaces its chunks in place (stable ids; unchanged sections are not
re-embedded; removed sections are deleted). A file that does not parse is reported with its path and
the problem, skipped, and the other files still go in.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

from knowledge.base import KnowledgeStore, UpsertResult
from knowledge.documents import (
    COE_SUFFIXES,
    SOP_SUFFIXES,
    CoeDocument,
    Document,
    dump_coe_json,
    load_document,
)
from mcp_server.errors import InputFileError

# Package data (pyproject.toml): the wheel carries both folders, so an installed Sleuth finds them here.
PACKAGE_DIR = Path(__file__).resolve().parent
BUNDLED_SOPS = PACKAGE_DIR / "sops"
BUNDLED_COES = PACKAGE_DIR / "coes"
SKIPPED_NAMES = frozenset({"readme.md", "index.md"})
_STATE_FILE = "bundled-state.json"


class IngestReport(BaseModel):
    model_config = ConfigDict(extra="forbid")

    documents: list[UpsertResult] = Field(default_factory=list)
    errors: list[str] = Field(default_factory=list)  # one line per skipped file: "path: problem"
    removed_documents: list[str] = Field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors

    def totals(self) -> dict[str, int]:
        keys = ("added", "updated", "unchanged", "removed")
        return {key: sum(getattr(d, key) for d in self.documents) for key in keys}


def bundled_paths() -> list[Path]:
    return [p for p in (BUNDLED_SOPS, BUNDLED_COES) if p.is_dir()]


def discover(paths: Iterable[Path | str]) -> list[Path]:
    """Knowledge files under the given files/directories, sorted; a missing path is an error."""
    found: list[Path] = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            found.extend(
                p
                for p in sorted(path.rglob("*"))
                if p.is_file()
                and p.suffix.lower() in SOP_SUFFIXES + COE_SUFFIXES
                and p.name.lower() not in SKIPPED_NAMES
                and not any(part.startswith(".") for part in p.relative_to(path).parts)
            )
        elif path.is_file():
            found.append(path)
        else:
            raise InputFileError(path, None, None, "no such file or directory")
    return found


def load_documents(files: Iterable[Path]) -> tuple[list[Document], list[str]]:
    """Parse files; bad ones (and repeated ids) become error lines instead of exceptions."""
    documents: list[Document] = []
    errors: list[str] = []
    origin: dict[str, Path] = {}
    for path in files:
        try:
            doc = load_document(path)
        except InputFileError as exc:
            errors.append(str(exc))
            continue
        if doc.id in origin:
            errors.append(f"{path}: document id {doc.id!r} is already used by {origin[doc.id]}; skipped")
            continue
        origin[doc.id] = path
        documents.append(doc)
    return documents, errors


def ingest_paths(store: KnowledgeStore, paths: Iterable[Path | str]) -> IngestReport:
    documents, errors = load_documents(discover(paths))
    report = IngestReport(errors=errors)
    for doc in documents:
        report.documents.append(store.upsert_document(doc))
    return report


def _fingerprint(files: list[Path]) -> str:
    digest = hashlib.sha256()
    for path in files:
        # relative to the package: the same files give the same fingerprint wherever Sleuth is installed
        digest.update(
            str(path.relative_to(PACKAGE_DIR) if path.is_relative_to(PACKAGE_DIR) else path).encode()
        )
        digest.update(path.read_bytes())
    return digest.hexdigest()


def sync_bundled_documents(
    store: KnowledgeStore, state_dir: Path | None, paths: list[Path] | None = None
) -> IngestReport | None:
    """Ingest the bundled SOPs and COEs when the store is empty or the bundled files changed.

    ``state_dir`` remembers the last fingerprint (and which documents came from the bundle, so one
    deleted from the repo is deleted from the store). Without it, only an empty store is filled.
    """
    files = discover(bundled_paths() if paths is None else paths)
    fingerprint = _fingerprint(files)
    state_path = state_dir / _STATE_FILE if state_dir is not None else None
    previous: dict[str, object] = {}
    if state_path is not None and state_path.is_file():
        try:
            previous = json.loads(state_path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            previous = {}
    empty = store.chunk_count() == 0
    if not empty and (state_path is None or previous.get("fingerprint") == fingerprint):
        return None
    report = ingest_paths(store, files)
    current = {d.doc_id for d in report.documents}
    before = previous.get("doc_ids")
    for doc_id in sorted(set(before if isinstance(before, list) else []) - current):
        store.delete_document(doc_id)
        report.removed_documents.append(doc_id)
    if state_path is not None:
        state_path.parent.mkdir(parents=True, exist_ok=True)
        state_path.write_text(json.dumps({"fingerprint": fingerprint, "doc_ids": sorted(current)}))
    return report


def add_report_as_coe(store: KnowledgeStore, coe: CoeDocument, directory: Path | None = None) -> UpsertResult:
    """The flywheel: a finished investigation becomes a COE the next investigation can find.

    With ``directory`` the COE is also written there as ``<id>.json``, so a rebuilt store can ingest it.
    """
    if directory is not None:
        directory.mkdir(parents=True, exist_ok=True)
        (directory / f"{coe.id}.json").write_text(dump_coe_json(coe), encoding="utf-8")
    return store.upsert_document(coe)
