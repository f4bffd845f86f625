"""The eval result shapes: what the harness records per scenario and method, and the summaries.

Everything here is written to ``--json OUT`` as it is, and read back by :mod:`evals.render`
(so an HTML page or Markdown table can be rebuilt from a saved run).
"""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from evals.report_correctness import CheckRate, ReportCorrectness


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class CaseScore(_Model):
    """How one method did on one scenario. ``rank`` is 1-based; None when the cause was not ranked."""

    rank: int | None
    top1: bool
    top3: bool
    top5: bool
    fault_type_correct: bool  # the best-ranked hypothesis on the true cause's service names its fault type
    exact_top1: bool  # rank 1 with the right service and the right fault type
    red_herring_first: bool  # a labelled red herring service is ranked first
    evidence_precision: float | None = None  # None when the cited evidence names no service at all
    five_whys_coverage: float | None = None  # None when there is no report or no labelled factors
    report_completeness: float | None = None  # None when there is no report
    report: ReportCorrectness | None = None  # is the report right (detection, service, ...); None: no report


class RankedGuess(_Model):
    rank: int
    service: str
    fault_type: str
    confidence: float


class MethodRun(_Model):
    """One method on one scenario: its score, or the error that stopped it."""

    method: str
    ok: bool
    error: str | None = None
    score: CaseScore | None = None
    top: list[RankedGuess] = Field(default_factory=list)  # the first five hypotheses, for reading
    reasoner: str = ""  # who ranked: shows an LLM run that fell back to offline
    wall_seconds: float = 0.0
    cpu_seconds: float = 0.0  # this process's CPU time (all its threads): stable on a busy machine
    tool_calls: int = 0
    tokens: dict[str, int] = Field(default_factory=dict)
    notes: list[str] = Field(default_factory=list)  # problems that cost part of the score, e.g. no report


class TruthSummary(_Model):
    """The labels the scores were computed against (the investigation never saw these)."""

    service: str
    fault_type: str
    secondary: list[str] = Field(default_factory=list)  # "service:fault_type"
    red_herrings: list[str] = Field(default_factory=list)
    contributing_factors: list[str] = Field(default_factory=list)


class DataSize(_Model):
    spans: int = 0
    logs: int = 0
    metric_points: int = 0

    @property
    def records(self) -> int:
        return self.spans + self.logs + self.metric_points


class ScenarioResult(_Model):
    scenario: str
    path: str
    tags: list[str] = Field(default_factory=list)
    truth: TruthSummary | None = None
    data: DataSize = Field(default_factory=DataSize)
    import_seconds: float = 0.0
    import_cpu_seconds: float = 0.0
    error: str | None = None  # the scenario itself could not be loaded; every method counts as failed
    runs: dict[str, MethodRun] = Field(default_factory=dict)


class FaultTypeSummary(_Model):
    n: int
    top1: float
    top3: float
    fault_type: float


class MethodSummary(_Model):
    """A method over the whole suite. Rates are over scored scenarios; failures count as misses."""

    method: str
    scenarios: int
    failures: int
    top1: float
    top3: float
    top5: float
    fault_type: float
    exact_top1: float
    mean_rank: float | None  # over scenarios where the cause was ranked at all
    not_ranked: int  # scenarios where the true cause did not appear in the ranking
    red_herring_first: int
    evidence_precision: float | None
    five_whys_coverage: float | None
    report_completeness: float | None
    report_checks: dict[str, CheckRate] = Field(
        default_factory=dict
    )  # correctness, per check; {}: no reports
    wall_seconds_mean: float
    wall_seconds_max: float
    cpu_seconds_mean: float = 0.0
    tool_calls_mean: float
    tokens_total: dict[str, int] = Field(default_factory=dict)
    per_fault_type: dict[str, FaultTypeSummary] = Field(default_factory=dict)


class EvalRun(_Model):
    """One ``sleuth eval`` run."""

    created_at: datetime
    command: str
    suite: str
    reasoner: str
    methods: list[str]
    workers: int = 1
    wall_seconds: float = 0.0
    cpu_seconds: float = 0.0  # import and every method, summed over scenarios
    scenarios: list[ScenarioResult] = Field(default_factory=list)
    summaries: dict[str, MethodSummary] = Field(default_factory=dict)
