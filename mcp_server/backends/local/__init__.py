"""The embedded local backend (DuckDB) and its OTLP/JSON importer."""

from mcp_server.backends.local.backend import LocalBackend
from mcp_server.backends.local.importer import ImportSummary, read_scenario

__all__ = ["ImportSummary", "LocalBackend", "read_scenario"]
