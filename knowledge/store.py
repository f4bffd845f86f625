"""The hybrid store's shared bookkeeping (:class:`HybridStoreBase`) and its in-memory implementation.

A store holds SOP and COE documents cut into section chunks and answers hybrid searches (dense
embeddings fused with BM25, see :mod:`knowledge.ranking`). Every implementation keeps a mirror of its
chunks in memory for the lexical side and for filters; only the dense search differs (numpy here,
chromadb in :mod:`knowledge.chroma_store`). The port itself is :mod:`knowledge.base`.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence

import numpy as np

from knowledge.base import DEFAULT_K, SearchHit, UpsertResult, check_type, chunk_matches
from knowledge.chunks import ABOUT_SECTION, Chunk, chunk_document
from knowledge.documents import Document, DocumentType
from knowledge.embeddings import Embedder, Vectors, default_embedder
from knowledge.errors import KnowledgeQueryError
from knowledge.lexical import Bm25Index
from knowledge.ranking import best_chunk, fuse, snippet

DENSE_CANDIDATES = 60
QUERY_CACHE_SIZE = 256


class HybridStoreBase:
    """Shared bookkeeping and ranking; subclasses persist chunks and answer dense queries."""

    def __init__(self, embedder: Embedder) -> None:
        self.embedder = embedder
        self._lock = threading.RLock()
        self._chunks: dict[str, Chunk] = {}
        self._hashes: dict[str, str] = {}
        self._documents: dict[str, Document] = {}
        self._lexical = Bm25Index()
        self._query_cache: dict[str, Vectors] = {}

    # -- persistence hooks -------------------------------------------------------------------------
    def _persist(self, doc: Document, chunks: list[Chunk], vectors: Vectors) -> None:
        raise NotImplementedError

    def _persist_delete(self, doc_id: str, chunk_ids: list[str]) -> None:
        raise NotImplementedError

    def _dense(
        self, vector: Vectors, allowed: set[str], type: DocumentType | None, service: str | None,
        fault_types: Sequence[str] | None, n: int,
    ) -> dict[str, float]:  # fmt: skip
        raise NotImplementedError

    def _query_vector(self, query: str) -> Vectors:
        """Embed a query, remembering recent ones: the agent asks the same query for SOPs, then COEs."""
        with self._lock:
            cached = self._query_cache.get(query)
        if cached is not None:
            return cached
        vector = self.embedder.embed([query])
        with self._lock:
            if len(self._query_cache) >= QUERY_CACHE_SIZE:
                self._query_cache.pop(next(iter(self._query_cache)))
            self._query_cache[query] = vector
        return vector

    # -- mirror ------------------------------------------------------------------------------------
    def _mirror(self, doc: Document | None, chunks: list[Chunk], hashes: dict[str, str]) -> None:
        for chunk in chunks:
            self._chunks[chunk.id] = chunk
            self._hashes[chunk.id] = hashes.get(chunk.id, chunk.content_hash)
            self._lexical.add(chunk.id, chunk.text)
        if doc is not None:
            self._documents[doc.id] = doc

    def _unmirror(self, chunk_ids: list[str]) -> None:
        for chunk_id in chunk_ids:
            self._chunks.pop(chunk_id, None)
            self._hashes.pop(chunk_id, None)
            self._lexical.remove(chunk_id)

    # -- KnowledgeStore ----------------------------------------------------------------------------
    def upsert_document(self, doc: Document) -> UpsertResult:
        """Replace a document's chunks: changed sections are re-embedded, removed sections deleted."""
        chunks = chunk_document(doc)
        with self._lock:
            old_ids = {cid for cid, c in self._chunks.items() if c.doc_id == doc.id}
            new_ids = {c.id for c in chunks}
            changed = [c for c in chunks if self._hashes.get(c.id) != c.content_hash]
            stale = sorted(old_ids - new_ids)
            result = UpsertResult(
                doc_id=doc.id,
                added=sum(1 for c in changed if c.id not in old_ids),
                updated=sum(1 for c in changed if c.id in old_ids),
                unchanged=len(chunks) - len(changed),
                removed=len(stale),
            )
            if stale:
                self._persist_delete(doc.id, stale)
                self._unmirror(stale)
            vectors = self.embedder.embed([c.text for c in changed])
            # The document record is rewritten even when no chunk changed (metadata may have).
            self._persist(doc, changed, vectors)
            self._mirror(doc, changed, {})
            self._documents[doc.id] = doc
            return result

    def delete_document(self, doc_id: str) -> int:
        with self._lock:
            ids = sorted(cid for cid, c in self._chunks.items() if c.doc_id == doc_id)
            if ids or doc_id in self._documents:
                self._persist_delete(doc_id, ids)
            self._unmirror(ids)
            self._documents.pop(doc_id, None)
            return len(ids)

    def document_ids(self) -> list[str]:
        with self._lock:
            return sorted({c.doc_id for c in self._chunks.values()} | set(self._documents))

    def get_document(self, doc_id: str) -> Document | None:
        with self._lock:
            return self._documents.get(doc_id)

    def chunk_count(self) -> int:
        with self._lock:
            return len(self._chunks)

    def search(
        self,
        query: str,
        *,
        type: DocumentType | str | None = None,
        service: str | None = None,
        fault_types: Sequence[str] | None = None,
        k: int = DEFAULT_K,
    ) -> list[SearchHit]:
        if not query.strip():
            raise KnowledgeQueryError("empty search query: describe the symptom, error or service")
        if k < 1:
            raise KnowledgeQueryError(f"k must be at least 1 (got {k})")
        doc_type = check_type(type)
        vector = self._query_vector(query)
        with self._lock:
            allowed = {
                cid for cid, c in self._chunks.items() if chunk_matches(c, doc_type, service, fault_types)
            }
            if not allowed:
                return []
            dense = self._dense(vector, allowed, doc_type, service, fault_types, DENSE_CANDIDATES)
            lexical = self._lexical.score_with_coverage(query, allowed)
            chunks = dict(self._chunks)
        hits: list[SearchHit] = []
        for item in fuse(chunks, dense, lexical, query)[:k]:
            chunk = chunks[best_chunk(item)]
            hits.append(
                SearchHit(
                    doc_id=chunk.doc_id,
                    title=chunk.title,
                    type=chunk.type,
                    section=chunk.section if chunk.section != ABOUT_SECTION else "summary",
                    snippet=snippet(chunk, query),
                    score=round(item.fused, 6),
                    similarity=round(item.dense_score, 4) if item.dense_chunk else None,
                    exact_terms=item.exact_terms,
                    services=list(chunk.services),
                    fault_types=list(chunk.fault_types),
                    chunk_id=chunk.id,
                )
            )
        return hits


class InMemoryKnowledgeStore(HybridStoreBase):
    """A store that lives and dies with the process: for tests and one-off evaluations."""

    def __init__(self, embedder: Embedder | None = None) -> None:
        super().__init__(embedder or default_embedder())
        self._vectors: dict[str, Vectors] = {}

    def _persist(self, doc: Document, chunks: list[Chunk], vectors: Vectors) -> None:
        for chunk, vector in zip(chunks, vectors, strict=True):
            self._vectors[chunk.id] = vector

    def _persist_delete(self, doc_id: str, chunk_ids: list[str]) -> None:
        for chunk_id in chunk_ids:
            self._vectors.pop(chunk_id, None)

    def _dense(
        self, vector: Vectors, allowed: set[str], type: DocumentType | None, service: str | None,
        fault_types: Sequence[str] | None, n: int,
    ) -> dict[str, float]:  # fmt: skip
        ids = [cid for cid in allowed if cid in self._vectors]
        if not ids:
            return {}
        matrix = np.stack([self._vectors[cid] for cid in ids])
        sims = matrix @ vector[0]
        top = np.argsort(-sims)[:n]
        return {ids[i]: float(sims[i]) for i in top}
