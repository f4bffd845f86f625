"""What AWS itself knows about the services, beyond raw telemetry: Application Signals' operation
and dependency RED totals, its audit findings and entity change events, CloudWatch Logs anomaly
detectors and metric anomaly bands.

Each source degrades on its own: when it is absent (Application Signals not enabled, no
detectors) or fails (denied, throttled), the answer carries on without it and a note says so.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from mcp_server.backends.aws.anomalies import log_anomaly_findings, metric_band_findings
from mcp_server.backends.aws.application_signals import ApplicationSignalsPlatform
from mcp_server.backends.aws.calls import ApiCaller
from mcp_server.backends.aws.clients import AwsClients
from mcp_server.backends.aws.errors import AwsApiUnavailableError
from mcp_server.backends.aws.metrics import MetricReader
from mcp_server.backends.base import OperationStats, PlatformFinding
from mcp_server.telemetry import ChangeEvent, TimeWindow

Services = Callable[[], dict[str, dict[str, str]]]
LogPairs = Callable[[str | None], list[tuple[str, str]]]


class AwsPlatform:
    def __init__(
        self,
        clients: AwsClients,
        calls: ApiCaller,
        signal_services: Services,
        log_pairs: LogPairs,
        metrics: MetricReader,
    ) -> None:
        self._clients = clients
        self._calls = calls
        self._config = calls.config
        self._notes = calls.notes
        self._signal_services = signal_services
        self._log_pairs = log_pairs
        self._metrics = metrics
        self.signals = ApplicationSignalsPlatform(clients.application_signals, clients.cloudwatch, calls)

    def _services(self, service: str | None, purpose: str) -> list[dict[str, str]]:
        """Application Signals key attributes of ``service`` (or of every service, capped)."""
        if not self._config.application_signals:
            return []
        try:
            known = self._signal_services()
        except AwsApiUnavailableError as exc:
            self._notes.add("platform", f"{purpose} skipped: {exc}")
            return []
        if not known:
            self._notes.add(
                "platform",
                f"Application Signals reports no services in the window: {purpose} skipped "
                "(enable Application Signals to get them)",
            )
            return []
        if service is not None:
            return [known[service]] if service in known else []
        chosen = [known[name] for name in sorted(known)][: self._config.max_signal_services]
        if len(known) > len(chosen):
            self._notes.add(
                "platform", f"{purpose} read for {len(chosen)} of {len(known)} services (max_signal_services)"
            )
        return chosen

    def operation_stats(self, window: TimeWindow, service: str | None) -> list[OperationStats]:
        services = self._services(service, "operation and dependency metrics")
        if not services:
            return []
        return self.signals.operation_stats(services, window)

    def entity_changes(self, window: TimeWindow, service: str | None) -> list[ChangeEvent]:
        changes: list[ChangeEvent] = []
        for keys in self._services(service, "Application Signals change events"):
            try:
                changes += self.signals.entity_events(keys, window)
            except AwsApiUnavailableError as exc:
                self._notes.add("changes", f"Application Signals change events skipped: {exc}")
                break
        return changes

    def findings(self, window: TimeWindow, service: str | None) -> list[PlatformFinding]:
        findings: list[PlatformFinding] = []
        services = self._services(service, "audit findings")
        if services:
            findings += (
                self._guarded("audit findings", lambda: self.signals.audit_findings(services, window)) or []
            )
        if self._config.log_anomaly_detectors:
            groups = dict(self._log_pairs(service))
            found = self._guarded(
                "log anomalies",
                lambda: (
                    log_anomaly_findings(self._clients.logs, self._calls, groups, window) if groups else None
                ),
            )
            if found is None and groups:
                self._notes.add(
                    "platform",
                    "no CloudWatch Logs anomaly detector watches these log groups: log anomalies skipped",
                )
            findings += found or []
        if self._config.metric_anomaly_bands:
            period = 60 if window.duration.total_seconds() <= 3 * 3600 else 300
            found = self._guarded(
                "metric anomaly bands",
                lambda: metric_band_findings(
                    self._clients.cloudwatch, self._calls, self._service_of, window, service, period
                ),
            )
            if found is None:
                self._notes.add(
                    "platform",
                    "no CloudWatch anomaly detector models these services' metrics: anomaly bands skipped",
                )
            findings += found or []
        return findings

    def _guarded(self, what: str, read: Callable[[], Any]) -> Any:
        try:
            return read()
        except AwsApiUnavailableError as exc:
            self._notes.add("platform", f"{what} skipped: {exc}")
            return []

    def _service_of(self, metric: dict[str, Any]) -> str | None:
        return self._metrics.service_of(metric) if self._metrics.has_service(metric) else None
