"""The knowledge store port: what a store answers (:class:`SearchHit`) and the Protocol every
store implements. Implementations: :mod:`knowledge.store` (in memory), :mod:`knowledge.chroma_store`
(chromadb); :func:`knowledge.persistent.open_store` opens the persistent one.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol, runtime_checkable

from pydantic import BaseModel, ConfigDict

from knowledge.chunks import Chunk
from knowledge.documents import Document, DocumentType
from knowledge.errors import KnowledgeQueryError

DEFAULT_K = 5


class SearchHit(BaseModel):
    """One document that matches a query, shown through its best-matching section."""

    model_config = ConfigDict(extra="forbid")

    doc_id: str
    title: str
    type: DocumentType
    section: str
    snippet: str
    score: float  # fused rank score; only the order is meaningful
    similarity: float | None = None  # cosine similarity of the best dense chunk
    exact_terms: list[str] = []  # identifiers from the query found verbatim
    services: list[str] = []
    fault_types: list[str] = []
    chunk_id: str


class UpsertResult(BaseModel):
    model_config = ConfigDict(extra="forbid")

    doc_id: str
    added: int = 0
    updated: int = 0
    unchanged: int = 0
    removed: int = 0


@runtime_checkable
class KnowledgeStore(Protocol):
    def search(
        self,
        query: str,
        *,
        type: DocumentType | str | None = None,
        service: str | None = None,
        fault_types: Sequence[str] | None = None,
        k: int = DEFAULT_K,
    ) -> list[SearchHit]: ...

    def upsert_document(self, doc: Document) -> UpsertResult: ...

    def delete_document(self, doc_id: str) -> int: ...

    def document_ids(self) -> list[str]: ...

    def get_document(self, doc_id: str) -> Document | None: ...

    def chunk_count(self) -> int: ...


def check_type(type: DocumentType | str | None) -> DocumentType | None:
    if type is None:
        return None
    try:
        return DocumentType(type)
    except ValueError:
        raise KnowledgeQueryError(f"unknown document type {type!r}; expected 'sop' or 'coe'") from None


def chunk_matches(
    chunk: Chunk, type: DocumentType | None, service: str | None, fault_types: Sequence[str] | None
) -> bool:
    """Filters: a document without services applies to every service; fault types match any of them."""
    if type is not None and chunk.type != type:
        return False
    if service is not None and chunk.services and service not in chunk.services:
        return False
    return not (fault_types and not set(fault_types) & set(chunk.fault_types))
