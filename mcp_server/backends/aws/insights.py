"""Logs Insights: the query strings the backend sends, the runner that starts and polls them, and
the parsing of their rows.

User text and regexes only ever reach a query inside a ``/regex/`` literal built by
:func:`regex_literal`, which escapes every ``/`` that would end it and keeps existing escapes as
they are, so a regex cannot close its literal and add commands of its own.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

from mcp_server.backends.aws.calls import ApiCaller
from mcp_server.backends.aws.errors import AwsApiUnavailableError
from mcp_server.backends.aws.log_events import LEVEL_WORDS
from mcp_server.backends.aws.pacing import InsightsPacer
from mcp_server.backends.base import LogQuery
from mcp_server.errors import QueryError
from mcp_server.telemetry import Severity, TimeWindow

_TERMINAL = {"Complete", "Failed", "Cancelled", "Timeout", "Unknown"}
_SEVERITY_WORDS = {
    Severity.TRACE: "TRACE",
    Severity.DEBUG: "DEBUG",
    Severity.INFO: "INFO",
    Severity.WARN: "WARN|WARNING",
    Severity.ERROR: "ERROR|ERR",
    Severity.FATAL: "FATAL|CRITICAL|CRIT|PANIC",
}
_SEVERITY_MIN_NUMBER = {
    Severity.TRACE: 1,
    Severity.DEBUG: 5,
    Severity.INFO: 9,
    Severity.WARN: 13,
    Severity.ERROR: 17,
    Severity.FATAL: 21,
}
_REGEX_META = frozenset(".^$*+?()[]{}|\\/")
_CONTROL = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}
# the level word of a plain-text line, as a field named ``level``
LEVEL_PARSE = "parse @message /(?i)\\b(?<level>" + "|".join(LEVEL_WORDS) + ")\\b/"
SEVERITY_FIELDS = "severity_number, severity_text, level"


# ---------------------------------------------------------------------------------- escaping


def regex_literal(pattern: str) -> str:
    """``pattern`` as an Insights ``/regex/`` literal.

    Every unescaped ``/`` is escaped, escape pairs already there are kept (``\\/`` stays one
    escaped slash, not a backslash and a closing slash), and line breaks are written as escapes.
    """
    out: list[str] = []
    i = 0
    while i < len(pattern):
        char = pattern[i]
        if char == "\\":
            if i + 1 == len(pattern):
                raise QueryError(f"bad regex {pattern!r}: it ends with a lone backslash")
            following = pattern[i + 1]
            out.append(_CONTROL.get(following, "\\" + following))  # an escaped line break: \n
            i += 2
            continue
        out.append("\\/" if char == "/" else _CONTROL.get(char, char))
        i += 1
    return "/" + "".join(out) + "/"


def text_regex(text: str) -> str:
    """A regex matching ``text`` literally (for the case-insensitive substring filter)."""
    return "".join("\\" + c if c in _REGEX_META else _CONTROL.get(c, c) for c in text)


# ------------------------------------------------------------------------------ query strings


def insights_filters(query: LogQuery) -> list[str]:
    """Insights ``filter`` clauses that keep a superset of the matching events."""
    clauses = []
    if query.text:
        clauses.append(f"@message like {regex_literal('(?i)' + text_regex(query.text))}")
    if query.regex and not any(c in query.regex for c in "^$"):
        clauses.append(f"@message like {regex_literal(query.regex)}")
    if query.trace_id:
        clauses.append(f"@message like {regex_literal(text_regex(query.trace_id.lower()))}")
    if query.min_severity is not None and query.min_severity != Severity.UNSPECIFIED:
        words = "|".join(w for s, w in _SEVERITY_WORDS.items() if s.rank >= query.min_severity.rank)
        number = _SEVERITY_MIN_NUMBER[query.min_severity]
        clauses.append(f"(severity_number >= {number} or @message like /(?i)\\b({words})\\b/)")
    return clauses


def search_query(query: LogQuery, limit: int) -> str:
    lines = ["fields @timestamp, @message, @log, @ptr"]
    lines += [f"filter {clause}" for clause in insights_filters(query)]
    lines.append(f"sort @timestamp {query.order}")
    lines.append(f"limit {limit}")
    return " | ".join(lines)


def counts_query(bucket_seconds: int) -> str:
    """Events per bucket, log group and severity (the OTel fields, else a level word)."""
    return (
        f"fields @timestamp, @log, severity_number, severity_text | {LEVEL_PARSE}"
        f" | stats count(*) as n by bin({bucket_seconds}s), @log, {SEVERITY_FIELDS}"
    )


def spread_query(bin_seconds: int, limit: int) -> str:
    """The first and last event of every bin, log group and severity: samples spread over the
    whole window (not its oldest events), with the number of events each stands for."""
    return (
        f"fields @timestamp, @message, @log, severity_number, severity_text | {LEVEL_PARSE}"
        " | stats count(*) as n, earliest(@message) as first, min(@timestamp) as first_at,"
        " latest(@message) as last, max(@timestamp) as last_at"
        f" by bin({bin_seconds}s), @log, {SEVERITY_FIELDS} | limit {limit}"
    )


def pattern_query(limit: int) -> str:
    """Insights' own clustering of every event of the window, each line led by its log group."""
    return (
        f'fields concat(@log, " ", @message) as line | pattern line | sort @sampleCount desc | limit {limit}'
    )


# ------------------------------------------------------------------------------------- rows


def row_time(row: dict[str, str], field: str) -> datetime:
    """A timestamp field of a row (``2026-03-10 17:59:00.000`` or epoch milliseconds)."""
    value = row.get(field)
    if value is None:
        raise QueryError(f"Logs Insights returned a row without {field}: {sorted(row)}")
    try:
        if value.replace(".", "", 1).isdigit():
            return datetime.fromtimestamp(float(value) / 1000, tz=UTC)
        return datetime.strptime(value, "%Y-%m-%d %H:%M:%S.%f").replace(tzinfo=UTC)
    except (ValueError, OverflowError):
        raise QueryError(f"Logs Insights returned {field}={value!r}, which is not a time") from None


def row_number(row: dict[str, str], field: str) -> float:
    value = row.get(field)
    try:
        return float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise QueryError(f"Logs Insights returned {field}={value!r}, which is not a number") from None


def row_group(row: dict[str, str]) -> str:
    """The log group name of a row's ``@log`` (``account:name``)."""
    return row.get("@log", "").rsplit(":", 1)[-1]


# ----------------------------------------------------------------------------------- runner


class InsightsRunner:
    """StartQuery (paced), then GetQueryResults until done; StopQuery when the query's own timeout
    or the call's deadline passes, whichever is first."""

    def __init__(self, client: Any, calls: ApiCaller, pacer: InsightsPacer) -> None:
        self._client = client
        self._calls = calls
        self._pacer = pacer
        self.started = 0  # queries started (for notes and benchmarks)
        self.bytes_scanned = 0.0

    def run(
        self, query_string: str, log_groups: list[str], window: TimeWindow, limit: int
    ) -> list[dict[str, str]]:
        """Rows of one query over ``window`` (whole seconds: the start floored, the end exclusive)."""
        config = self._calls.config
        deadline = self._calls.deadline()
        start_s = int(window.start.timestamp())
        end_s = max(start_s + 1, -int(-window.end.timestamp() // 1))  # ceiling
        with self._pacer.slot(deadline):
            started = self._calls.call(
                "logs:StartQuery",
                self._client.start_query,
                logGroupNames=log_groups,
                startTime=start_s,
                endTime=end_s - 1,  # inclusive: the last whole second of the window
                queryString=query_string,
                limit=limit,
            )
            self.started += 1
            query_id = started["queryId"]
            gives_up = min(self._calls.clock() + config.insights_timeout_seconds, deadline.expiry)
            try:
                response = self._poll(query_id, gives_up)
            except AwsApiUnavailableError as exc:
                if not getattr(exc, "query_stopped", False):  # e.g. GetQueryResults throttled
                    self._stop(query_id)
                raise
        status = response.get("status")
        if status != "Complete":
            raise AwsApiUnavailableError(
                "logs:GetQueryResults", "failed", f"Logs Insights query ended {status}"
            )
        self.bytes_scanned += float((response.get("statistics") or {}).get("bytesScanned") or 0.0)
        rows = []
        for row in response.get("results") or []:
            try:
                rows.append({str(f["field"]): str(f.get("value", "")) for f in row})
            except (KeyError, TypeError):
                raise QueryError(f"Logs Insights returned a malformed row: {row!r}") from None
        return rows

    def _poll(self, query_id: str, gives_up: float) -> dict[str, Any]:
        config = self._calls.config
        while True:
            response: dict[str, Any] = self._calls.call(
                "logs:GetQueryResults", self._client.get_query_results, queryId=query_id
            )
            if response.get("status") in _TERMINAL:
                return response
            waited = config.insights_timeout_seconds
            if self._calls.clock() + config.insights_poll_seconds > gives_up:
                stopped_by = (
                    f"did not finish within its {waited:g}s timeout"
                    if gives_up < self._calls.deadline().expiry
                    else f"was still running at the {self._calls.deadline().budget:.3g}s deadline of this call"
                )
                self._stop(query_id)
                error = AwsApiUnavailableError(
                    "logs:GetQueryResults", "timeout", f"a Logs Insights query {stopped_by} and was stopped"
                )
                error.query_stopped = True  # type: ignore[attr-defined]
                raise error
            self._calls.sleep(config.insights_poll_seconds)

    def _stop(self, query_id: str) -> None:
        """Stop a query we no longer wait for (once, even past the deadline: it still bills)."""
        try:
            self._calls.call_once("logs:StopQuery", self._client.stop_query, queryId=query_id)
        except QueryError as exc:  # already finished, or StopQuery itself refused: say so
            self._calls.notes.add("logs", f"could not stop Logs Insights query {query_id}: {exc}")


def chunks(window: TimeWindow, seconds: int, newest_first: bool) -> list[TimeWindow]:
    """``window`` cut into chunks of ``seconds`` on whole-second boundaries, so adjacent chunks
    never share a second (Insights ranges are whole seconds)."""
    start = int(window.start.timestamp())
    end = max(start + 1, -int(-window.end.timestamp() // 1))
    edges = [*list(range(start, end, seconds)), end]
    parts = [
        TimeWindow(
            start=max(window.start, datetime.fromtimestamp(a, tz=UTC)),
            end=min(window.end, datetime.fromtimestamp(b, tz=UTC)),
        )
        for a, b in itertools.pairwise(edges)
    ]
    return parts[::-1] if newest_first else parts


def iter_rows(rows: list[dict[str, str]], seen: set[str]) -> Iterator[dict[str, str]]:
    """Rows not returned before (by ``@ptr``, Insights' unique record pointer, when present)."""
    for row in rows:
        pointer = row.get("@ptr")
        if pointer:
            if pointer in seen:
                continue
            seen.add(pointer)
        yield row
