from __future__ import annotations

import sys
from pathlib import Path
from typing import Any, TypedDict

import pytest
from langgraph.graph import END, START, StateGraph

from agent.checkpoints import close_checkpointer, open_checkpointer, sqlite_checkpointer
from agent.errors import AwaitingReview, IncompatibleCheckpointError
from agent.events import EventKind
from agent.reasoners.base import ReasoningReply, ReasoningRequest
from agent.reasoners.offline import OfflineReasoner
from agent.run import (
    resume_investigation,
    run_investigation,
    saved_state,
    stream_investigation,
)
from agent.wiring import coe_drafter, investigate_engine_only
from mcp_server.analysis.models import InvestigationResult
from mcp_server.analysis.signals import Scope, StepResult
from mcp_server.backends.base import LogQuery
from mcp_server.backends.local import LocalBackend
from mcp_server.errors import BackendUnavailableError, SleuthError
from mcp_server.scenario import ScenarioSpec
from mcp_server.telemetry import LogRecord
from tests.agent.conftest import DepsFactory


def test_offline_investigation_ranks_the_throttled_dependency_first_with_cited_evidence(
    make_deps: DepsFactory, spec: ScenarioSpec
) -> None:
    result = run_investigation(spec.trigger, make_deps())

    top = result.hypotheses[0]
    assert (top.service, top.fault_type.value) == ("payments", "dependency_throttling")
    evidence_ids = {ev.id for ev in result.evidence}
    assert top.evidence and all(ev.id in evidence_ids for ev in top.evidence)
    assert top.verified is True
    assert result.reasoner == "offline"
    assert result.scenario == "payments-throttling"
    assert {"scope", "gather.traces", "gather.logs", "hypothesize", "verify", "total"} <= set(result.timings)
    assert result.mitigations[0].applicable


def test_progress_events_report_every_step_in_workflow_order(
    make_deps: DepsFactory, spec: ScenarioSpec
) -> None:
    events = list(stream_investigation(spec.trigger, make_deps()))

    started = [e.step for e in events if e.kind is EventKind.STEP_STARTED]
    assert started == ["scope", "consult", "hypothesize", "verify", "mitigate", "report"]
    gathered = {e.data["source"] for e in events if e.step == "gather" and e.kind is EventKind.FINDING}
    assert gathered == {"traces", "metrics", "logs", "changes", "slos_alarms", "platform"}
    assert events[-1].kind is EventKind.RESULT


class LogsDown(LocalBackend):
    """A backend whose log API is unreachable."""

    def query_logs(self, query: LogQuery) -> list[LogRecord]:
        raise BackendUnavailableError("logs API throttled (ThrottlingException)")

    def log_groups(self, *args: Any, **kwargs: Any) -> list[Any]:
        raise BackendUnavailableError("logs API throttled (ThrottlingException)")


def test_a_failing_source_gives_a_partial_result_with_lower_confidence(
    make_deps: DepsFactory, spec: ScenarioSpec, scenario_dir: Path
) -> None:
    full = run_investigation(spec.trigger, make_deps())
    with LogsDown() as broken:
        broken.import_scenario(scenario_dir)
        partial = run_investigation(spec.trigger, make_deps(backend=broken))

    assert partial.hypotheses[0].service == "payments"
    assert partial.hypotheses[0].confidence < full.hypotheses[0].confidence
    assert any("logs unavailable" in flag for flag in partial.hypotheses[0].flags)
    assert any("logs unavailable" in n and "ThrottlingException" in n for n in partial.notes)


def test_an_injected_instruction_in_a_log_line_does_not_change_the_ranking(
    make_deps: DepsFactory, spec: ScenarioSpec, clean_scenario_dir: Path
) -> None:
    injected = run_investigation(spec.trigger, make_deps())
    with LocalBackend.from_scenario(clean_scenario_dir) as clean_backend:
        clean = run_investigation(spec.trigger, make_deps(backend=clean_backend))

    def ranking(result: object) -> list[tuple[str, str]]:
        return [(h.service, h.fault_type.value) for h in result.hypotheses]  # type: ignore[attr-defined]

    assert ranking(injected) == ranking(clean)
    assert injected.hypotheses[0].service == "payments"


def test_review_pause_then_a_rejection_reranks_and_the_run_finishes(
    make_deps: DepsFactory, spec: ScenarioSpec
) -> None:
    deps = make_deps(human_review=True)
    with pytest.raises(AwaitingReview) as paused:
        run_investigation(spec.trigger, deps, investigation_id="inv-review")
    assert paused.value.payload["hypotheses"][0]["service"] == "payments"

    with pytest.raises(AwaitingReview) as again:  # the answer sends the run back through hypothesize
        resume_investigation(
            "inv-review",
            deps,
            {
                "reject": [1],
                "add_evidence": [{"service": "checkout", "text": "payments returned", "note": "pager"}],
            },
        )
    assert again.value.payload["hypotheses"][-1]["service"] == "payments"

    result = resume_investigation("inv-review", deps, {"accept": [1]})

    assert result.hypotheses[-1].service == "payments"
    assert "rejected by reviewer" in result.hypotheses[-1].flags
    human = [ev for ev in result.evidence if ev.id.startswith("human-")]
    assert human and "(reviewer: pager)" in human[0].description


class CrashOnce:
    """A reasoner that dies the first time, like a worker killed mid-investigation."""

    name = "offline"

    def __init__(self, inner: OfflineReasoner) -> None:
        self.inner = inner
        self.calls = 0

    def hypothesize(self, request: ReasoningRequest, context: Any = None) -> ReasoningReply:
        self.calls += 1
        if self.calls == 1:
            raise RuntimeError("worker killed")
        return self.inner.hypothesize(request, context)


def test_a_crashed_investigation_resumes_from_its_checkpoint_without_gathering_again(
    make_deps: DepsFactory, spec: ScenarioSpec, tmp_path: Path, analysis: object
) -> None:
    db = tmp_path / "checkpoints.sqlite"
    first = sqlite_checkpointer(db)
    crashing = CrashOnce(OfflineReasoner(analysis))  # type: ignore[arg-type]
    with pytest.raises(RuntimeError, match="worker killed"):
        run_investigation(
            spec.trigger, make_deps(checkpointer=first, reasoner=crashing), investigation_id="inv-crash"
        )
    close_checkpointer(first)

    events: list[str] = []
    reopened = sqlite_checkpointer(db)  # a new process: a new connection to the same file
    result = resume_investigation(
        "inv-crash",
        make_deps(checkpointer=reopened, reasoner=crashing),
        on_event=lambda e: events.append(e.step),
    )

    assert result.hypotheses[0].service == "payments"
    assert "gather" not in events and "scope" not in events
    assert crashing.calls == 2


def test_a_postgres_checkpoint_url_without_the_driver_says_what_to_install(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("SLEUTH_CHECKPOINT_URL", "postgresql://sleuth@db/sleuth")
    monkeypatch.setitem(sys.modules, "langgraph.checkpoint.postgres", None)  # as without the extra
    with pytest.raises(SleuthError, match="pip install 'langgraph-checkpoint-postgres'"):
        open_checkpointer()


def test_an_unreachable_postgres_checkpoint_url_is_one_line_naming_the_url(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    pytest.importorskip("langgraph.checkpoint.postgres", reason="the scale extra is not installed")
    monkeypatch.setenv("SLEUTH_CHECKPOINT_URL", "postgresql://sleuth@127.0.0.1:1/sleuth")
    with pytest.raises(
        SleuthError, match=r"cannot open the checkpoints at postgresql://sleuth@127\.0\.0\.1:1"
    ):
        open_checkpointer()


def test_checkpoints_revive_the_state_models_they_stored(
    make_deps: DepsFactory, spec: ScenarioSpec, tmp_path: Path
) -> None:
    db = tmp_path / "checkpoints.sqlite"
    saver = sqlite_checkpointer(db)
    run_investigation(spec.trigger, make_deps(checkpointer=saver), investigation_id="inv-typed")
    close_checkpointer(saver)

    reopened = sqlite_checkpointer(db)
    state = saved_state("inv-typed", reopened)
    close_checkpointer(reopened)

    assert state is not None and state.result is not None
    assert isinstance(state.scope, Scope) and isinstance(state.findings[0], StepResult)
    assert state.findings[0].signals and state.findings[0].signals[0].evidence.id
    assert state.result.hypotheses[0].service == "payments"


def test_the_report_step_hands_the_result_to_the_drafter_and_records_the_files(
    make_deps: DepsFactory, spec: ScenarioSpec, tmp_path: Path
) -> None:
    saver = sqlite_checkpointer(":memory:")
    deps = make_deps(checkpointer=saver, report_dir=str(tmp_path / "report"), drafter=coe_drafter())
    run_investigation(spec.trigger, deps, investigation_id="inv-report")
    state = saved_state("inv-report", saver)

    assert state is not None
    assert Path(state.report["markdown"]).read_text(encoding="utf-8").strip()
    assert Path(state.report["html"]).exists()


def test_the_offline_graph_ranks_like_the_engine_except_what_verification_refutes(
    make_deps: DepsFactory, spec: ScenarioSpec, backend: LocalBackend
) -> None:
    direct = investigate_engine_only(backend, spec)
    graph = run_investigation(spec.trigger, make_deps())

    assert (graph.hypotheses[0].service, graph.hypotheses[0].fault_type) == (
        direct.hypotheses[0].service,
        direct.hypotheses[0].fault_type,
    )
    assert sorted((h.service, h.fault_type) for h in graph.hypotheses) == sorted(
        (h.service, h.fault_type) for h in direct.hypotheses
    )
    # Only a hypothesis the data contradicts may move; the rest keep the engine's order.
    standing = [h.service for h in graph.hypotheses if h.verified is not False]
    assert standing == [h.service for h in direct.hypotheses if h.service in standing]
    assert graph.onset == direct.onset
    assert graph.affected_services == direct.affected_services
    assert graph.detection == direct.detection


def test_the_result_event_carries_the_result_itself(make_deps: DepsFactory, spec: ScenarioSpec) -> None:
    events = list(stream_investigation(spec.trigger, make_deps()))

    last = events[-1]
    assert last.kind is EventKind.RESULT and isinstance(last.result, InvestigationResult)
    assert last.result.id == last.data["id"] and "result" not in last.data


def test_evidence_ids_are_given_once_by_the_gather_steps_and_cited_as_given(
    make_deps: DepsFactory, spec: ScenarioSpec
) -> None:
    result = run_investigation(spec.trigger, make_deps())

    gathered = [
        e.id
        for e in result.evidence
        if e.id.split("-")[0] in {"traces", "metrics", "logs", "changes", "slos_alarms"}
    ]
    assert gathered and len(gathered) == len(set(gathered))
    by_id = {e.id: e for e in result.evidence}
    for h in result.hypotheses:
        for cited in h.evidence:
            assert by_id[cited.id] == cited


def test_a_checkpoint_another_version_wrote_is_refused_with_one_clear_line(make_deps: DepsFactory) -> None:
    class OldState(TypedDict, total=False):
        id: str
        scope: dict[str, Any]

    saver = sqlite_checkpointer(":memory:")
    old = StateGraph(OldState)
    old.add_node("scope", lambda state: {"scope": {"question": "q", "payload": {"engine": "scope"}}})
    old.add_edge(START, "scope")
    old.add_edge("scope", END)
    old.compile(checkpointer=saver).invoke({"id": "inv-old"}, {"configurable": {"thread_id": "inv-old"}})

    with pytest.raises(
        IncompatibleCheckpointError, match=r"inv-old was checkpointed by another version .*scope\.window"
    ):
        saved_state("inv-old", saver)
    with pytest.raises(IncompatibleCheckpointError):
        resume_investigation("inv-old", make_deps(checkpointer=saver), {"accept": [1]})


def test_a_secret_in_the_question_the_trigger_or_a_review_answer_is_redacted_before_the_run_keeps_it(
    make_deps: DepsFactory, spec: ScenarioSpec
) -> None:
    trigger = spec.trigger.model_copy(update={"text": "5xx after rotating AKIAIOSFODNN7EXAMPLE"})
    deps = make_deps(human_review=True)
    with pytest.raises(AwaitingReview):
        run_investigation(
            trigger, deps, investigation_id="inv-secret", question="why? slack said password=hunter2xyz"
        )
    answer = {
        "accept": [1],
        "add_evidence": [{"service": "payments", "text": "pager: xoxb-1234567890-abcdefghij"}],
    }
    with pytest.raises(AwaitingReview):
        resume_investigation("inv-secret", deps, answer)
    result = resume_investigation("inv-secret", deps, {"accept": [1]})

    dumped = result.model_dump_json()
    assert result.question == "why? slack said password=[REDACTED:secret]"
    assert "5xx after rotating [REDACTED:aws_access_key]" in dumped
    assert "hunter2xyz" not in dumped and "AKIAIOSFODNN7EXAMPLE" not in dumped and "abcdefghij" not in dumped
    assert any("[REDACTED:slack_token]" in ev.description for ev in result.evidence)
