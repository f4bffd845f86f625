"""The COE as one self-contained HTML file: inline CSS, charts as SVG data URIs, the five whys drawn
as a tree of boxes (plus its Mermaid source), citations linking to the evidence table. No script,
no font or stylesheet from the network: it opens offline.
"""

from __future__ import annotations

import base64
from html import escape

from agent.report.action_items import TERM_MEANING, TERM_ORDER
from agent.report.model import Claim, IncidentReport
from agent.report.render_markdown import BRANCH_LABEL, impact_rows, mermaid_source
from knowledge.documents import WhyNode

CSS = """
body{font:14px/1.45 system-ui,-apple-system,Segoe UI,Helvetica,Arial,sans-serif;color:#1d2430;margin:0;background:#f6f7f9}
main{max-width:1180px;margin:0 auto;padding:24px 32px;background:#fff;overflow-wrap:anywhere}
h1{font-size:24px;margin:0 0 4px}h2{font-size:18px;border-bottom:1px solid #dde1e6;padding-bottom:4px;margin-top:32px}
.meta{color:#5c6773;font-size:12px}.cite{font-size:11px;color:#2f6fb2;text-decoration:none;margin-left:2px}
.human{background:#fff3e0;color:#9a4d00;border-radius:3px;padding:0 4px;font-size:11px;white-space:nowrap}
table{border-collapse:collapse;width:100%;font-size:13px;table-layout:auto}td,th{border:1px solid #dde1e6;padding:4px 6px;text-align:left;vertical-align:top;overflow-wrap:anywhere}td.nw{white-space:nowrap;overflow-wrap:normal}
th{background:#f0f2f5;white-space:nowrap}tr.placeholder td{background:#fffaf2;color:#7a5b2e}
.chart{margin:10px 0 18px}.chart img{width:100%;border:1px solid #eceff2}
.tree,.tree ul{list-style:none;margin:0;padding-left:26px;position:relative}.tree{padding-left:0}
.tree li{position:relative;padding:6px 0 0 14px}
.tree ul li::before{content:"";position:absolute;left:0;top:0;height:100%;border-left:2px solid #b8c2cc}
.tree ul li:last-child::before{height:26px}
.tree ul li::after{content:"";position:absolute;left:0;top:26px;width:14px;border-top:2px solid #b8c2cc}
.why{display:inline-block;overflow-wrap:anywhere;border:1px solid #b8c2cc;border-left:5px solid #7f8c8d;border-radius:6px;padding:6px 10px;background:#fbfcfd;max-width:880px}
.why.trigger{border-left-color:#c0392b}.why.blast_radius{border-left-color:#d35400}.why.detection{border-left-color:#2471a3}
.why.recurrence{border-left-color:#7d3c98}.why.needs-human{border-style:dashed;border-left-style:solid;background:#fffaf2}
.why .q{font-weight:600}.why .id{color:#5c6773;font-size:11px;margin-right:4px}.branch{font-size:10px;text-transform:uppercase;letter-spacing:.04em;color:#5c6773;margin-left:6px}
details{margin-top:8px}pre{background:#f0f2f5;padding:8px;overflow:auto;font-size:12px}
.impact td:first-child{width:220px;color:#5c6773}
"""


def _cites(evidence: list[str]) -> str:
    return "".join(f'<a class="cite" href="#{escape(e)}">[{escape(e)}]</a>' for e in evidence)


def _claim(claim: Claim) -> str:
    flag = (
        ' <span class="human">needs human input</span>'
        if claim.needs_human_input and not claim.evidence
        else ""
    )
    return f"{escape(claim.text)}{_cites(claim.evidence)}{flag}"


def _list(claims: list[Claim]) -> str:
    return (
        "<ul>" + "".join(f"<li>{_claim(c)}</li>" for c in claims) + "</ul>"
        if claims
        else "<p><em>none</em></p>"
    )


def _tree(node: WhyNode, depth: int = 0) -> str:
    classes = ["why", node.branch.value] + (["needs-human"] if node.needs_human_input else [])
    label = BRANCH_LABEL[node.branch]
    branch = f'<span class="branch">{escape(label)}</span>' if label and depth == 1 else ""
    flag = ' <span class="human">needs human input</span>' if node.needs_human_input else ""
    box = (
        f'<div class="{" ".join(classes)}" id="why-{escape(node.id)}"><span class="id">{escape(node.id)}</span>'
        f'<span class="q">{escape(node.question)}</span>{branch}<div>{escape(node.answer)}{_cites(node.evidence)}{flag}</div></div>'
    )
    children = "<ul>" + "".join(_tree(c, depth + 1) for c in node.children) + "</ul>" if node.children else ""
    return f"<li>{box}{children}</li>"


def _data_uri(svg: str) -> str:
    return "data:image/svg+xml;base64," + base64.b64encode(svg.encode("utf-8")).decode("ascii")


def _fault_section(report: IncidentReport) -> list[str]:
    section = report.fault_section
    if section is None:
        return []
    parts = [f"<h2>{escape(section.title)}</h2>", _list(section.claims)]
    chart = section.chart
    if chart is not None:
        parts.append(
            f'<div class="chart" id="chart-{escape(chart.id)}"><img alt="{escape(chart.title)}" src="{_data_uri(chart.svg)}">'
            f"<div><strong>{escape(chart.title)}.</strong> {escape(chart.caption)}{_cites(chart.evidence)}</div></div>"
        )
    plan = report.mitigation
    if plan is not None:
        runbook = f" (runbook: {plan.runbook_title}, {plan.runbook_id})" if plan.runbook_id else ""
        parts.append(
            f"<p><strong>Mitigation{escape(runbook)}.</strong> {escape(plan.action)}.{_cites(plan.evidence)}</p>"
        )
    return parts


def render_html(report: IncidentReport) -> str:
    impact = report.customer_impact
    parts = [
        f"<h1>{escape(report.title)}</h1>",
        f'<div class="meta">Correction of Error draft {escape(report.id)} · {report.date} · services: '
        f"{escape(', '.join(report.services) or 'unknown')} · fault: {escape(', '.join(f.value for f in report.fault_types) or 'unknown')}"
        f" · severity: {escape(report.severity or 'TBD')} · drafted by Sleuth ({escape(report.narrator)})</div>",
        "<h2>Summary</h2>",
        "<p>" + " ".join(_claim(c) for c in report.summary) + "</p>",
        "<h2>Customer impact</h2>",
    ]
    if impact.start is not None:
        rows = impact_rows(impact)
        parts.append(
            '<table class="impact">'
            + "".join(f"<tr><td>{escape(k)}</td><td>{escape(v)}</td></tr>" for k, v in rows)
            + "</table>"
        )
    parts += [_list(impact.claims), *_fault_section(report), "<h2>Metrics and graphs</h2>"]
    for chart in report.charts:
        marks = ", ".join(f"{m.label} {m.time:%H:%M}" for m in chart.markers) or "nothing"
        parts.append(
            f'<div class="chart" id="chart-{escape(chart.id)}"><img alt="{escape(chart.title)}" src="{_data_uri(chart.svg)}">'
            f"<div><strong>{escape(chart.title)}.</strong> {escape(chart.caption)} Marked: {escape(marks)}.{_cites(chart.evidence)}</div></div>"
        )
    if not report.charts:
        parts.append("<p><em>No series could be drawn.</em></p>")
    parts.append(
        "<h2>Timeline (UTC)</h2><table><tr><th>time</th><th>phase</th><th>event</th><th>source</th></tr>"
    )
    for entry in report.timeline:
        when = f"{entry.time:%H:%M:%S}" if entry.time else "<strong>TBD</strong>"
        css = ' class="placeholder"' if entry.placeholder else ""
        parts.append(
            f'<tr{css}><td class="nw">{when}</td><td class="nw">{entry.phase.value}</td><td>{escape(entry.event)}</td>'
            f"<td>{escape(entry.source)}{_cites(entry.evidence)}</td></tr>"
        )
    parts += ["</table>", "<h2>What went well</h2>", _list(report.what_went_well)]
    parts += ["<h2>Incident response analysis</h2>", _list(report.response_analysis.claims)]
    parts += [
        "<h2>Five whys</h2>",
        "<p>Each branch asks a separate question. Dashed boxes need the team's input.</p>",
        f'<ul class="tree">{_tree(report.five_whys)}</ul>',
        f"<details><summary>Mermaid source</summary><pre>{escape(mermaid_source(report.five_whys))}</pre></details>",
        "<h2>Lessons learned</h2>",
        _list(report.lessons_learned),
        "<h2>Action items</h2>",
    ]
    for term in TERM_ORDER:
        items = [i for i in report.action_items if i.term == term]
        if not items:
            continue
        parts.append(f"<h3>{escape(TERM_MEANING[term].capitalize())}</h3>")
        parts.append(
            "<table><tr><th>action</th><th>addresses why</th><th>owner</th><th>due</th><th>validation</th></tr>"
        )
        for item in items:
            why = item.why_addressed or ""
            parts.append(
                f'<tr><td>{escape(item.title)}</td><td class="nw"><a href="#why-{escape(why)}">{escape(why)}</a></td>'
                f"<td>{escape(item.owner or 'TBD')}</td><td class='nw'>{item.due or 'TBD'}</td><td>{escape(item.validation)}</td></tr>"
            )
        parts.append("</table>")
    parts.append("<h2>Report assessment</h2><h3>Missing data</h3><ul>")
    parts += [f"<li>{escape(m)}</li>" for m in report.assessment.missing_data] or ["<li>none</li>"]
    parts.append("</ul><h3>Placeholders to fill</h3><ul>")
    parts += [f"<li>☐ {escape(p)}</li>" for p in report.assessment.placeholders]
    parts += [f"<li>note: {escape(n)}</li>" for n in report.assessment.notes]
    parts.append("</ul>")
    if report.related_coes:
        parts.append(f"<p>Related COEs: {escape(', '.join(report.related_coes))}</p>")
    parts.append(
        "<h2>Evidence</h2><table><tr><th>id</th><th>kind</th><th>service</th><th>observation</th><th>reproduce with</th></tr>"
    )
    for ev in report.evidence:
        parts.append(
            f'<tr id="{escape(ev.id)}"><td>{escape(ev.id)}</td><td>{ev.kind.value}</td><td>{escape(ev.service or "")}</td>'
            f"<td>{escape(ev.description)}</td><td><code>{escape(ev.source_query)}</code></td></tr>"
        )
    parts.append("</table>")
    body = "\n".join(parts)
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width,initial-scale=1">'
        "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; img-src data:; style-src 'unsafe-inline'\">"
        f"<title>{escape(report.title)}</title><style>{CSS}</style></head>\n<body><main>\n{body}\n</main></body></html>\n"
    )
