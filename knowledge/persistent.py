"""Opening the persistent knowledge store: chromadb (embedded or a server), bundled documents synced.

store = open_store()                      # .data/knowledge, bundled SOPs and COEs ingested if empty
hits = store.search("visits 5xx ProvisionedThroughputExceededException", type="sop", k=3)
"""

from __future__ import annotations

import os
import threading
from pathlib import Path

from knowledge.base import KnowledgeStore
from knowledge.chroma_store import ChromaKnowledgeStore
from knowledge.embeddings import Embedder, default_embedder
from knowledge.ingest import sync_bundled_documents
from mcp_server.config import data_dir


def _warm_up(embedder: Embedder) -> None:
    try:
        embedder.embed(["warm up"])
    except Exception:  # a real failure (model missing) is raised again, with context, by the first search
        return


def default_data_dir() -> Path:
    """``$SLEUTH_DATA_DIR/knowledge``, or ``.data/knowledge`` under the working directory."""
    return data_dir() / "knowledge"


def open_store(
    data_dir: Path | str | None = None,
    *,
    host: str | None = None,
    port: int | None = None,
    embedder: Embedder | None = None,
    auto_ingest: bool = True,
    reset: bool = False,
) -> KnowledgeStore:
    """Open the chromadb-backed store (embedded under ``data_dir``, or a Chroma server at host:port).

    The server comes from the arguments or ``SLEUTH_CHROMA_HOST``/``SLEUTH_CHROMA_PORT``. With
    ``auto_ingest`` the bundled SOPs and COEs are ingested when the store is empty or when the bundled
    files changed since the last ingest (unchanged sections are not re-embedded). ``reset`` drops the
    stored collections first (to rebuild, e.g. with another embedder).
    """
    embedder = embedder or default_embedder()
    # Load the model while chromadb imports and opens (the two largest parts of a cold start).
    threading.Thread(target=_warm_up, args=(embedder,), name="embedder-warm-up", daemon=True).start()

    host = host or os.environ.get("SLEUTH_CHROMA_HOST") or None
    if host and port is None:
        port = int(os.environ.get("SLEUTH_CHROMA_PORT") or 8000)
    directory = Path(data_dir) if data_dir is not None else default_data_dir()
    if host:
        store = ChromaKnowledgeStore.connect(host, port or 8000, embedder, reset=reset)
    else:
        store = ChromaKnowledgeStore.persistent(directory, embedder, reset=reset)
    if auto_ingest:
        sync_bundled_documents(store, state_dir=None if host else directory)
    return store
