"""What the knowledge base raises. Each is a :class:`~mcp_server.errors.SleuthError`, so the CLI and
the MCP tools report it as one line."""

from __future__ import annotations

from mcp_server.errors import BackendUnavailableError, QueryError, SleuthError


class KnowledgeQueryError(QueryError):
    """A search the store cannot answer as asked: an empty query, k < 1, an unknown document type."""


class KnowledgeUnavailableError(BackendUnavailableError):
    """The store cannot be opened or reached (a broken directory, a Chroma server that is down)."""


class EmbedderMismatchError(SleuthError):
    """The stored vectors were made by another embedder; mixing the two spaces would rank nonsense."""


class EmbeddingError(SleuthError):
    """The embedding model could not be loaded or exported."""
