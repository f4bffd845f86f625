"""CloudWatch Logs: Logs Insights for searches and counts, FilterLogEvents for short plain reads.

Messages are read in the JSON shape the OpenTelemetry CloudWatch Logs exporter writes
(``body``, ``severity_number``, ``severity_text``, ``trace_id``, ``span_id``, ``attributes``,
``resource``); other messages are plain text whose severity is read from a level word.

Cost: Insights bills per GB scanned. Every query is limited to ``insights_max_window_seconds``
(the most recent part of a wider window) and ``insights_max_log_groups`` log groups, wide
windows are split into ``insights_chunk_seconds`` chunks that stop as soon as enough rows are
found, and every cut is written to the backend's notes.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from mcp_server.backends.aws.clients import paginate
from mcp_server.backends.aws.config import AwsBackendConfig
from mcp_server.backends.aws.errors import AwsApiUnavailableError, aws_errors
from mcp_server.backends.aws.notes import NoteBook
from mcp_server.backends.base import LogCountBucket, LogGroup, LogQuery
from mcp_server.errors import QueryError
from mcp_server.telemetry import LogRecord, Severity, TimeWindow, from_nanos

Clock = Callable[[], float]
Sleeper = Callable[[float], None]

_LEVEL_WORD = re.compile(r"\b(TRACE|DEBUG|INFO|WARN(?:ING)?|ERROR|ERR|FATAL|CRITICAL|CRIT|PANIC)\b", re.I)
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
_TERMINAL = {"Complete", "Failed", "Cancelled", "Timeout", "Unknown"}


# ------------------------------------------------------------------------------------ parsing


def parse_event(message: str, timestamp_ms: int, service: str) -> LogRecord:
    """A CloudWatch log event as a LogRecord (JSON exporter shape, or plain text)."""
    time_ns = int(timestamp_ms) * 1_000_000
    data: dict[str, Any] | None = None
    if message.startswith("{"):
        try:
            loaded = json.loads(message)
        except ValueError:
            loaded = None
        if isinstance(loaded, dict) and "body" in loaded:
            data = loaded
    if data is None:
        match = _LEVEL_WORD.search(message[:200])
        severity = Severity.from_text(match.group(1)) if match else Severity.UNSPECIFIED
        return LogRecord(
            time_unix_nano=time_ns,
            service=service,
            severity=severity,
            severity_text=match.group(1) if match else "",
            body=message,
        )
    number = int(data.get("severity_number") or 0)
    text = str(data.get("severity_text") or "")
    severity = Severity.from_number(number) if number else Severity.from_text(text)
    raw_resource, raw_attributes = data.get("resource"), data.get("attributes")
    resource: dict[str, Any] = raw_resource if isinstance(raw_resource, dict) else {}
    attributes: dict[str, Any] = raw_attributes if isinstance(raw_attributes, dict) else {}
    body = data.get("body")
    return LogRecord(
        time_unix_nano=time_ns,
        service=str(resource.get("service.name") or service),
        severity=severity,
        severity_number=number,
        severity_text=text,
        body=body if isinstance(body, str) else json.dumps(body),
        trace_id=str(data["trace_id"]).lower() if data.get("trace_id") else None,
        span_id=str(data["span_id"]).lower() if data.get("span_id") else None,
        attributes=attributes or {},
        resource=resource or {},
        flags=int(data.get("flags") or 0),
    )


def matches(record: LogRecord, query: LogQuery, pattern: re.Pattern[str] | None) -> bool:
    """The exact LogQuery filter (Insights and FilterLogEvents only pre-filter)."""
    if query.window is not None and not (
        query.window.start_ns <= record.time_unix_nano < query.window.end_ns
    ):
        return False
    if query.service is not None and record.service != query.service:
        return False
    if query.min_severity is not None and record.severity.rank < query.min_severity.rank:
        return False
    if query.text and query.text.lower() not in record.body.lower():
        return False
    if pattern is not None and not pattern.search(record.body):
        return False
    return not (query.trace_id and (record.trace_id or "") != query.trace_id.lower())


def compile_regex(regex: str | None) -> re.Pattern[str] | None:
    if not regex:
        return None
    try:
        return re.compile(regex)
    except re.error as exc:
        raise QueryError(f"bad regex {regex!r}: {exc}") from None


# ------------------------------------------------------------------------------ query strings


def _slashes(pattern: str) -> str:
    return pattern.replace("/", "\\/")


def insights_filters(query: LogQuery) -> list[str]:
    """Insights ``filter`` clauses that keep a superset of the matching events."""
    clauses = []
    if query.text:
        clauses.append(f"@message like /(?i){_slashes(re.escape(query.text))}/")
    if query.regex and not any(c in query.regex for c in "^$"):
        clauses.append(f"@message like /{_slashes(query.regex)}/")
    if query.trace_id:
        clauses.append(f"@message like /{re.escape(query.trace_id.lower())}/")
    if query.min_severity is not None and query.min_severity != Severity.UNSPECIFIED:
        words = "|".join(w for s, w in _SEVERITY_WORDS.items() if s.rank >= query.min_severity.rank)
        number = _SEVERITY_MIN_NUMBER[query.min_severity]
        clauses.append(f"(severity_number >= {number} or @message like /(?i)\\b({words})\\b/)")
    return clauses


def search_query(query: LogQuery, limit: int) -> str:
    lines = ["fields @timestamp, @message, @log"]
    lines += [f"filter {clause}" for clause in insights_filters(query)]
    lines.append(f"sort @timestamp {query.order}")
    lines.append(f"limit {limit}")
    return " | ".join(lines)


def counts_query(bucket_seconds: int) -> str:
    return (
        "fields @timestamp, @log, severity_number, severity_text"
        f" | stats count(*) as n by bin({bucket_seconds}s), @log, severity_number, severity_text"
    )


# ---------------------------------------------------------------------------------- insights


class InsightsRunner:
    """StartQuery, then GetQueryResults until done; StopQuery when our timeout passes.

    ``clock`` and ``sleep`` are injected so tests poll without waiting.
    """

    def __init__(
        self,
        client: Any,
        config: AwsBackendConfig,
        notes: NoteBook,
        clock: Clock = time.monotonic,
        sleep: Sleeper = time.sleep,
    ) -> None:
        self._client = client
        self._config = config
        self._notes = notes
        self._clock = clock
        self._sleep = sleep

    def run(
        self, query_string: str, log_groups: list[str], start: datetime, end: datetime, limit: int
    ) -> list[dict[str, str]]:
        with aws_errors("logs:StartQuery"):
            started = self._client.start_query(
                logGroupNames=log_groups,
                startTime=int(start.timestamp()),
                endTime=max(int(start.timestamp()) + 1, int(end.timestamp() - 0.001)),
                queryString=query_string,
                limit=limit,
            )
        query_id = started["queryId"]
        deadline = self._clock() + self._config.insights_timeout_seconds
        while True:
            with aws_errors("logs:GetQueryResults"):
                response = self._client.get_query_results(queryId=query_id)
            status = response.get("status")
            if status in _TERMINAL:
                break
            if self._clock() >= deadline:
                with aws_errors("logs:StopQuery"):
                    self._client.stop_query(queryId=query_id)
                raise AwsApiUnavailableError(
                    "logs:GetQueryResults",
                    "timeout",
                    f"Logs Insights query did not finish within {self._config.insights_timeout_seconds:g}s "
                    "and was stopped",
                )
            self._sleep(self._config.insights_poll_seconds)
        if status != "Complete":
            raise AwsApiUnavailableError(
                "logs:GetQueryResults", "failed", f"Logs Insights query ended {status}"
            )
        statistics = response.get("statistics") or {}
        if statistics.get("bytesScanned"):
            self._notes.add(
                "logs", "Logs Insights scanned data (billed per GB); see query statistics in the log"
            )
        return [{f["field"]: f.get("value", "") for f in row} for row in response.get("results") or []]


def parse_insights_time(value: str) -> datetime:
    return datetime.strptime(value, "%Y-%m-%d %H:%M:%S.%f").replace(tzinfo=UTC)


# ------------------------------------------------------------------------------------ reader


class LogReader:
    def __init__(
        self,
        client: Any,
        config: AwsBackendConfig,
        notes: NoteBook,
        groups_for: Callable[[str | None], list[tuple[str, str]]],
        now: Callable[[], datetime],
        clock: Clock = time.monotonic,
        sleep: Sleeper = time.sleep,
    ) -> None:
        """``groups_for(service)`` lists (log group, service) pairs to read; None means every service."""
        self._client = client
        self._config = config
        self._notes = notes
        self._groups_for = groups_for
        self._now = now
        self.insights = InsightsRunner(client, config, notes, clock, sleep)

    def _groups(self, service: str | None) -> list[tuple[str, str]]:
        pairs = self._groups_for(service)
        cap = self._config.insights_max_log_groups
        if len(pairs) > cap:
            self._notes.add(
                "logs",
                f"read {cap} of {len(pairs)} log groups (insights_max_log_groups={cap}); "
                "name a service to read its own groups",
            )
            pairs = pairs[:cap]
        return pairs

    def _window(self, window: TimeWindow | None) -> TimeWindow:
        if window is None:
            end = self._now()
            return TimeWindow(start=end - timedelta(seconds=self._config.default_lookback_seconds), end=end)
        cap = timedelta(seconds=self._config.insights_max_window_seconds)
        if window.duration > cap:
            self._notes.add(
                "logs",
                f"log window {window.start.isoformat()}..{window.end.isoformat()} cut to its last "
                f"{cap.total_seconds() / 3600:g}h (insights_max_window_seconds) to bound Logs Insights cost",
            )
            return TimeWindow(start=window.end - cap, end=window.end)
        return window

    def _chunks(self, window: TimeWindow, newest_first: bool) -> list[TimeWindow]:
        step = timedelta(seconds=self._config.insights_chunk_seconds)
        chunks = []
        start = window.start
        while start < window.end:
            chunks.append(TimeWindow(start=start, end=min(window.end, start + step)))
            start += step
        return chunks[::-1] if newest_first else chunks

    # ----------------------------------------------------------------------------- search

    def query(self, query: LogQuery) -> list[LogRecord]:
        pattern = compile_regex(query.regex)
        pairs = self._groups(query.service)
        if not pairs:
            self._notes.add(
                "logs",
                f"no log groups configured for {query.service or 'any service'}; set log_groups or "
                "log_group_template in the AWS backend config",
            )
            return []
        simple = (
            query.window is not None
            and query.window.duration.total_seconds() <= self._config.filter_max_window_seconds
            and not query.regex
            and query.min_severity is None
        )
        records = self._filter_events(query, pairs) if simple else self._insights_search(query, pairs)
        kept = [r for r in records if matches(r, query, pattern)]
        kept.sort(key=lambda r: r.time_unix_nano, reverse=query.order == "desc")
        return kept[: query.limit]

    def _filter_events(self, query: LogQuery, pairs: list[tuple[str, str]]) -> list[LogRecord]:
        assert query.window is not None
        records: list[LogRecord] = []
        scanned = 0
        budget = self._config.filter_max_events
        for group, service in pairs:
            with aws_errors("logs:FilterLogEvents"):
                for event in paginate(
                    self._client,
                    "filter_log_events",
                    "events",
                    budget - scanned,
                    logGroupName=group,
                    startTime=query.window.start_ns // 1_000_000,
                    endTime=(query.window.end_ns - 1) // 1_000_000,
                ):
                    scanned += 1
                    records.append(
                        parse_event(str(event.get("message", "")), int(event["timestamp"]), service)
                    )
            if scanned >= budget:
                self._notes.add(
                    "logs",
                    f"FilterLogEvents stopped after {budget} events (filter_max_events); narrow the window",
                )
                break
        return records

    def _insights_search(self, query: LogQuery, pairs: list[tuple[str, str]]) -> list[LogRecord]:
        window = self._window(query.window)
        service_of = dict(pairs)
        groups = list(service_of)
        exact = not (query.regex and any(c in query.regex for c in "^$"))
        rows_wanted = query.limit if exact else self._config.insights_max_rows
        rows_wanted = min(rows_wanted, self._config.insights_max_rows)
        records: list[LogRecord] = []
        pattern = compile_regex(query.regex)
        for chunk in self._chunks(window, newest_first=query.order == "desc"):
            rows = self.insights.run(
                search_query(query, rows_wanted), groups, chunk.start, chunk.end, rows_wanted
            )
            for row in rows:
                timestamp = parse_insights_time(row["@timestamp"])
                service = service_of.get(row.get("@log", "").split(":")[-1], pairs[0][1])
                record = parse_event(row.get("@message", ""), int(timestamp.timestamp() * 1000), service)
                if matches(record, query, pattern):
                    records.append(record)
            if len(rows) >= rows_wanted and rows_wanted == self._config.insights_max_rows:
                self._notes.add(
                    "logs", f"a Logs Insights query hit its {rows_wanted}-row limit; results may be partial"
                )
            if len(records) >= query.limit:
                break
        return records

    # ----------------------------------------------------------------------------- groups

    def events(self, window: TimeWindow, service: str | None) -> list[LogRecord]:
        """Every event of the window up to ``log_group_max_events`` (Insights has no regex
        replace, so bodies are masked here); chunks that hit the row limit are split in half."""
        pairs = self._groups(service)
        if not pairs:
            return []
        window = self._window(window)
        service_of = dict(pairs)
        budget = self._config.log_group_max_events
        rows_cap = self._config.insights_max_rows
        query = f"fields @timestamp, @message, @log | sort @timestamp asc | limit {rows_cap}"
        records: list[LogRecord] = []
        pending = self._chunks(window, newest_first=False)[::-1]
        while pending and len(records) < budget:
            chunk = pending.pop()
            rows = self.insights.run(query, list(service_of), chunk.start, chunk.end, rows_cap)
            if len(rows) >= rows_cap and chunk.duration > timedelta(seconds=2):
                middle = chunk.start + timedelta(seconds=int(chunk.duration.total_seconds() // 2))
                pending += [
                    TimeWindow(start=middle, end=chunk.end),
                    TimeWindow(start=chunk.start, end=middle),
                ]
                continue
            for row in rows:
                stamp = int(parse_insights_time(row["@timestamp"]).timestamp() * 1000)
                svc = service_of.get(row.get("@log", "").split(":")[-1], pairs[0][1])
                record = parse_event(row.get("@message", ""), stamp, svc)
                if window.start_ns <= record.time_unix_nano < window.end_ns:
                    records.append(record)
        if pending or len(records) > budget:
            self._notes.add(
                "logs",
                f"log patterns counted over the first {min(len(records), budget)} events of the window "
                "(log_group_max_events); counts are lower bounds",
            )
        return records[:budget]

    def groups(
        self, window: TimeWindow, service: str | None, limit: int, sample_rows: int | None = None
    ) -> list[LogGroup]:
        """Masked-body groups; with ``sample_rows``, lines below WARN are thinned evenly to about
        that many and their counts scaled (warnings and errors are always counted exactly)."""
        records = [r for r in self.events(window, service) if service is None or r.service == service]
        weighted = [(r, 1.0) for r in records if r.severity.rank >= Severity.WARN.rank]
        low = [r for r in records if r.severity.rank < Severity.WARN.rank]
        if sample_rows is not None and len(low) > sample_rows > 0:
            step = len(low) / sample_rows
            weighted += [(low[int(i * step)], step) for i in range(sample_rows)]
        else:
            weighted += [(r, 1.0) for r in low]
        grouped: dict[tuple[str, Severity, str], list[tuple[LogRecord, float]]] = {}
        for record, weight in weighted:
            grouped.setdefault((record.service, record.severity, mask_body(record.body)), []).append(
                (record, weight)
            )
        groups = [
            LogGroup(
                service=svc,
                severity=severity,
                pattern=pattern,
                sample=members[0][0].body,
                count=round(sum(w for _, w in members)),
                first_seen=from_nanos(min(r.time_unix_nano for r, _ in members)),
                last_seen=from_nanos(max(r.time_unix_nano for r, _ in members)),
            )
            for (svc, severity, pattern), members in grouped.items()
        ]
        groups.sort(key=lambda g: (-g.count, g.service, g.pattern))
        return groups[:limit]

    # ----------------------------------------------------------------------------- counts

    def counts(self, window: TimeWindow, bucket_seconds: int, service: str | None) -> list[LogCountBucket]:
        pairs = self._groups(service)
        if not pairs:
            return []
        window = self._window(window)
        service_of = dict(pairs)
        totals: dict[tuple[int, str, Severity], int] = {}
        for chunk in self._chunks(window, newest_first=False):
            rows = self.insights.run(
                counts_query(bucket_seconds),
                list(service_of),
                chunk.start,
                chunk.end,
                self._config.insights_max_rows,
            )
            for row in rows:
                bucket = parse_insights_time(row[f"bin({bucket_seconds}s)"])
                number = int(float(row.get("severity_number") or 0))
                severity = (
                    Severity.from_number(number)
                    if number
                    else Severity.from_text(row.get("severity_text", ""))
                )
                svc = service_of.get(row.get("@log", "").split(":")[-1], pairs[0][1])
                start_ns = int(bucket.timestamp()) * 1_000_000_000
                if not (
                    window.start_ns <= start_ns + bucket_seconds * 1_000_000_000 and start_ns < window.end_ns
                ):
                    continue
                key = (start_ns, svc, severity)
                totals[key] = totals.get(key, 0) + int(float(row.get("n") or 0))
        return [
            LogCountBucket(bucket_start=from_nanos(start), service=svc, severity=severity, count=count)
            for (start, svc, severity), count in sorted(
                totals.items(), key=lambda item: (item[0][0], item[0][1], item[0][2].rank)
            )
        ]


# numbers and hex ids masked in one pass before grouping log bodies, with the expression the
# local store and mcp_server.analysis.log_patterns.mask use (backends do not import analysis)
_LOG_MASK = re.compile(
    r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"
    r"|\b[0-9a-fA-F]{8,}\b|\d+(\.\d+)?"
)


def mask_body(body: str) -> str:
    return _LOG_MASK.sub("<*>", body)
