from __future__ import annotations

from agent.report import IncidentReport, NarrationError, NarrationRequest, assess_completeness, draft_report
from agent.report.completeness import report_completeness
from agent.report.narrative import invented_numbers
from agent.wiring import investigate_engine_only
from mcp_server.backends.local import LocalBackend
from mcp_server.taxonomy import FaultType
from tests.agent.report.incident_fixtures import result_for


class ScriptedNarrator:
    """Stands in for the model: returns canned prose per section and records what it was shown."""

    def __init__(self, replies: dict[str, str]) -> None:
        self.replies = replies
        self.requests: list[NarrationRequest] = []

    def __call__(self, request: NarrationRequest) -> str:
        self.requests.append(request)
        if request.section not in self.replies:
            raise NarrationError(f"no scripted reply for {request.section}")
        return self.replies[request.section]


def test_narrator_rewrites_the_prose_while_structure_and_citations_stay(
    incident_backend: LocalBackend,
) -> None:
    result = result_for(FaultType.SINGLE_HOST_FAILURE, component="visits-2")
    template = draft_report(result, incident_backend)
    narrator = ScriptedNarrator(
        {
            "summary": "For twenty minutes half of the visit lookups failed.",
            "lessons_learned": "Health checks must fail when requests fail.",
        }
    )

    narrated = draft_report(result, incident_backend, narrator=narrator, narrator_name="scripted")

    assert narrated.summary_text() == "For twenty minutes half of the visit lookups failed."
    assert set(narrated.summary[0].evidence) == {e for c in template.summary for e in c.evidence}
    assert narrated.five_whys == template.five_whys
    assert narrated.action_items == template.action_items
    shown = narrator.requests[0]
    assert shown.section == "summary" and {e.id for e in shown.evidence} == set(narrated.summary[0].evidence)
    assert narrated.narrator == "scripted"


def test_a_failing_narrator_keeps_the_template_and_says_so(incident_backend: LocalBackend) -> None:
    result = result_for(FaultType.SINGLE_HOST_FAILURE, component="visits-2")

    report = draft_report(result, incident_backend, narrator=ScriptedNarrator({"summary": "Short prose."}))

    assert report.summary_text() == "Short prose."
    assert len(report.lessons_learned) > 1  # template kept
    assert any("narrator failed on lessons_learned" in n for n in report.assessment.notes)


def test_a_full_report_is_complete_and_every_claim_is_cited(single_host_report: IncidentReport) -> None:
    completeness = assess_completeness(single_host_report)

    assert completeness.missing_sections == []
    assert completeness.uncited == []
    assert report_completeness(single_host_report) == 1.0


def test_completeness_drops_for_missing_sections_and_uncited_claims(
    single_host_report: IncidentReport,
) -> None:
    damaged = single_host_report.model_copy(deep=True)
    damaged.charts = []
    damaged.lessons_learned = []
    damaged.five_whys.children[0].evidence = ["ev-does-not-exist"]
    damaged.five_whys.children[0].needs_human_input = False

    completeness = assess_completeness(damaged)

    assert completeness.missing_sections == ["metrics", "lessons_learned"]
    assert completeness.uncited == [f"five whys 1.1: {damaged.five_whys.children[0].question[:60]}"]
    assert 0.8 < completeness.score < 0.95


def test_a_narrator_that_adds_numbers_not_in_the_evidence_is_ignored(incident_backend: LocalBackend) -> None:
    result = result_for(FaultType.SINGLE_HOST_FAILURE, component="visits-2")
    narrator = ScriptedNarrator(
        {
            "summary": "About 4,000 customers could not book visits for 45 minutes.",
            "lessons_learned": "Check hosts.",
        }
    )

    report = draft_report(result, incident_backend, narrator=narrator)

    assert "4,000" not in report.summary_text()
    assert report.summary_text().startswith("Starting at 10:30 UTC")
    assert any("numbers not in the evidence (4,000, 45)" in n for n in report.assessment.notes)
    assert report.lessons_learned[0].text == "Check hosts."


def test_rounded_numbers_from_the_evidence_are_allowed() -> None:
    sources = ["300 of 600 requests failed, peaking at 50.0% at 10:30 UTC"]

    assert invented_numbers("Half (50%) of 600 requests failed from 10:30; 300 failed.", sources) == []
    assert invented_numbers("51% failed", sources) == ["51"]


def test_a_mitigation_that_is_only_the_runbook_is_named_once_in_the_summary(
    incident_backend: LocalBackend,
) -> None:
    result = result_for(FaultType.ERROR_EXCEPTION).model_copy(update={"mitigations": []})

    report = draft_report(result, incident_backend)

    summary = " ".join(c.text for c in report.summary)
    assert report.mitigation is not None and report.mitigation.is_the_runbook
    assert summary.count(report.mitigation.runbook_title or "?") == 1
    assert f"({report.mitigation.runbook_id})" in summary


def test_the_summary_and_the_first_why_name_the_cause_and_its_fault_once_when_the_engine_summary_opens_with_them(
    incident_backend: LocalBackend,
) -> None:
    result = result_for(FaultType.ERROR_EXCEPTION)
    top = result.hypotheses[0].model_copy(
        update={"summary": "visits: error exception (its own requests fail more often). errors rose"}
    )
    report = draft_report(
        result.model_copy(update={"hypotheses": [top, *result.hypotheses[1:]]}), incident_backend
    )

    cause = next(c.text for c in report.summary if c.text.startswith("The investigation traced"))
    assert cause == (
        "The investigation traced the failures to visits: error exception (its own requests fail more often). "
        "errors rose"
    )
    root = report.five_whys.answer
    assert (
        "The investigation traced it to visits: error exception (its own" in root
        and "visits: visits" not in root
    )


def test_how_the_hypotheses_were_ranked_is_a_note_of_the_assessment_not_missing_data(
    incident_backend: LocalBackend,
) -> None:
    result = investigate_engine_only(incident_backend, incident_backend.scenario_spec())
    report = draft_report(result, incident_backend)

    assert result.reasoner == "offline"
    assert not any("language model" in line for line in report.assessment.missing_data)
    assert report.assessment.notes[0] == (
        "Hypotheses were ranked by the statistical engine alone, without a language model."
    )
