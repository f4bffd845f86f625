from datetime import UTC, datetime

from evals.results import MethodRun, ScenarioResult, TruthSummary
from evals.scorers import five_whys_coverage, score_case, summarize_method
from mcp_server.analysis.models import Evidence, EvidenceKind, Hypothesis, InvestigationResult
from mcp_server.scenario import GroundTruth, RootCause
from mcp_server.taxonomy import FaultType

WINDOW = {"start": datetime(2026, 1, 1, 10, tzinfo=UTC), "end": datetime(2026, 1, 1, 11, tzinfo=UTC)}


def hypothesis(rank: int, service: str, fault: FaultType, evidence_services: tuple[str | None, ...] = ()):
    evidence = [
        Evidence(kind=EvidenceKind.LOG_PATTERN, service=name, description=f"about {name}")
        for name in evidence_services
    ]
    return Hypothesis(
        rank=rank, service=service, fault_type=fault, confidence=0.5, summary="s", evidence=evidence
    )


def result(*hypotheses: Hypothesis) -> InvestigationResult:
    return InvestigationResult(window=WINDOW, hypotheses=list(hypotheses))


def truth(**overrides) -> GroundTruth:
    values = {
        "root_cause": RootCause(
            service="visits", fault_type=FaultType.DEPENDENCY_THROTTLING, dependency="dynamodb"
        ),
        "propagation": ["visits", "api-gateway", "frontend"],
        "red_herrings": ["billing"],
    }
    values.update(overrides)
    return GroundTruth(**values)


def test_cause_ranked_first_with_its_fault_type_scores_top1_and_fault_type():
    score = score_case(
        result(
            hypothesis(1, "visits", FaultType.DEPENDENCY_THROTTLING),
            hypothesis(2, "frontend", FaultType.UNKNOWN),
        ),
        truth(),
    )
    assert (score.rank, score.top1, score.top3, score.fault_type_correct, score.exact_top1) == (
        1,
        True,
        True,
        True,
        True,
    )


def test_rank_follows_the_rank_field_not_the_list_order():
    score = score_case(
        result(
            hypothesis(3, "visits", FaultType.CPU_SATURATION),
            hypothesis(1, "frontend", FaultType.UNKNOWN),
            hypothesis(2, "api-gateway", FaultType.UNKNOWN),
        ),
        truth(),
    )
    assert (score.rank, score.top1, score.top3, score.top5) == (3, False, True, True)
    assert score.fault_type_correct is False


def test_cause_never_ranked_misses_every_top_k_and_the_fault_type():
    score = score_case(result(hypothesis(1, "frontend", FaultType.DEPENDENCY_THROTTLING)), truth())
    assert score.rank is None
    assert not (score.top1 or score.top5 or score.fault_type_correct)


def test_red_herring_named_inside_a_description_is_flagged_when_ranked_first():
    labels = [
        "deployment of auth 2.3.2 at 09:05 UTC (no anomaly)",
        "flapping alarm petclinic-notifications-queue-depth",
    ]
    auth_first = result(hypothesis(1, "auth", FaultType.BAD_DEPLOYMENT))
    notifications_first = result(hypothesis(1, "notifications", FaultType.UNKNOWN))
    gateway_first = result(hypothesis(1, "api-gateway", FaultType.UNKNOWN))
    assert score_case(auth_first, truth(red_herrings=labels)).red_herring_first is True
    assert score_case(notifications_first, truth(red_herrings=labels)).red_herring_first is True
    assert score_case(gateway_first, truth(red_herrings=labels)).red_herring_first is False


def test_a_true_cause_is_never_a_red_herring_even_when_a_label_names_it():
    labels = ["deployment of visits 1.0 at 09:00"]
    score = score_case(result(hypothesis(1, "visits", FaultType.UNKNOWN)), truth(red_herrings=labels))
    assert score.red_herring_first is False


def test_red_herring_ranked_first_is_flagged():
    score = score_case(
        result(
            hypothesis(1, "billing", FaultType.BAD_DEPLOYMENT), hypothesis(2, "visits", FaultType.UNKNOWN)
        ),
        truth(),
    )
    assert score.red_herring_first is True
    assert score.rank == 2


def test_secondary_root_cause_ranked_first_counts_as_finding_a_true_cause():
    secondary = RootCause(service="billing", fault_type=FaultType.MEMORY_LEAK)
    score = score_case(
        result(hypothesis(1, "billing", FaultType.MEMORY_LEAK)),
        truth(secondary_root_causes=[secondary], red_herrings=[]),
    )
    assert (score.rank, score.fault_type_correct) == (1, True)


def test_evidence_precision_counts_cause_dependency_and_propagation_path_and_ignores_unnamed_evidence():
    top = hypothesis(
        1, "visits", FaultType.DEPENDENCY_THROTTLING, ("visits", "dynamodb", "frontend", "billing", None)
    )
    score = score_case(result(top), truth())
    assert score.evidence_precision == 0.75


def test_evidence_precision_is_unknown_when_no_cited_evidence_names_a_service():
    score = score_case(result(hypothesis(1, "visits", FaultType.UNKNOWN, (None,))), truth())
    assert score.evidence_precision is None


def test_five_whys_coverage_needs_every_word_of_a_factor_in_one_node():
    factors = ["health check did not remove the failing host", "alarm_on_p99_missing"]
    nodes = ["The load balancer health check did not remove the host that was failing", "no alarm on latency"]
    assert five_whys_coverage(factors, nodes) == 0.5
    assert five_whys_coverage([], nodes) is None


def test_five_whys_coverage_accepts_a_paraphrase_the_embedding_finds_close():
    vectors = {
        "autoscaling was capped": [1.0, 0.0],
        "Why did the fleet not scale out?": [0.8, 0.6],
        "other": [0.0, 1.0],
    }

    def embed(texts):
        return [vectors[text] for text in texts]

    assert five_whys_coverage(["autoscaling was capped"], ["Why did the fleet not scale out?"], embed) == 1.0
    assert five_whys_coverage(["autoscaling was capped"], ["other"], embed) == 0.0
    assert five_whys_coverage(["autoscaling was capped"], []) == 0.0


def test_summary_counts_a_failed_method_as_a_miss_and_reports_it():
    good = score_case(result(hypothesis(1, "visits", FaultType.DEPENDENCY_THROTTLING)), truth())
    label = TruthSummary(service="visits", fault_type="dependency_throttling")
    scenarios = [
        ScenarioResult(
            scenario="a",
            path="a",
            truth=label,
            runs={"m": MethodRun(method="m", ok=True, score=good, wall_seconds=2.0)},
        ),
        ScenarioResult(
            scenario="b", path="b", truth=label, runs={"m": MethodRun(method="m", ok=False, error="boom")}
        ),
    ]
    summary = summarize_method("m", scenarios)
    assert (summary.top1, summary.failures, summary.mean_rank, summary.not_ranked) == (0.5, 1, 1.0, 1)
    assert summary.per_fault_type["dependency_throttling"].n == 2
    assert summary.wall_seconds_mean == 2.0
