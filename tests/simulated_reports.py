"""Simulated incidents drafted the way a user drafts them: ``sleuth simulate`` then ``sleuth report``.

Several test modules read the same cases (issue 16's regression cases, their correctness scores, the
fault-specific sections, the report's wording of what customers saw). Each scenario is simulated
once per test session and each report drafted once, with one knowledge store; the modules only read
what is written here.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pytest
from typer.testing import CliRunner

from agent.cli import app
from tests.shared_knowledge import KNOWLEDGE_DIR

runner = CliRunner()
Case = tuple[str, str, int, str]  # (fault, service, seed, size)


@dataclass
class SimulatedReports:
    """Scenario directories and drafted reports under ``root``, made on first use."""

    root: Path
    _scenarios: dict[Case, Path] = field(default_factory=dict)
    _reports: dict[Case, Path] = field(default_factory=dict)

    def scenario(self, fault: str, service: str, seed: int, size: str = "tiny") -> Path:
        """The directory ``sleuth simulate`` wrote for this case (treat it as read-only)."""
        case = (fault, service, seed, size)
        if case not in self._scenarios:
            out = self.root / f"{fault}-{service}-{seed}-{size}" / "scenario"
            args = ["--fault", fault, "--service", service, "--seed", str(seed), "--out", str(out)]
            simulated = runner.invoke(app, ["simulate", *args, "--size", size])
            assert simulated.exit_code == 0, simulated.output
            self._scenarios[case] = out
        return self._scenarios[case]

    def reports(self, fault: str, service: str, seed: int, size: str = "tiny") -> Path:
        """The directory ``sleuth report`` (offline reasoner) wrote for this case's scenario."""
        case = (fault, service, seed, size)
        if case not in self._reports:
            data = self.scenario(*case)
            out = data.parent / "reports"
            with pytest.MonkeyPatch.context() as patch:
                patch.setenv("SLEUTH_DATA_DIR", str(KNOWLEDGE_DIR))
                patch.delenv("SLEUTH_REASONER", raising=False)
                drafted = runner.invoke(app, ["report", "--data", str(data), "--out", str(out)])
            assert drafted.exit_code == 0, drafted.output
            self._reports[case] = out
        return self._reports[case]

    def markdown(self, fault: str, service: str, seed: int, size: str = "tiny") -> str:
        """The internal COE's Markdown (not the customer version)."""
        out = self.reports(fault, service, seed, size)
        return next(p for p in out.glob("coe-*.md") if not p.name.endswith(".customer.md")).read_text()
