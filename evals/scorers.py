"""Deterministic scores of one investigation against its scenario's ground truth, and suite summaries.

Definitions (the README states the same):

- **rank**: the 1-based position, in rank order, of the first hypothesis whose service is a true
  cause (the root cause or a labelled secondary root cause, for scenarios with two faults).
- **top-k**: rank <= k.
- **fault type**: the best-ranked hypothesis on the true cause's service carries that cause's
  fault type (a cause never ranked counts as wrong).
- **evidence precision**: of the evidence the first-ranked hypothesis cites that names a service,
  the share naming the true cause's service, its dependency, or a service on its propagation path.
- **red herring first**: the first-ranked service is not a true cause and is named by a labelled red
  herring (labels are names or descriptions such as "deployment of auth 2.3.2 at 09:05").
- **five-whys coverage**: the share of labelled contributing factors that some node of the report's
  five-whys tree addresses: one node (question and answer) holds at least half of the factor's
  content words (crudely stemmed), or its embedding (all-MiniLM-L6-v2, the knowledge base's
  offline model) has cosine similarity >= 0.45 with the factor's. Labels are sentences and the
  drafter writes its own; this is a deterministic proxy, not a judgement of the prose.
- **report completeness**: the report drafter's own measure (sections present, claims cited), 0..1.
"""

from __future__ import annotations

import re
import statistics
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from typing import Any, Protocol

import numpy as np

from evals.report_correctness import ReportFacts, score_report, summarize_checks
from evals.results import CaseScore, FaultTypeSummary, MethodRun, MethodSummary, RankedGuess, ScenarioResult
from mcp_server.analysis.models import Hypothesis
from mcp_server.scenario import GroundTruth, RootCause

_STOPWORDS = {
    "the", "and", "for", "not", "was", "with", "from", "that", "did", "too", "its", "are", "but", "this",
    "than", "then", "into", "onto", "were", "been", "have", "has", "had", "does", "when", "which", "their",
    "they", "there", "after", "before", "only", "also", "instead", "them", "what", "why", "how",
}  # fmt: skip
FACTOR_MATCH_SHARE = 0.5
FACTOR_MATCH_COSINE = 0.45
Embed = Callable[[list[str]], Any]  # texts -> an (n, d) array of embeddings


class Ranked(Protocol):
    """What is scored: a ranking (an investigation's result, or a method's outcome)."""

    @property
    def hypotheses(self) -> list[Hypothesis]: ...


def ordered_hypotheses(result: Ranked) -> list[Hypothesis]:
    """Hypotheses in rank order (ties keep the order the method listed them in)."""
    indexed = list(enumerate(result.hypotheses))
    indexed.sort(key=lambda pair: (pair[1].rank, pair[0]))
    return [hypothesis for _, hypothesis in indexed]


def true_causes(truth: GroundTruth) -> list[RootCause]:
    return [truth.root_cause, *truth.secondary_root_causes]


def cause_rank(hypotheses: Sequence[Hypothesis], truth: GroundTruth) -> tuple[int | None, RootCause | None]:
    """The 1-based rank of the first hypothesis naming a true cause's service, and which cause."""
    by_service = {cause.service: cause for cause in reversed(true_causes(truth))}
    for position, hypothesis in enumerate(hypotheses, start=1):
        cause = by_service.get(hypothesis.service)
        if cause is not None:
            return position, cause
    return None, None


def relevant_services(truth: GroundTruth) -> set[str]:
    """The services evidence may concern and still be about the true cause."""
    services: set[str] = set(truth.propagation)
    for cause in true_causes(truth):
        services.add(cause.service)
        if cause.dependency:
            services.add(cause.dependency)
    return services


def evidence_precision(hypothesis: Hypothesis | None, truth: GroundTruth) -> float | None:
    if hypothesis is None:
        return None
    named = [item for item in hypothesis.evidence if item.service]
    if not named:
        return None
    relevant = relevant_services(truth)
    return sum(1 for item in named if item.service in relevant) / len(named)


def _stem(word: str) -> str:
    for suffix in ("ing", "ed", "es", "s"):
        if word.endswith(suffix) and len(word) - len(suffix) >= 4:
            return word[: -len(suffix)]
    return word


def _words(text: str) -> set[str]:
    words = (word for word in re.split(r"[^a-z0-9]+", text.lower()) if len(word) > 2)
    return {_stem(word) for word in words if word not in _STOPWORDS}


def factor_addressed(factor: str, node_text: str) -> bool:
    wanted = _words(factor)
    return bool(wanted) and len(wanted & _words(node_text)) >= FACTOR_MATCH_SHARE * len(wanted)


def _best_cosines(factors: list[str], nodes: list[str], embed: Embed) -> list[float]:
    vectors = np.asarray(embed([*factors, *nodes]), dtype=float)
    vectors /= np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)
    similarity = vectors[: len(factors)] @ vectors[len(factors) :].T
    return [float(row.max()) for row in similarity]


def five_whys_coverage(
    factors: Sequence[str], node_texts: Iterable[str], embed: Embed | None = None
) -> float | None:
    """Share of contributing factors addressed by some node. None when nothing is labelled."""
    wanted = [factor for factor in factors if _words(factor)]
    if not wanted:
        return None
    nodes = list(node_texts)
    if not nodes:
        return 0.0
    cosines = _best_cosines(wanted, nodes, embed) if embed is not None else [0.0] * len(wanted)
    covered = sum(
        1
        for factor, cosine in zip(wanted, cosines, strict=True)
        if cosine >= FACTOR_MATCH_COSINE or any(factor_addressed(factor, node) for node in nodes)
    )
    return covered / len(wanted)


def names_service(label: str, service: str) -> bool:
    """Whether a red-herring label names ``service`` (the name itself, or inside a description)."""
    if label == service:
        return True
    return re.search(rf"(?<![A-Za-z0-9_]){re.escape(service)}(?![A-Za-z0-9_])", label) is not None


def red_herring_first(first: Hypothesis | None, truth: GroundTruth) -> bool:
    if first is None or first.service in {cause.service for cause in true_causes(truth)}:
        return False
    return any(names_service(label, first.service) for label in truth.red_herrings)


def score_case(
    result: Ranked,
    truth: GroundTruth,
    *,
    five_whys_nodes: Sequence[str] | None = None,
    report_completeness: float | None = None,
    report_facts: ReportFacts | None = None,
    embed: Embed | None = None,
) -> CaseScore:
    """Scores of one outcome; the report's correctness is scored whenever a report was attempted
    (``report_completeness`` given), with ``report_facts`` None when its drafting failed."""
    hypotheses = ordered_hypotheses(result)
    rank, cause = cause_rank(hypotheses, truth)
    fault_ok = False
    if rank is not None and cause is not None:
        fault_ok = hypotheses[rank - 1].fault_type == cause.fault_type
    first = hypotheses[0] if hypotheses else None
    coverage = None
    if five_whys_nodes is not None:
        coverage = five_whys_coverage(truth.contributing_factors, five_whys_nodes, embed)
    return CaseScore(
        rank=rank,
        top1=rank is not None and rank <= 1,
        top3=rank is not None and rank <= 3,
        top5=rank is not None and rank <= 5,
        fault_type_correct=fault_ok,
        exact_top1=rank == 1 and fault_ok,
        red_herring_first=red_herring_first(first, truth),
        evidence_precision=evidence_precision(first, truth),
        five_whys_coverage=coverage,
        report_completeness=report_completeness,
        report=score_report(report_facts, truth) if report_completeness is not None else None,
    )


def top_guesses(result: Ranked, limit: int = 5) -> list[RankedGuess]:
    return [
        RankedGuess(
            rank=position,
            service=hypothesis.service,
            fault_type=str(hypothesis.fault_type),
            confidence=round(hypothesis.confidence, 3),
        )
        for position, hypothesis in enumerate(ordered_hypotheses(result)[:limit], start=1)
    ]


# ------------------------------------------------------------------------------------ summaries


def _rate(flags: Sequence[bool]) -> float:
    return sum(flags) / len(flags) if flags else 0.0


def _mean(values: Sequence[float | None]) -> float | None:
    present = [value for value in values if value is not None]
    return statistics.fmean(present) if present else None


def summarize_method(method: str, scenarios: Sequence[ScenarioResult]) -> MethodSummary:
    """One method across the suite. A failed or unscored scenario counts as a miss in every rate."""
    labelled = [scenario for scenario in scenarios if scenario.truth is not None or scenario.error]
    runs: list[MethodRun | None] = [scenario.runs.get(method) for scenario in labelled]
    scores = [run.score if run is not None and run.ok else None for run in runs]
    failures = sum(1 for run in runs if run is None or not run.ok)

    def flags(attribute: str) -> list[bool]:
        return [bool(getattr(score, attribute)) if score is not None else False for score in scores]

    ranks = [score.rank for score in scores if score is not None and score.rank is not None]
    per_type: dict[str, list[CaseScore | None]] = defaultdict(list)
    for scenario, score in zip(labelled, scores, strict=True):
        if scenario.truth is not None:
            per_type[scenario.truth.fault_type].append(score)
    ok_runs = [run for run in runs if run is not None and run.ok]
    walls = [run.wall_seconds for run in ok_runs]
    tokens: dict[str, int] = defaultdict(int)
    for run in ok_runs:
        for key, value in run.tokens.items():
            tokens[key] += value
    return MethodSummary(
        method=method,
        scenarios=len(labelled),
        failures=failures,
        top1=_rate(flags("top1")),
        top3=_rate(flags("top3")),
        top5=_rate(flags("top5")),
        fault_type=_rate(flags("fault_type_correct")),
        exact_top1=_rate(flags("exact_top1")),
        mean_rank=statistics.fmean(ranks) if ranks else None,
        not_ranked=sum(1 for score in scores if score is None or score.rank is None),
        red_herring_first=sum(flags("red_herring_first")),
        evidence_precision=_mean([score.evidence_precision for score in scores if score is not None]),
        five_whys_coverage=_mean([score.five_whys_coverage for score in scores if score is not None]),
        report_completeness=_mean([score.report_completeness for score in scores if score is not None]),
        report_checks=summarize_checks([score.report if score else None for score in scores], failures),
        wall_seconds_mean=statistics.fmean(walls) if walls else 0.0,
        wall_seconds_max=max(walls, default=0.0),
        cpu_seconds_mean=statistics.fmean([run.cpu_seconds for run in ok_runs]) if ok_runs else 0.0,
        tool_calls_mean=statistics.fmean([run.tool_calls for run in ok_runs]) if ok_runs else 0.0,
        tokens_total=dict(tokens),
        per_fault_type={
            fault: FaultTypeSummary(
                n=len(group),
                top1=_rate([bool(s and s.top1) for s in group]),
                top3=_rate([bool(s and s.top3) for s in group]),
                fault_type=_rate([bool(s and s.fault_type_correct) for s in group]),
            )
            for fault, group in sorted(per_type.items())
        },
    )
