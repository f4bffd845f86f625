from __future__ import annotations

from pathlib import Path
from typing import Any

import anthropic
import anyio
import httpx
import httpx2
import pytest
import respx

from agent.analysis import AnalysisSteps
from agent.checkpoints import close_checkpointer, sqlite_checkpointer
from agent.context import Budgets
from agent.errors import AwaitingReview
from agent.events import EventKind, ProgressEvent
from agent.prompts import SYSTEM_PROMPT
from agent.reasoners.claude import ClaudeReasoner, run_async
from agent.reasoners.offline import OfflineReasoner
from agent.reasoners.retry import RetryPolicy
from agent.reasoners.toolbox import McpToolbox
from agent.run import resume_investigation, run_investigation
from agent.wiring import sleuth_tools_server
from mcp_server.backends.base import TelemetryBackend
from mcp_server.scenario import ScenarioSpec
from tests.agent.conftest import DepsFactory
from tests.agent.reasoners.scripted_claude import (
    ScriptedClaude,
    hypothesis,
    message,
    respx_transport,
    submit,
    text,
    tool_use,
)
from tests.agent.scenario_builder import INJECTION


class Sleeps:
    def __init__(self) -> None:
        self.seconds: list[float] = []

    def __call__(self, seconds: float) -> None:
        self.seconds.append(seconds)


def claude(
    scripted: ScriptedClaude, backend: TelemetryBackend, analysis: AnalysisSteps, sleeps: Sleeps | None = None
) -> ClaudeReasoner:
    return ClaudeReasoner(
        scripted.client(),
        offline=OfflineReasoner(analysis),
        toolbox=lambda context: McpToolbox(sleuth_tools_server(backend)),
        model="claude-scripted",
        retry=RetryPolicy(attempts=3, sleep=sleeps or Sleeps(), rand=lambda: 0.5),
    )


def test_a_multi_step_tool_use_investigation_ranks_from_cited_tool_results(
    make_deps: DepsFactory, spec: ScenarioSpec, backend: TelemetryBackend, analysis: AnalysisSteps
) -> None:
    scripted = ScriptedClaude(
        [
            message(text("Where do the errors start?"), tool_use("trace_hotspots", {}, "tu_1")),
            message(
                tool_use("query_logs", {"service": "payments", "min_severity": "ERROR", "limit": 5}, "tu_2")
            ),
            submit(
                hypothesis("payments", "dependency_throttling", ["tool-1-1", "tool-1-2", "traces-1"], 0.9)
            ),
        ]
    )
    result = run_investigation(spec.trigger, make_deps(reasoner=claude(scripted, backend, analysis)))

    top = result.hypotheses[0]
    assert (top.service, top.fault_type.value, top.confidence) == ("payments", "dependency_throttling", 0.9)
    # trace_hotspots was asked about no service, so its result backs no service's hypothesis
    assert [ev.id for ev in top.evidence][:2] == ["tool-1-2", "traces-1"]
    assert "citations not about payments ignored: tool-1-1" in top.flags
    assert result.reasoner == "anthropic"
    assert result.tool_calls >= 2 and result.tokens == {"input": 300, "output": 60}
    hotspots = scripted.tool_results(1)[0]
    assert not hotspots["is_error"]
    assert "payments DynamoDB.PutItem" in hotspots["content"] and "<untrusted-data" in hotspots["content"]
    assert all(request["system"] == SYSTEM_PROMPT for request in scripted.requests)
    assert any(t["name"] == "submit_hypotheses" for t in scripted.requests[0]["tools"])


def test_a_malformed_or_forbidden_tool_call_is_answered_with_an_error_the_model_can_fix(
    make_deps: DepsFactory, spec: ScenarioSpec, backend: TelemetryBackend, analysis: AnalysisSteps
) -> None:
    scripted = ScriptedClaude(
        [
            message(
                tool_use("query_logs", {"limit": "lots"}, "tu_1"), tool_use("restart_service", {}, "tu_2")
            ),
            message(tool_use("query_logs", ["payments"], "tu_3")),
            message(tool_use("trace_hotspots", {"service": "payments"}, "tu_4")),
            submit(hypothesis("payments", "dependency_throttling", ["tool-1-1"])),
        ]
    )
    result = run_investigation(spec.trigger, make_deps(reasoner=claude(scripted, backend, analysis)))

    bad_args, forbidden = scripted.tool_results(1)
    assert bad_args["is_error"] and "limit" in bad_args["content"]
    assert forbidden["is_error"] and "not permitted" in forbidden["content"]
    assert scripted.tool_results(2)[0]["is_error"]  # arguments that are not an object
    assert result.reasoner == "anthropic"
    assert result.hypotheses[0].evidence[0].source_query == 'trace_hotspots {"service":"payments"}'


def test_a_rate_limit_is_retried_with_backoff_and_then_succeeds(
    make_deps: DepsFactory, spec: ScenarioSpec, backend: TelemetryBackend, analysis: AnalysisSteps
) -> None:
    sleeps = Sleeps()
    scripted = ScriptedClaude([429, submit(hypothesis("payments", "dependency_throttling", ["traces-1"]))])
    events: list[ProgressEvent] = []
    result = run_investigation(
        spec.trigger, make_deps(reasoner=claude(scripted, backend, analysis, sleeps)), on_event=events.append
    )

    assert result.reasoner == "anthropic"
    assert sleeps.seconds == [0.5]  # jitter 0.5 x base 1s x 2**0
    assert any("RateLimitError (HTTP 429), retrying" in e.message for e in events)


def test_an_api_outage_falls_back_to_the_offline_reasoner_and_says_so(
    make_deps: DepsFactory, spec: ScenarioSpec, backend: TelemetryBackend, analysis: AnalysisSteps
) -> None:
    sleeps = Sleeps()
    scripted = ScriptedClaude([529, 503, httpx2.ReadTimeout("scripted timeout")])
    events: list[ProgressEvent] = []
    result = run_investigation(
        spec.trigger, make_deps(reasoner=claude(scripted, backend, analysis, sleeps)), on_event=events.append
    )

    assert len(scripted.requests) == 3 and sleeps.seconds == [0.5, 1.0]
    assert result.reasoner == "offline"
    assert result.hypotheses[0].service == "payments"
    assert "offline fallback" in result.hypotheses[0].flags
    assert any("fell back to the offline reasoner" in n and "APITimeoutError" in n for n in result.notes)
    assert [e for e in events if e.kind is EventKind.FALLBACK]


def test_an_injected_instruction_in_a_log_line_cannot_steer_the_ranking_or_reach_a_mutating_tool(
    make_deps: DepsFactory, spec: ScenarioSpec, backend: TelemetryBackend, analysis: AnalysisSteps
) -> None:
    obeying = hypothesis("checkout", "bad_deployment", ["tool-1-1"], confidence=1.0)
    scripted = ScriptedClaude(
        [
            message(tool_use("query_logs", {"service": "frontend", "text": "instructions"}, "tu_1")),
            message(tool_use("restart_service", {"service": "payments"}, "tu_2")),
            submit(obeying, use_id="tu_3"),
            submit(obeying, use_id="tu_4"),
        ]
    )
    offline = run_investigation(spec.trigger, make_deps())
    result = run_investigation(spec.trigger, make_deps(reasoner=claude(scripted, backend, analysis)))

    log_result = scripted.tool_results(1)[0]["content"]
    assert "IGNORE PREVIOUS INSTRUCTIONS" in log_result
    assert (
        log_result.index("<untrusted-data")
        < log_result.index("IGNORE")
        < log_result.index("</untrusted-data")
    )
    assert "not permitted" in scripted.tool_results(2)[0]["content"]
    assert [(h.service, h.fault_type) for h in result.hypotheses] == [
        (h.service, h.fault_type) for h in offline.hypotheses
    ]
    assert any("dropped hypothesis checkout/bad_deployment" in n for n in result.notes)
    assert INJECTION not in SYSTEM_PROMPT


def test_an_investigation_resumes_after_a_review_interrupt_and_the_model_sees_the_feedback(
    make_deps: DepsFactory,
    spec: ScenarioSpec,
    backend: TelemetryBackend,
    analysis: AnalysisSteps,
    tmp_path: Path,
) -> None:
    scripted = ScriptedClaude(
        [
            submit(
                hypothesis("payments", "dependency_throttling", ["traces-1"]),
                hypothesis("frontend", "bad_deployment", ["changes-1"], 0.4),
            ),
            submit(hypothesis("payments", "dependency_throttling", ["traces-1", "human-1-1-1"], 0.95)),
        ]
    )
    db = tmp_path / "checkpoints.sqlite"
    first = sqlite_checkpointer(db)
    deps = make_deps(reasoner=claude(scripted, backend, analysis), human_review=True, checkpointer=first)
    with pytest.raises(AwaitingReview) as paused:
        run_investigation(spec.trigger, deps, investigation_id="inv-claude-review")
    close_checkpointer(first)
    assert [h["service"] for h in paused.value.payload["hypotheses"]][:2] == ["payments", "frontend"]

    reopened = sqlite_checkpointer(db)
    deps = make_deps(reasoner=claude(scripted, backend, analysis), human_review=True, checkpointer=reopened)
    answer: dict[str, Any] = {"reject": [2], "add_evidence": [{"service": "payments", "text": "Throughput"}]}
    with pytest.raises(AwaitingReview):
        resume_investigation("inv-claude-review", deps, answer)
    result = resume_investigation("inv-claude-review", deps, {"accept": [1]})

    second_prompt = scripted.requests[1]["messages"][0]["content"]
    assert "reviewed the previous ranking" in second_prompt and "frontend/bad_deployment" in second_prompt
    assert "[human-1-1-1]" in second_prompt
    assert result.hypotheses[0].confidence == 0.95
    assert "accepted by reviewer" in result.hypotheses[0].flags
    assert not scripted.script


def test_when_the_tool_budget_is_spent_the_model_is_made_to_submit_and_results_are_compacted(
    make_deps: DepsFactory, spec: ScenarioSpec, backend: TelemetryBackend, analysis: AnalysisSteps
) -> None:
    scripted = ScriptedClaude(
        [
            message(
                tool_use("search_traces", {"service": "payments", "errors_only": True, "limit": 50}, "tu_1")
            ),
            submit(hypothesis("payments", "dependency_throttling", ["tool-1-1"])),
        ]
    )
    reasoner = claude(scripted, backend, analysis)
    reasoner.tool_result_chars = 800
    used_by_gather = len(analysis.sources)  # one call per gather branch
    result = run_investigation(
        spec.trigger, make_deps(reasoner=reasoner, budgets=Budgets(max_tool_calls=used_by_gather + 1))
    )

    assert scripted.requests[0]["tool_choice"] == {"type": "auto"}
    assert scripted.requests[1]["tool_choice"] == {"type": "tool", "name": "submit_hypotheses"}
    compacted = scripted.tool_results(1)[0]["content"]
    assert "cut" in compacted and len(compacted) < 1_200
    assert result.reasoner == "anthropic"


def test_claude_scripted_through_a_respx_route_retries_a_429_then_ranks(
    make_deps: DepsFactory, spec: ScenarioSpec, backend: TelemetryBackend, analysis: AnalysisSteps
) -> None:
    router = respx.Router(assert_all_called=True)
    route = router.post("https://api.anthropic.com/v1/messages").mock(
        side_effect=[
            httpx.Response(
                429, json={"type": "error", "error": {"type": "rate_limit_error", "message": "slow"}}
            ),
            httpx.Response(200, json=submit(hypothesis("payments", "dependency_throttling", ["traces-1"]))),
        ]
    )
    client = anthropic.Anthropic(
        api_key="test-key", max_retries=0, http_client=httpx2.Client(transport=respx_transport(router))
    )
    sleeps = Sleeps()
    reasoner = ClaudeReasoner(
        client,
        offline=OfflineReasoner(analysis),
        toolbox=lambda context: McpToolbox(sleuth_tools_server(backend)),
        retry=RetryPolicy(attempts=3, sleep=sleeps, rand=lambda: 0.5),
    )

    result = run_investigation(spec.trigger, make_deps(reasoner=reasoner))

    assert route.call_count == 2 and sleeps.seconds == [0.5]
    assert (result.reasoner, result.hypotheses[0].service) == ("anthropic", "payments")


def test_the_async_tool_loop_also_runs_when_the_caller_is_already_inside_an_event_loop() -> None:
    async def tool_loop() -> str:
        await anyio.sleep(0)
        return "ranked"

    async def async_caller() -> str:  # e.g. a Slack handler calling run_investigation directly
        return str(run_async(tool_loop))

    assert run_async(tool_loop) == "ranked"
    assert anyio.run(async_caller) == "ranked"
