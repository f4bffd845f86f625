"""Opening the persistent knowledge store: chromadb (embedded or a server), bundled documents synced.

store = open_store()                      # .data/knowledge, bundled SOPs and COEs ingested if empty
hits = store.search("visits 5xx ProvisionedThroughputExceededException", type="sop", k=3)
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from knowledge.base import KnowledgeStore
from knowledge.chroma_store import ChromaKnowledgeStore
from knowledge.embeddings import Embedder, default_embedder
from knowledge.errors import KnowledgeUnavailableError
from knowledge.ingest import sync_bundled_documents
from mcp_server.config import data_dir


def _warm_up(embedder: Embedder) -> None:
    try:
        embedder.embed(["warm up"])
    except Exception:  # a real failure (model missing) is raised again, with context, by the first search
        return


CHROMA_URL_ENV = "SLEUTH_CHROMA_URL"


@dataclass(frozen=True)
class ChromaServer:
    host: str
    port: int
    ssl: bool = False

    @property
    def url(self) -> str:
        return f"{'https' if self.ssl else 'http'}://{self.host}:{self.port}"


def chroma_server_from_url(url: str) -> ChromaServer:
    """``http://host:port`` (or https) as a Chroma server; anything else is one clear error."""
    problem = f"{CHROMA_URL_ENV}={url!r}: expected http://host:port (or https://host:port) of a Chroma server"
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError:
        raise KnowledgeUnavailableError(problem) from None
    if parts.scheme not in ("http", "https") or not parts.hostname or parts.path not in ("", "/"):
        raise KnowledgeUnavailableError(problem)
    ssl = parts.scheme == "https"
    return ChromaServer(parts.hostname, port or (443 if ssl else 8000), ssl)


def chroma_server(host: str | None = None, port: int | None = None) -> ChromaServer | None:
    """The Chroma server to use: the arguments, else ``SLEUTH_CHROMA_URL``, else
    ``SLEUTH_CHROMA_HOST``/``SLEUTH_CHROMA_PORT``; None for the embedded store."""
    if host:
        return ChromaServer(host, port or 8000)
    url = os.environ.get(CHROMA_URL_ENV, "").strip()
    if url:
        return chroma_server_from_url(url)
    host = os.environ.get("SLEUTH_CHROMA_HOST") or None
    if host:
        return ChromaServer(host, port or int(os.environ.get("SLEUTH_CHROMA_PORT") or 8000))
    return None


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

    The server comes from the arguments, ``SLEUTH_CHROMA_URL`` (``http://host:port``) or
    ``SLEUTH_CHROMA_HOST``/``SLEUTH_CHROMA_PORT`` (:func:`chroma_server`). With
    ``auto_ingest`` the bundled SOPs and COEs are ingested when the store is empty or when the bundled
    files changed since the last ingest (unchanged sections are not re-embedded). ``reset`` drops the
    stored collections first (to rebuild, e.g. with another embedder).
    """
    server = chroma_server(host, port)  # a bad SLEUTH_CHROMA_URL fails before any model loads
    embedder = embedder or default_embedder()
    # Load the model while chromadb imports and opens (the two largest parts of a cold start).
    threading.Thread(target=_warm_up, args=(embedder,), name="embedder-warm-up", daemon=True).start()

    directory = Path(data_dir) if data_dir is not None else default_data_dir()
    if server is not None:
        store = ChromaKnowledgeStore.connect(server.host, server.port, embedder, reset=reset, ssl=server.ssl)
    else:
        store = ChromaKnowledgeStore.persistent(directory, embedder, reset=reset)
    if auto_ingest:
        sync_bundled_documents(store, state_dir=None if server is not None else directory)
    return store
