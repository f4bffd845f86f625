"""Knowledge tools: ``search_runbooks`` (SOPs) and ``search_past_incidents`` (COEs), plus the
``sleuth://sop/{doc_id}`` and ``sleuth://coe/{doc_id}`` resources holding whole documents."""

from typing import Annotated, Any

from mcp.server import MCPServer
from mcp.server.mcpserver.exceptions import ResourceNotFoundError, ToolError
from mcp.types import CallToolResult
from pydantic import Field

from mcp_server.deps import ServerDeps
from mcp_server.taxonomy import FaultType
from mcp_server.tools.common import READ_ONLY, ToolKit, limit_field
from mcp_server.tools.models import KnowledgeHitOut, KnowledgeHits

MAX_SNIPPET_CHARS = 700
FAULT_TYPES = [f.value for f in FaultType]


def document_markdown(doc: Any) -> str:
    """A knowledge document as Markdown: title, facts, then its sections."""
    lines = [f"# {doc.title}", "", f"id: {doc.id} ({doc.type})"]
    if doc.services:
        lines.append(f"services: {', '.join(doc.services)}")
    if doc.fault_types:
        lines.append(f"fault types: {', '.join(str(f) for f in doc.fault_types)}")
    if doc.type == "coe":
        lines += ["", "## Summary", doc.summary]
        if doc.customer_impact:
            lines += ["", "## Customer impact", doc.customer_impact]
        if doc.timeline:
            lines += ["", "## Timeline", *(f"- {t.time.isoformat()} {t.event}" for t in doc.timeline)]
        whys = doc.five_whys.walk()
        if whys:
            lines += ["", "## Five whys", *(f"- {w.id} {w.question} {w.answer}".rstrip() for w in whys)]
        if doc.lessons_learned:
            lines += ["", "## Lessons learned", *(f"- {lesson}" for lesson in doc.lessons_learned)]
        actions = getattr(doc, "action_items", None) or []
        if actions:
            lines += ["", "## Action items", *(f"- {a.title}" for a in actions)]
    for section in getattr(doc, "sections", []):
        lines += ["", f"## {section.heading}", section.body]
    return "\n".join(lines)


def register(server: MCPServer[ServerDeps], deps: ServerDeps) -> None:
    store = deps.knowledge
    if store is None:  # no knowledge base configured: the tools would have nothing to search
        return
    kit = ToolKit(deps)

    async def search(
        doc_type: str, query: str, service: str | None, fault_type: str | None, limit: int
    ) -> CallToolResult:
        if not query.strip():
            raise ToolError("query is empty; describe the symptom, error text or service")
        if fault_type is not None and fault_type not in FAULT_TYPES:
            raise ToolError(f"unknown fault_type {fault_type!r}; known: {', '.join(FAULT_TYPES)}")
        hits = await kit.run(
            lambda: store.search(
                query,
                type=doc_type,
                service=service,
                fault_types=[fault_type] if fault_type else None,
                k=limit,
            )
        )
        out = KnowledgeHits(
            query=query,
            hits=[
                KnowledgeHitOut(
                    doc_id=h.doc_id,
                    title=h.title,
                    type=str(h.type),
                    section=h.section,
                    snippet=h.snippet[:MAX_SNIPPET_CHARS],
                    score=round(h.score, 4),
                    services=list(h.services),
                    fault_types=[str(f) for f in h.fault_types],
                    resource=f"sleuth://{doc_type}/{h.doc_id}",
                )
                for h in hits
            ],
            message="" if hits else "nothing matched; describe the symptom or error differently",
        )

        def render(o: KnowledgeHits) -> str:
            lines = [f"{len(o.hits)} {doc_type.upper()} matches for {o.query!r}"]
            for h in o.hits:
                lines.append(
                    f"- {h.title} [{h.doc_id}] section {h.section!r} (read {h.resource}): {h.snippet}"
                )
            return "\n".join([*lines, o.message]).strip()

        # past incident reviews may be drafted from telemetry; runbooks are the team's own text
        untrusted = ["hits[].snippet"] if doc_type == "coe" else []
        return kit.respond(
            out, render, "hits", page_hint="lower limit", untrusted=untrusted, source="knowledge"
        )

    Query = Annotated[
        str, Field(description="Symptom, error text or service, e.g. 'DynamoDB throttling visits'.")
    ]
    Service = Annotated[str | None, Field(description="Only documents about this service (or any service).")]
    Fault = Annotated[
        str | None, Field(description=f"Only documents for this fault type: {', '.join(FAULT_TYPES)}.")
    ]
    Limit = Annotated[int, limit_field("documents", 50)]

    @server.tool(annotations=READ_ONLY, structured_output=True)
    async def search_runbooks(
        query: Query, service: Service = None, fault_type: Fault = None, limit: Limit = 5
    ) -> Annotated[CallToolResult, KnowledgeHits]:
        """Search the team's runbooks (SOPs) for what to do about a symptom: mitigation steps in
        the order to try them (roll back first). Each hit gives the best-matching section; read the
        whole runbook from the resource URI it names."""
        return await search("sop", query, service, fault_type, limit)

    @server.tool(annotations=READ_ONLY, structured_output=True)
    async def search_past_incidents(
        query: Query, service: Service = None, fault_type: Fault = None, limit: Limit = 5
    ) -> Annotated[CallToolResult, KnowledgeHits]:
        """Search past incident reviews (COEs) for incidents like this one: what caused them, how
        they were found and fixed, and the action items that followed."""
        return await search("coe", query, service, fault_type, limit)

    def read_document(doc_type: str, doc_id: str) -> str:
        doc = store.get_document(doc_id)
        if doc is None or doc.type != doc_type:
            raise ResourceNotFoundError(f"no {doc_type} document {doc_id!r}")
        return deps.redactor.text(document_markdown(doc))

    @server.resource(
        "sleuth://sop/{doc_id}", mime_type="text/markdown", description="A runbook (SOP), whole."
    )
    def sop_document(doc_id: str) -> str:
        return read_document("sop", doc_id)

    @server.resource(
        "sleuth://coe/{doc_id}", mime_type="text/markdown", description="A past incident review (COE)."
    )
    def coe_document(doc_id: str) -> str:
        return read_document("coe", doc_id)
