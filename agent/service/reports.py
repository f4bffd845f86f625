"""Investigation results and COE drafts on disk, as the worker left them.

``<results>/<job id>/result.json`` is the full :class:`InvestigationResult`; the drafted report
(``*.html`` and friends) sits beside it. A report not drafted during the investigation (the
service can run with ``--no-draft-report``) is drafted on demand: Slack's *Draft COE* button.
"""

from __future__ import annotations

import re
import threading
from pathlib import Path

from agent.service.report_storage import RemoteResults
from mcp_server.analysis.models import InvestigationResult
from mcp_server.backends.base import TelemetryBackend
from mcp_server.errors import SleuthError

_JOB_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


class ResultMissing(SleuthError):
    """The investigation has no stored result (not finished, or unknown)."""


class ResultStore:
    def __init__(
        self, results_dir: Path, backend: TelemetryBackend | None = None, remote: RemoteResults | None = None
    ) -> None:
        self.results_dir = Path(results_dir)
        self.backend = backend  # needed only to draft reports on demand
        self.remote = remote  # results kept off this host (S3): fetched here when first asked for
        self._lock = threading.Lock()

    def directory(self, job_id: str) -> Path:
        if not _JOB_ID.match(job_id):
            raise ResultMissing(f"{job_id!r} is not an investigation id")
        directory = self.results_dir / job_id
        if self.remote is not None and not (directory / "result.json").exists():
            self.remote.fetch(job_id, directory)  # finished on another host, or not finished yet
        return directory

    def result(self, job_id: str) -> InvestigationResult:
        path = self.directory(job_id) / "result.json"
        if not path.exists():
            raise ResultMissing(f"investigation {job_id} has no result yet")
        return InvestigationResult.model_validate_json(path.read_text(encoding="utf-8"))

    def report(self, job_id: str) -> Path | None:
        """The drafted HTML report, if there is one."""
        directory = self.directory(job_id)
        found = sorted(directory.glob("*.html")) if directory.is_dir() else []
        return found[0] if found else None

    def draft(self, job_id: str) -> Path:
        """The HTML report, drafted now from the stored result when there is none yet."""
        from agent.report.draft import draft_and_write

        with self._lock:  # two clicks on *Draft COE* draft once
            existing = self.report(job_id)
            if existing is not None:
                return existing
            if self.backend is None:
                raise SleuthError("this Sleuth has no telemetry backend to draft reports from")
            paths = draft_and_write(self.result(job_id), self.backend, self.directory(job_id))
            if self.remote is not None:
                self.remote.publish(job_id, self.directory(job_id))
            return paths["html"]
