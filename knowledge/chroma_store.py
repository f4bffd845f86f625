"""The chromadb adapter: embedded (persistent directory) or a Chroma server (``chromadb.HttpClient``).

Two collections: ``sleuth_chunks`` holds one record per section chunk (its text, vector and filter
metadata) and ``sleuth_documents`` one record per document (its JSON, so the full SOP or COE can be
read back). Vectors are computed by our own :class:`~knowledge.embeddings.Embedder`; chromadb's default
embedding function would try to download a model. The collection remembers which embedder filled it,
and opening it with another one is refused rather than silently mixing vector spaces.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Annotated, Any

import numpy as np
from pydantic import Field, TypeAdapter, ValidationError

from knowledge.base import DEFAULT_K, SearchHit
from knowledge.chunks import Chunk
from knowledge.documents import Document, DocumentType
from knowledge.embeddings import Embedder, Vectors
from knowledge.errors import EmbedderMismatchError, KnowledgeUnavailableError
from knowledge.store import HybridStoreBase

CHUNKS = "sleuth_chunks"
DOCUMENTS = "sleuth_documents"
_DOCUMENT = TypeAdapter(Annotated[Document, Field(discriminator="type")])


def _chunk_metadata(chunk: Chunk) -> dict[str, Any]:
    meta: dict[str, Any] = {
        "doc_id": chunk.doc_id,
        "type": chunk.type.value,
        "title": chunk.title,
        "section": chunk.section,
        "hash": chunk.content_hash,
        "any_service": not chunk.services,
    }
    if chunk.services:  # chromadb rejects empty lists
        meta["services"] = list(chunk.services)
    if chunk.fault_types:
        meta["fault_types"] = list(chunk.fault_types)
    return meta


def _chunk_from_record(chunk_id: str, text: str, meta: dict[str, Any]) -> Chunk:
    parts = text.split("\n", 2)
    return Chunk(
        id=chunk_id,
        doc_id=str(meta["doc_id"]),
        type=DocumentType(str(meta["type"])),
        title=str(meta["title"]),
        section=str(meta["section"]),
        text=text,
        body=parts[2] if len(parts) == 3 else text,
        services=tuple(meta.get("services") or ()),
        fault_types=tuple(meta.get("fault_types") or ()),
    )


def _where(
    type: DocumentType | None, service: str | None, fault_types: Sequence[str] | None
) -> dict[str, Any] | None:
    clauses: list[dict[str, Any]] = []
    if type is not None:
        clauses.append({"type": type.value})
    if service is not None:
        clauses.append({"$or": [{"services": {"$contains": service}}, {"any_service": True}]})
    if fault_types:
        options = [{"fault_types": {"$contains": f}} for f in fault_types]
        clauses.append(options[0] if len(options) == 1 else {"$or": options})
    if not clauses:
        return None
    return clauses[0] if len(clauses) == 1 else {"$and": clauses}


class ChromaKnowledgeStore(HybridStoreBase):
    def __init__(
        self, client: Any, embedder: Embedder, *, remote: bool, where: str, reset: bool = False
    ) -> None:
        super().__init__(embedder)
        self._client = client
        self._remote = remote
        self.location = where
        info = {"embedder": embedder.name, "dimension": embedder.dimension, "hnsw:space": "cosine"}
        try:
            if reset:  # a rebuild, e.g. after changing the embedder: drop whatever was there
                existing = {getattr(c, "name", c) for c in client.list_collections()}
                for name in (CHUNKS, DOCUMENTS):
                    if name in existing:
                        client.delete_collection(name)
            self._chunks_col = client.get_or_create_collection(CHUNKS, embedding_function=None, metadata=info)
            self._docs_col = client.get_or_create_collection(
                DOCUMENTS, embedding_function=None, metadata=info
            )
        except Exception as exc:  # chromadb raises many types for an unreachable or broken store
            raise KnowledgeUnavailableError(f"cannot open the knowledge store at {where}: {exc}") from exc
        stored = self._chunks_col.metadata or {}
        if stored.get("embedder") not in (None, embedder.name) or stored.get("dimension") not in (
            None,
            embedder.dimension,
        ):
            raise EmbedderMismatchError(
                f"the knowledge store at {where} was built with embedder {stored.get('embedder')!r} "
                f"({stored.get('dimension')} dims), not {embedder.name!r}: rebuild it with "
                "`sleuth knowledge ingest --rebuild`"
            )
        self._load_mirror()

    @classmethod
    def persistent(cls, directory: Path, embedder: Embedder, reset: bool = False) -> ChromaKnowledgeStore:
        import chromadb
        from chromadb.config import Settings

        directory.mkdir(parents=True, exist_ok=True)
        client = chromadb.PersistentClient(
            path=str(directory / "chroma"), settings=Settings(anonymized_telemetry=False)
        )
        return cls(client, embedder, remote=False, where=str(directory), reset=reset)

    @classmethod
    def connect(
        cls, host: str, port: int, embedder: Embedder, reset: bool = False, *, ssl: bool = False
    ) -> ChromaKnowledgeStore:
        import chromadb
        from chromadb.config import Settings

        where = f"{'https' if ssl else 'http'}://{host}:{port}"
        try:
            client = chromadb.HttpClient(
                host=host, port=port, ssl=ssl, settings=Settings(anonymized_telemetry=False)
            )
        except Exception as exc:  # connection refused, DNS, TLS... all mean the same to the user
            first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
            raise KnowledgeUnavailableError(f"cannot reach the Chroma server at {where}: {first}") from exc
        return cls(client, embedder, remote=True, where=where, reset=reset)

    def _load_mirror(self) -> None:
        with self._lock:
            self._chunks.clear()
            self._hashes.clear()
            self._documents.clear()
            self._lexical = type(self._lexical)()
            records = self._chunks_col.get(include=["documents", "metadatas"])
            chunks: list[Chunk] = []
            hashes: dict[str, str] = {}
            for chunk_id, text, meta in zip(
                records["ids"], records["documents"] or [], records["metadatas"] or [], strict=True
            ):
                chunk = _chunk_from_record(chunk_id, text or "", dict(meta or {}))
                chunks.append(chunk)
                hashes[chunk_id] = str((meta or {}).get("hash", ""))
            self._mirror(None, chunks, hashes)
            docs = self._docs_col.get(include=["documents"])
            for doc_id, raw in zip(docs["ids"], docs["documents"] or [], strict=True):
                try:
                    self._documents[doc_id] = _DOCUMENT.validate_json(raw or "")
                except ValidationError:
                    continue  # written by an older schema: search still works, get_document returns None

    def refresh(self) -> None:
        """Reload the in-memory mirror (another process may have written to a shared server)."""
        self._load_mirror()

    def _persist(self, doc: Document, chunks: list[Chunk], vectors: Vectors) -> None:
        if chunks:
            self._chunks_col.upsert(
                ids=[c.id for c in chunks],
                embeddings=[v.tolist() for v in vectors],
                documents=[c.text for c in chunks],
                metadatas=[_chunk_metadata(c) for c in chunks],
            )
        placeholder = np.zeros(self.embedder.dimension, dtype=np.float32)
        placeholder[0] = 1.0  # the document records are fetched by id, never searched
        self._docs_col.upsert(
            ids=[doc.id],
            embeddings=[placeholder.tolist()],
            documents=[doc.model_dump_json()],
            metadatas=[{"type": doc.type, "title": doc.title}],
        )

    def _persist_delete(self, doc_id: str, chunk_ids: list[str]) -> None:
        if chunk_ids:
            self._chunks_col.delete(ids=chunk_ids)
        self._docs_col.delete(ids=[doc_id])

    def search(
        self,
        query: str,
        *,
        type: DocumentType | str | None = None,
        service: str | None = None,
        fault_types: Sequence[str] | None = None,
        k: int = DEFAULT_K,
    ) -> list[SearchHit]:
        if self._remote and self._chunks_col.count() != self.chunk_count():
            self.refresh()  # another process wrote to the shared server
        return super().search(query, type=type, service=service, fault_types=fault_types, k=k)

    def _dense(
        self,
        vector: Vectors,
        allowed: set[str],
        type: DocumentType | None,
        service: str | None,
        fault_types: Sequence[str] | None,
        n: int,
    ) -> dict[str, float]:
        result = self._chunks_col.query(
            query_embeddings=[vector[0].tolist()],
            n_results=max(1, min(n, len(allowed))),
            where=_where(type, service, fault_types),
            include=["distances"],
        )
        ids = result["ids"][0] if result["ids"] else []
        distances = (result["distances"] or [[]])[0]
        return {cid: 1.0 - float(d) for cid, d in zip(ids, distances, strict=True) if cid in allowed}
