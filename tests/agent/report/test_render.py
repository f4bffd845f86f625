from __future__ import annotations

import json
import re
from pathlib import Path

from agent.report import IncidentReport, draft_and_write, write_report
from agent.report.customer_rca import render_customer_markdown
from agent.report.render_html import render_html
from agent.report.render_markdown import render_markdown
from knowledge.documents import CoeDocument, load_document
from mcp_server.backends.local import LocalBackend
from mcp_server.taxonomy import FaultType
from tests.agent.report.incident_fixtures import result_for

SECTIONS = [
    "Summary",
    "Customer impact",
    "Metrics and graphs",
    "Timeline (UTC)",
    "What went well",
    "Incident response analysis",
    "Five whys",
    "Lessons learned",
    "Action items",
    "Report assessment",
]


def test_markdown_has_every_coe_section_in_order_and_a_mermaid_tree(
    single_host_report: IncidentReport,
) -> None:
    text = render_markdown(single_host_report)

    positions = [text.index(f"## {name}\n") for name in SECTIONS]
    assert positions == sorted(positions)
    assert "```mermaid\ngraph TD" in text
    assert "  - **1.1 Why did frontend return errors to customers?**" in text  # nested list = tree


def test_every_citation_in_the_markdown_resolves_to_an_evidence_row(
    single_host_report: IncidentReport,
) -> None:
    text = render_markdown(single_host_report)
    body, evidence = text.split("## Evidence")

    cited = set(re.findall(r"\[((?:ev|rep)-[\w-]+)\]", body))
    assert cited
    assert all(f'<a id="{evidence_id}"></a>' in evidence for evidence_id in cited)


def test_html_is_self_contained_and_draws_the_tree(single_host_report: IncidentReport) -> None:
    html = render_html(single_host_report)

    assert not re.search(r"""(src|href)=["']?(https?:)?//""", html)
    assert "<script" not in html and "<link" not in html and "@import" not in html
    assert html.count('src="data:image/svg+xml;base64,') == 4  # SLI, errors, latency and the per-host chart
    assert html.count('class="why ') == len(single_host_report.five_whys.walk())
    assert '<ul class="tree">' in html
    for item in single_host_report.action_items:
        assert f'href="#why-{item.why_addressed}"' in html


def test_coe_json_is_read_back_by_the_knowledge_loader(
    single_host_report: IncidentReport, tmp_path: Path
) -> None:
    paths = write_report(single_host_report, tmp_path)

    loaded = load_document(paths.json)
    assert isinstance(loaded, CoeDocument)
    assert loaded.origin == "investigation"
    assert loaded.fault_types == single_host_report.fault_types
    assert [n.id for n in loaded.five_whys.walk()] == [n.id for n in single_host_report.five_whys.walk()]
    assert {i.why_addressed for i in loaded.action_items} <= {n.id for n in loaded.five_whys.walk()}
    assert len(loaded.timeline) == sum(1 for e in single_host_report.timeline if e.time is not None)


def test_write_report_writes_markdown_with_chart_files_html_and_json(
    single_host_report: IncidentReport, tmp_path: Path
) -> None:
    paths = write_report(single_host_report, tmp_path)

    markdown = paths.markdown.read_text(encoding="utf-8")
    for chart in re.findall(r"!\[[^\]]*\]\(([^)]+)\)", markdown):
        assert (tmp_path / chart).read_text(encoding="utf-8").startswith("<svg")
    assert paths.html.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")
    full = json.loads(paths.report_json.read_text(encoding="utf-8"))
    assert full["id"] == single_host_report.id and "svg" not in full["charts"][0]


def test_customer_rca_speaks_of_public_functions_without_internal_names_or_blame(
    single_host_report: IncidentReport,
) -> None:
    text = render_customer_markdown(single_host_report)

    assert "`GET /api/visits`" in text
    internal = {"frontend", "visits-2", "visits-1", "visits-3", "us-east-1b", "pipeline", "v2.4.1"}
    internal |= {e.service for e in single_host_report.evidence if e.service}
    scrubbed = text.replace("GET /api/visits", "")
    assert not [name for name in internal if re.search(rf"\b{re.escape(name)}\b", scrubbed)]
    assert "TBD" not in text
    assert not re.search(r"\b(engineer|operator|human error|mistake|fault of)\b", text, re.IGNORECASE)


def test_draft_and_write_uses_the_bundled_past_coes_and_returns_every_path(
    incident_backend: LocalBackend, tmp_path: Path
) -> None:
    result = result_for(FaultType.SINGLE_HOST_FAILURE, component="visits-2")

    written = draft_and_write(result, incident_backend, tmp_path)

    assert set(written) == {"markdown", "html", "coe_json", "customer_rca", "report_json"}
    assert all(path.is_file() for path in written.values())


def test_a_service_name_ending_in_s_takes_a_plain_apostrophe(single_host_report: IncidentReport) -> None:
    text = render_markdown(single_host_report)

    assert "visits's" not in text and "visits' " in text
