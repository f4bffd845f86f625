"""Incident report drafting: the COE (Correction of Error) with a five-whys tree, graphs and actions.

``draft_report(result, backend)`` builds an :class:`IncidentReport`; ``write_report(report, out_dir)``
writes it as Markdown, self-contained HTML and the knowledge base's COE JSON.
"""

from agent.report.completeness import assess_completeness, report_completeness
from agent.report.draft import ReportPaths, draft_and_write, draft_report, write_report
from agent.report.model import IncidentReport
from agent.report.narrative import NarrationError, NarrationRequest, Narrator

__all__ = [
    "IncidentReport",
    "NarrationError",
    "NarrationRequest",
    "Narrator",
    "ReportPaths",
    "assess_completeness",
    "draft_and_write",
    "draft_report",
    "report_completeness",
    "write_report",
]
