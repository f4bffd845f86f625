"""The DuckDB connection the local backend's query modules share, and their SQL helpers.

Each query uses its own cursor, so the backend can serve the investigation graph's parallel
branches from several threads. The service list is read once and kept until the next import.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import Any

import duckdb

from mcp_server.errors import QueryError, SleuthError, UnknownServiceError
from mcp_server.telemetry import SloDefinition, TimeWindow


class Database:
    def __init__(self, con: duckdb.DuckDBPyConnection) -> None:
        self.con = con
        # Every query with a service filter checks the name: keep the list between imports.
        self._services: list[str] | None = None
        # queries running on other threads (an MCP server's warm-up, abandoned tool calls): stop()
        # interrupts them and waits, since DuckDB aborts the process when a connection closes
        # under a running query
        self._running: set[duckdb.DuckDBPyConnection] = set()
        self._running_changed = threading.Condition()
        self._closed = False

    def fetchall(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        with self._running_changed:
            if self._closed:
                raise SleuthError("the local store is closed")
            cursor = self.con.cursor()
            self._running.add(cursor)
        try:
            return cursor.execute(sql, list(params)).fetchall()
        except duckdb.InvalidInputException as exc:
            raise QueryError(str(exc).split("\n")[0]) from None
        except duckdb.InterruptException:
            raise SleuthError("the query was interrupted: the local store is closing") from None
        finally:
            with self._running_changed:  # out of the running set first: interrupt() never sees it closed
                self._running.discard(cursor)
                self._running_changed.notify_all()
            cursor.close()

    def interrupt(self) -> None:
        """Abort the queries running now (each raises in its thread); later queries run as usual."""
        with self._running_changed:
            for cursor in self._running:
                cursor.interrupt()

    def stop(self) -> bool:
        """Refuse new queries, interrupt the running ones and wait for them to unwind. False when
        already stopped (the connection is closed once)."""
        with self._running_changed:
            if self._closed:
                return False
            self._closed = True
            for cursor in self._running:
                cursor.interrupt()
            self._running_changed.wait_for(lambda: not self._running, timeout=30)
        return True

    def fetchone(self, sql: str, params: Sequence[Any] = ()) -> tuple[Any, ...] | None:
        rows = self.fetchall(sql, params)
        return rows[0] if rows else None

    def forget(self) -> None:
        """Drop what was read once: the data changed (an import)."""
        self._services = None

    def slo_definitions(self) -> list[SloDefinition]:
        rows = self.fetchall("SELECT document FROM slos ORDER BY name")
        return [SloDefinition.model_validate_json(r[0]) for r in rows]

    def services(self) -> list[str]:
        if self._services is None:
            rows = self.fetchall(
                "SELECT DISTINCT service FROM spans UNION SELECT DISTINCT service FROM logs "
                "UNION SELECT DISTINCT service FROM metrics UNION SELECT DISTINCT service FROM changes"
            )
            services = {row[0] for row in rows if row[0] is not None}
            services.update(slo.service for slo in self.slo_definitions())
            self._services = sorted(services)
        return list(self._services)

    def check_service(self, service: str | None) -> None:
        if service is None:
            return
        known = self.services()
        if service not in known:
            raise UnknownServiceError(service, known)

    def filters(
        self, time_column: str, window: TimeWindow | None, service: str | None
    ) -> tuple[list[str], list[Any]]:
        """WHERE clauses (and their parameters) for a time window and an optional known service."""
        self.check_service(service)
        where: list[str] = []
        params: list[Any] = []
        window_clause(time_column, window, where, params)
        if service is not None:
            where.append("service = ?")
            params.append(service)
        return where, params


def window_clause(column: str, window: TimeWindow | None, where: list[str], params: list[Any]) -> None:
    if window is not None:
        where.append(f"{column} >= ? AND {column} < ?")
        params.extend([window.start_ns, window.end_ns])


def where_sql(clauses: list[str]) -> str:
    return "WHERE " + " AND ".join(clauses) if clauses else ""


def json_path(key: str) -> str:
    return '$."' + key.replace('"', '\\"') + '"'


def attr_expr(key: str) -> str:
    """A data point attribute, falling back to the resource attribute of the same key."""
    return "coalesce(json_extract_string(attributes, ?), json_extract_string(resource, ?))"
