"""Which log groups hold a service's logs.

In order: the groups configured for it (``log_groups``), else the ones Application Signals
reports for it (``GetService``), else ``log_group_template`` with its name, when that group
exists (``DescribeLogGroups``: Logs Insights fails a whole query for one missing group). A
service-less read covers every known service this way: configured ones, Application Signals',
and the ones metrics and SLOs name.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from mcp_server.backends.aws.calls import ApiCaller
from mcp_server.backends.aws.errors import AwsApiUnavailableError
from mcp_server.backends.aws.slos import ApplicationSignalsReader
from mcp_server.telemetry import TimeWindow

MAX_LISTED_GROUPS = 5_000
EXISTENCE_SECONDS = 600.0  # how long a group's existence (or absence) is trusted


class LogSources:
    def __init__(
        self,
        client: Any,
        calls: ApiCaller,
        signals: ApplicationSignalsReader,
        known_services: Callable[[], dict[str, dict[str, str]]],
        all_services: Callable[[], list[str]],
        default_window: Callable[[], TimeWindow],
    ) -> None:
        self._client = client
        self._calls = calls
        self._config = calls.config
        self._signals = signals
        self._known_services = known_services
        self._all_services = all_services
        self._default_window = default_window
        self._signal_groups: dict[str, list[str]] = {}
        self._existing: dict[str, tuple[bool, float]] = {}
        self._listed_prefix: tuple[set[str], float] | None = None
        self._lock = threading.Lock()

    def pairs(self, service: str | None) -> list[tuple[str, str]]:
        """(log group, service) pairs to read; every known service's when ``service`` is None."""
        if service is not None:
            return [(group, service) for group in self.groups_of(service)]
        pairs: dict[str, str] = {}
        for name in sorted(
            set(self._config.log_groups) | set(self._safe_known()) | set(self._all_services())
        ):
            for group in self.groups_of(name):
                pairs.setdefault(group, name)
        return list(pairs.items())

    def groups_of(self, service: str) -> list[str]:
        configured = self._config.log_groups.get(service)
        if configured:
            return list(configured)
        reported = self._reported(service)
        if reported:
            return reported
        candidates = self._config.log_groups_for(service)  # the template's name, if a valid one
        return [group for group in candidates if self._exists(group)]

    def _safe_known(self) -> dict[str, dict[str, str]]:
        try:
            return self._known_services()
        except AwsApiUnavailableError as exc:
            self._calls.notes.add("logs", str(exc))
            return {}

    def _reported(self, service: str) -> list[str]:
        with self._lock:
            if service in self._signal_groups:
                return self._signal_groups[service]
        groups: list[str] = []
        keys = self._safe_known().get(service)
        if keys is not None:
            try:
                groups = self._signals.log_groups(keys, self._default_window())
            except AwsApiUnavailableError as exc:
                self._calls.notes.add("logs", str(exc))
        with self._lock:
            self._signal_groups[service] = groups
        return groups

    # -------------------------------------------------------------------------- existence

    def _exists(self, group: str) -> bool:
        now = self._calls.clock()
        with self._lock:
            known = self._existing.get(group)
        if known is not None and now - known[1] < EXISTENCE_SECONDS:
            return known[0]
        try:
            exists = self._check(group, now)
        except AwsApiUnavailableError as exc:
            self._calls.notes.add(
                "logs", f"could not check that log group {group} (log_group_template) exists: {exc}"
            )
            return True  # let the query itself say whether it exists
        with self._lock:
            self._existing[group] = (exists, now)
        if not exists:
            self._calls.notes.add(
                "logs",
                f"log group {group} (from log_group_template) does not exist; its service's logs were not read",
            )
        return exists

    def _check(self, group: str, now: float) -> bool:
        prefix = self._config.template_prefix()
        if prefix:  # one listing of the template's prefix answers for every service
            with self._lock:
                listed = self._listed_prefix
            if listed is None or now - listed[1] >= EXISTENCE_SECONDS:
                names = {
                    str(g.get("logGroupName"))
                    for g in self._calls.pages(
                        "logs:DescribeLogGroups",
                        self._client,
                        "describe_log_groups",
                        "logGroups",
                        MAX_LISTED_GROUPS,
                        logGroupNamePrefix=prefix,
                    )
                }
                listed = (names, now)
                with self._lock:
                    self._listed_prefix = listed
            if group in listed[0] or len(listed[0]) < MAX_LISTED_GROUPS:
                return group in listed[0]
        return any(
            g.get("logGroupName") == group
            for g in self._calls.pages(
                "logs:DescribeLogGroups",
                self._client,
                "describe_log_groups",
                "logGroups",
                50,
                logGroupNamePrefix=group,
            )
        )
