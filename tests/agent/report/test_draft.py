from __future__ import annotations

from typing import Any, cast

from agent.report import IncidentReport, draft_report
from mcp_server.backends.base import TelemetryBackend
from mcp_server.backends.local import LocalBackend
from mcp_server.taxonomy import FaultType
from mcp_server.telemetry import ServiceEdge, TimeWindow
from tests.agent.report.incident_fixtures import past_coe, result_for


class _CountingGraph:
    """The backend, counting how often the call graph is read (a paid query on AWS)."""

    def __init__(self, backend: LocalBackend) -> None:
        self._backend = backend
        self.graph_reads = 0

    def service_edges(self, window: TimeWindow) -> list[ServiceEdge]:
        self.graph_reads += 1
        return self._backend.service_edges(window)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._backend, name)


def test_drafting_reads_the_call_graph_once_and_says_the_same(
    incident_backend: LocalBackend, single_host_report: IncidentReport
) -> None:
    counting = _CountingGraph(incident_backend)
    result = result_for(FaultType.SINGLE_HOST_FAILURE, component="visits-2", with_change=True)

    report = draft_report(result, cast(TelemetryBackend, counting), past_coes=[past_coe()])

    assert counting.graph_reads == 1
    assert report.five_whys == single_host_report.five_whys
    assert report.summary == single_host_report.summary
