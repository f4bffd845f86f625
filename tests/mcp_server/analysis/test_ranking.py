from __future__ import annotations

from mcp_server.analysis.models import Evidence, EvidenceKind
from mcp_server.analysis.ranking import rank_hypotheses
from mcp_server.analysis.signals import Signal, SignalKind
from mcp_server.taxonomy import FaultType
from tests.mcp_server.analysis.scopes import ONSET, twenty_minutes

SCOPE = twenty_minutes(["edge", "api", "db-svc", "mailer"])
GRAPH = {"edge": {"api"}, "api": {"db-svc", "mailer"}}


def _sig(service: str, kind: SignalKind, strength: float, **hints: object) -> Signal:
    return Signal(
        service=service,
        kind=kind,
        strength=strength,
        onset=ONSET,
        evidence=Evidence(kind=EvidenceKind.NOTE, service=service, description=f"{kind} on {service}"),
        hints=dict(hints),
    )


def _symptoms(service: str) -> list[Signal]:
    return [
        _sig(service, SignalKind.ERROR_RATE, 1.0),
        _sig(service, SignalKind.LOG, 1.0, text="upstream call failed"),
        _sig(service, SignalKind.METRIC, 1.0, metric="requests.failed", direction=1),
    ]


def test_an_upstream_service_that_only_propagates_errors_ranks_below_the_origin():
    signals = [
        _sig("db-svc", SignalKind.ERROR_ORIGIN, 0.9, text="NullPointerException"),
        *_symptoms("db-svc"),
        *_symptoms("api"),
        *_symptoms("edge"),
    ]
    ranked = rank_hypotheses(signals, GRAPH, SCOPE, SCOPE.services)
    assert [h.service for h in ranked] == ["db-svc", "api", "edge"]
    assert ranked[0].confidence > 2 * ranked[1].confidence


def test_a_change_just_before_onset_raises_its_service_and_names_the_fault():
    signals = [
        _sig("db-svc", SignalKind.ERROR_ORIGIN, 0.5),
        _sig("mailer", SignalKind.ERROR_ORIGIN, 0.5),
        _sig("mailer", SignalKind.CHANGE, 0.9, change_kind="deployment"),
    ]
    ranked = rank_hypotheses(signals, GRAPH, SCOPE, SCOPE.services)
    assert ranked[0].service == "mailer"
    assert ranked[0].fault_type == FaultType.BAD_DEPLOYMENT
    assert ranked[1].fault_type == FaultType.ERROR_EXCEPTION


def test_a_change_on_a_service_without_symptoms_raises_no_hypothesis():
    signals = [
        _sig("db-svc", SignalKind.ERROR_ORIGIN, 0.9),
        _sig("mailer", SignalKind.CHANGE, 1.0, change_kind="deployment"),
    ]
    ranked = rank_hypotheses(signals, GRAPH, SCOPE, SCOPE.services)
    assert [h.service for h in ranked] == ["db-svc"]


def test_failing_calls_whose_callee_never_answered_are_charged_to_the_callee():
    signals = [
        _sig("api", SignalKind.ERROR_ORIGIN, 0.9, peer="db-svc", callee="db-svc", text="handshake failed"),
        *_symptoms("api"),
    ]
    ranked = rank_hypotheses(signals, GRAPH, SCOPE, SCOPE.services)
    assert ranked[0].service == "db-svc"


def test_throttling_words_in_the_errors_classify_dependency_throttling():
    signals = [
        _sig(
            "db-svc", SignalKind.ERROR_ORIGIN, 0.9, peer="dynamodb", text="ThrottlingException: Rate exceeded"
        )
    ]
    assert rank_hypotheses(signals, GRAPH, SCOPE)[0].fault_type == FaultType.DEPENDENCY_THROTTLING


def test_a_lone_weak_signal_gets_low_confidence():
    ranked = rank_hypotheses([_sig("mailer", SignalKind.LOG, 0.2, text="slow")], GRAPH, SCOPE)
    assert ranked[0].confidence < 0.3


def test_without_a_call_graph_a_caller_whose_calls_to_another_suspect_slowed_ranks_below_it():
    # client-side metrics per peer: edge and api wait on db-svc, whose own metrics show nothing
    signals = [
        _sig("db-svc", SignalKind.EDGE, 0.5, caller="api", callee="db-svc", latency=True, sparse=True),
        _sig("db-svc", SignalKind.EDGE, 0.5, caller="edge", callee="db-svc", latency=True, sparse=True),
        _sig("api", SignalKind.METRIC, 0.6, metric="client.wait", direction=1),
        _sig("edge", SignalKind.METRIC, 0.6, metric="client.wait", direction=1),
        _sig("mailer", SignalKind.METRIC, 0.2, metric="q7.busy", direction=1),
    ]
    ranked = rank_hypotheses(signals, {}, SCOPE, SCOPE.services)
    assert ranked[0].service == "db-svc"
    assert ranked[0].fault_type == FaultType.NETWORK_DELAY


def _kindless_failing_call(caller: str, callee: str) -> Signal:
    # a failing span without a kind whose call to the callee was answered: client or server?
    return _sig(caller, SignalKind.ERROR_ORIGIN, 1.0, callee=callee, kind_unknown=True)


def test_failing_kindless_spans_of_a_caller_whose_client_errors_rose_are_its_callees_answers():
    signals = [
        _kindless_failing_call("api", "db-svc"),
        _sig("api", SignalKind.METRIC, 0.7, metric="client.request.errors", direction=1),
    ]
    ranked = rank_hypotheses(signals, GRAPH, SCOPE, SCOPE.services)
    assert ranked[0].service == "db-svc"
    assert ranked[0].scores["error_origin"] > ranked[1].scores["error_origin"]


def test_failing_kindless_spans_without_client_side_evidence_stay_shared_with_the_caller():
    signals = [
        _kindless_failing_call("api", "db-svc"),
        _sig("api", SignalKind.METRIC, 0.7, metric="http.server.request.errors", direction=1),
    ]
    ranked = rank_hypotheses(signals, GRAPH, SCOPE, SCOPE.services)
    scores = {h.service: h.scores["error_origin"] for h in ranked}
    assert scores["api"] == scores["db-svc"]


def test_a_service_whose_traced_calls_to_a_suspect_fail_more_is_its_symptom_when_no_origin_is_significant():
    # one pod of db-svc throws: too few failures for a significant origin; api's callers see api
    # fail more, but api's own calls to db-svc failed first
    signals = [
        _sig("api", SignalKind.EDGE, 0.9, caller="edge", callee="api", errors=True),
        _sig("api", SignalKind.METRIC, 0.9, metric="requests.failed", direction=1),
        _sig("db-svc", SignalKind.EDGE, 0.9, caller="api", callee="db-svc", errors=True),
        _sig("db-svc", SignalKind.METRIC, 0.6, metric="requests.failed", direction=1),
    ]
    ranked = rank_hypotheses(signals, GRAPH, SCOPE, SCOPE.services)
    assert [h.service for h in ranked[:2]] == ["db-svc", "api"]


def _metric(service: str, name: str, strength: float) -> Signal:
    signal = _sig(service, SignalKind.METRIC, strength, metric=name, direction=1, unit="%")
    signal.evidence.description = f"{name} rose"
    return signal


def test_a_cpu_saturation_cites_the_cpu_it_was_named_for_right_after_its_lead():
    # five latency series of one pod outweigh its one CPU series; the hypothesis must still show it
    latency = [_metric("db-svc", f"PodServerLatencyP{p}", 1.0) for p in (50, 75, 90, 95, 99)]
    signals = [
        _sig("db-svc", SignalKind.SELF_LATENCY, 1.0, operation="get", callee=None, edge=False),
        *latency,
        _metric("db-svc", "CpuUsageRate", 0.4),
    ]
    [top, *_] = rank_hypotheses(signals, GRAPH, SCOPE, SCOPE.services)

    assert top.fault_type == FaultType.CPU_SATURATION
    assert [e.description for e in top.evidence[:2]] == [
        f"{SignalKind.SELF_LATENCY} on db-svc",
        "CpuUsageRate rose",
    ]
