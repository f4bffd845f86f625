"""A fake CloudWatch Logs Insights: StartQuery, GetQueryResults and StopQuery over stored events.

The query language itself lives in ``insights_query``.
"""

from __future__ import annotations

import itertools
import threading
from collections import defaultdict
from typing import Any

from mcp_server.backends.aws.testing.insights_query import (
    StoredEvent,
    malformed,
    run_query,
    split_commands,
)
from mcp_server.backends.aws.testing.responders import AwsErrorResponse, Responders

__all__ = ["FakeInsights", "StoredEvent"]


class FakeInsights:
    """StartQuery / GetQueryResults / StopQuery over stored events.

    ``running_polls`` GetQueryResults calls answer Running before Complete, so the backend's
    polling loop is exercised; ``never_finish`` keeps a query Running forever (timeouts).
    ``unsupported`` names commands answered with MalformedQueryException (``pattern`` on an
    Infrequent Access log group, for instance).
    """

    def __init__(self, running_polls: int = 1) -> None:
        self.events: dict[str, list[StoredEvent]] = defaultdict(list)
        self.queries: dict[str, dict[str, Any]] = {}
        self.running_polls = running_polls
        self.never_finish = False
        self.unsupported: set[str] = set()
        self.stopped: list[str] = []
        self.started: list[dict[str, Any]] = []
        self.running = 0
        self.most_running = 0
        self._ids = itertools.count(1)
        self._lock = threading.Lock()

    def add(self, group: str, timestamp_ms: int, message: str) -> None:
        events = self.events[group]
        events.append(StoredEvent(timestamp_ms, message, group, pointer=f"{group}#{len(events)}"))

    def attach(self, responders: Responders) -> None:
        responders.on("StartQuery", self._start).on("GetQueryResults", self._results).on(
            "StopQuery", self._stop
        )

    def _start(self, params: dict[str, Any]) -> dict[str, Any]:
        groups = list(params.get("logGroupNames") or [])
        missing = [g for g in groups if g not in self.events]
        if missing:
            raise AwsErrorResponse("ResourceNotFoundException", f"Log group {missing[0]} does not exist")
        query = str(params["queryString"])
        for command in split_commands(query):
            if command.partition(" ")[0] in self.unsupported:
                raise malformed(f"{command.partition(' ')[0]} is not supported for these log groups")
        start_ms, end_ms = int(params["startTime"]) * 1000, (int(params["endTime"]) + 1) * 1000
        selected = [e for g in groups for e in self.events[g] if start_ms <= e.timestamp_ms < end_ms]
        results = run_query(selected, query)[: int(params.get("limit") or 10_000)]
        with self._lock:  # the engine queries from several threads
            query_id = f"q-{next(self._ids)}"
            self.queries[query_id] = {"results": results, "polls": 0, "scanned": len(selected), "done": False}
            self.started.append(params)
            self.running += 1
            self.most_running = max(self.most_running, self.running)
        return {"queryId": query_id}

    def _results(self, params: dict[str, Any]) -> dict[str, Any]:
        query = self.queries.get(str(params["queryId"]))
        if query is None:
            raise AwsErrorResponse("ResourceNotFoundException", "unknown query id")
        with self._lock:
            query["polls"] += 1
        if self.never_finish or query["polls"] <= self.running_polls:
            return {"status": "Running", "results": []}
        self._finish(query)
        return {
            "status": "Complete",
            "results": query["results"],
            "statistics": {
                "recordsMatched": float(len(query["results"])),
                "recordsScanned": float(query["scanned"]),
                "bytesScanned": float(query["scanned"] * 200),
            },
        }

    def _finish(self, query: dict[str, Any]) -> None:
        with self._lock:
            if not query["done"]:
                query["done"] = True
                self.running -= 1

    def _stop(self, params: dict[str, Any]) -> dict[str, Any]:
        self.stopped.append(str(params["queryId"]))
        query = self.queries.get(str(params["queryId"]))
        if query is not None:
            self._finish(query)
        return {"success": True}
