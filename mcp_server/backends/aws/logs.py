"""CloudWatch Logs: Logs Insights for searches, counts and patterns, FilterLogEvents for short plain reads.

Cost: Insights bills per GB scanned. Every query is limited to ``insights_max_window_seconds``
(the most recent part of a wider window) and ``insights_max_log_groups`` log groups, wide
windows are split into ``insights_chunk_seconds`` chunks on whole-second edges (so no event is
read twice) that stop as soon as enough rows are found, and every cut is written to the
backend's notes. Chunking also stops at the call's deadline: a search returns what it found with
a note saying how far it got; counts and patterns, which would be wrong if partial, fail instead.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from mcp_server.backends.aws import log_patterns
from mcp_server.backends.aws.calls import ApiCaller
from mcp_server.backends.aws.errors import AwsApiUnavailableError
from mcp_server.backends.aws.insights import (
    InsightsRunner,
    chunks,
    counts_query,
    iter_rows,
    row_group,
    row_number,
    row_time,
    search_query,
)
from mcp_server.backends.aws.log_events import compile_regex, matches, parse_event, severity_of
from mcp_server.backends.aws.pacing import InsightsPacer
from mcp_server.backends.base import LogCountBucket, LogGroup, LogQuery
from mcp_server.telemetry import LogRecord, Severity, TimeWindow, from_nanos, to_nanos

GroupsFor = Callable[[str | None], list[tuple[str, str]]]


class LogReader:
    def __init__(
        self,
        client: Any,
        calls: ApiCaller,
        groups_for: GroupsFor,
        now: Callable[[], datetime],
        pacer: InsightsPacer | None = None,
    ) -> None:
        """``groups_for(service)`` lists (log group, service) pairs to read; None means every service."""
        self._client = client
        self._calls = calls
        self._config = calls.config
        self._notes = calls.notes
        self._groups_for = groups_for
        self._now = now
        self.insights = InsightsRunner(
            client, calls, pacer or InsightsPacer(calls.config, calls.clock, calls.sleep)
        )

    def _groups(self, service: str | None) -> list[tuple[str, str]]:
        pairs = self._groups_for(service)
        cap = self._config.insights_max_log_groups
        if len(pairs) > cap:
            skipped = ", ".join(group for group, _ in pairs[cap:][:5])
            self._notes.add(
                "logs",
                f"read {cap} of {len(pairs)} log groups (insights_max_log_groups={cap}); skipped {skipped}"
                f"{' ...' if len(pairs) > cap + 5 else ''}; name a service to read its own groups",
            )
            pairs = pairs[:cap]
        return pairs

    def _no_groups(self, service: str | None) -> None:
        self._notes.add(
            "logs",
            f"no log groups found for {service or 'any service'}: none configured (log_groups), none "
            "reported by Application Signals, and no existing group matches log_group_template; "
            "logs were not read",
        )

    def window(self, window: TimeWindow | None) -> TimeWindow:
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

    # ----------------------------------------------------------------------------- search

    def query(self, query: LogQuery) -> list[LogRecord]:
        pattern = compile_regex(query.regex)
        pairs = self._groups(query.service)
        if not pairs:
            self._no_groups(query.service)
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
            for event in self._calls.pages(
                "logs:FilterLogEvents",
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
                    parse_event(str(event.get("message", "")), int(event.get("timestamp", 0)), service)
                )
            if scanned >= budget:
                self._notes.add(
                    "logs",
                    f"FilterLogEvents stopped after {budget} events (filter_max_events); narrow the window",
                )
                break
        return records

    def _insights_search(self, query: LogQuery, pairs: list[tuple[str, str]]) -> list[LogRecord]:
        window = self.window(query.window)
        service_of = dict(pairs)
        exact = not (query.regex and any(c in query.regex for c in "^$"))
        rows_wanted = min(
            query.limit if exact else self._config.insights_max_rows, self._config.insights_max_rows
        )
        pattern = compile_regex(query.regex)
        records: list[LogRecord] = []
        seen: set[str] = set()
        parts = chunks(window, self._config.insights_chunk_seconds, newest_first=query.order == "desc")
        for done, chunk in enumerate(parts):
            try:
                if self._calls.deadline().expired():
                    raise self._calls.timed_out("logs:StartQuery", "the log search was stopped")
                rows = self.insights.run(
                    search_query(query, rows_wanted), list(service_of), chunk, rows_wanted
                )
            except AwsApiUnavailableError as exc:
                if exc.reason != "timeout" or not done:
                    raise
                covered = parts[:done]
                span = min(c.start for c in covered), max(c.end for c in covered)
                self._notes.add(
                    "logs",
                    f"log search timed out after {done} of {len(parts)} chunks; records cover "
                    f"{span[0].isoformat()}..{span[1].isoformat()} only ({exc.detail})",
                )
                break
            for row in iter_rows(rows, seen):
                stamp = row_time(row, "@timestamp")
                if not chunk.start <= stamp < chunk.end:
                    continue  # the chunk's whole seconds reach past its edges
                service = service_of.get(row_group(row), pairs[0][1])
                record = parse_event(row.get("@message", ""), to_nanos(stamp) // 1_000_000, service)
                if matches(record, query, pattern):
                    records.append(record)
            if len(rows) >= rows_wanted and rows_wanted == self._config.insights_max_rows:
                self._notes.add(
                    "logs", f"a Logs Insights query hit its {rows_wanted}-row limit; results may be partial"
                )
            if len(records) >= query.limit:
                break
        return records

    # ----------------------------------------------------------------------------- counts

    def counts(self, window: TimeWindow, bucket_seconds: int, service: str | None) -> list[LogCountBucket]:
        pairs = self._groups(service)
        if not pairs:
            self._no_groups(service)
            return []
        window = self.window(window)
        service_of = dict(pairs)
        totals: dict[tuple[int, str, Severity], int] = {}
        bin_field = f"bin({bucket_seconds}s)"
        for chunk in chunks(window, self._config.insights_chunk_seconds, newest_first=False):
            if self._calls.deadline().expired():
                raise self._calls.timed_out("logs:StartQuery", "counting log events was stopped")
            rows = self.insights.run(
                counts_query(bucket_seconds), list(service_of), chunk, self._config.insights_max_rows
            )
            for row in rows:
                bucket = row_time(row, bin_field)
                severity = severity_of(row.get("severity_number"), row.get("severity_text"), row.get("level"))
                svc = service_of.get(row_group(row), pairs[0][1])
                start_ns = to_nanos(bucket)
                if not (
                    window.start_ns <= start_ns + bucket_seconds * 1_000_000_000 and start_ns < window.end_ns
                ):
                    continue
                key = (start_ns, svc, severity)
                totals[key] = totals.get(key, 0) + int(row_number(row, "n"))
        return [
            LogCountBucket(bucket_start=from_nanos(start), service=svc, severity=severity, count=count)
            for (start, svc, severity), count in sorted(
                totals.items(), key=lambda item: (item[0][0], item[0][1], item[0][2].rank)
            )
        ]

    # ----------------------------------------------------------------------------- groups

    def groups(
        self, window: TimeWindow, service: str | None, limit: int, sample_rows: int | None = None
    ) -> list[LogGroup]:
        """Counted masked-body groups of the whole window: Insights' ``pattern`` counts every
        event, and first/last events of every bin and severity, spread over the window, time
        them (and stand in for the counts where ``pattern`` is not available)."""
        pairs = self._groups(service)
        if not pairs:
            self._no_groups(service)
            return []
        window = self.window(window)
        found = log_patterns.read_groups(self.insights, self._calls, dict(pairs), window)
        kept = [g for g in found if service is None or g.service == service]
        kept.sort(key=lambda g: (-g.count, g.service, g.pattern))
        return kept[:limit]
