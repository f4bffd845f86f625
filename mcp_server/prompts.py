"""MCP prompts for the common flows: investigate an SLO breach, draft a COE."""

from __future__ import annotations

from mcp.server import MCPServer

from mcp_server.deps import ServerDeps


def register(server: MCPServer[ServerDeps], deps: ServerDeps) -> None:
    has_knowledge = deps.knowledge is not None
    has_investigator = deps.investigator is not None

    @server.prompt(title="Investigate an SLO breach")
    def investigate_slo_breach(slo: str = "") -> str:
        """Walk from a breaching SLO to its root cause, citing the tool call behind every claim."""
        target = f"the SLO {slo!r}" if slo else "the SLO that is breaching worst (list_slos shows it first)"
        steps = [
            f"Investigate {target} with the Sleuth tools, step by step:",
            "1. list_slos: confirm it is breaching; note attainment, burn rate and error budget left.",
            "2. get_slo(name): find the operation that fails it and when its SLI turned bad (the onset).",
            "3. trace_hotspots(service=...): where the failures start (error origins) and which dependency "
            "they call; a failure that starts downstream means the SLO's service is a victim, not the cause.",
            "4. search_traces(service=..., operation=..., errors_only=true) then get_trace(trace_id) on one "
            "failing request: confirm the call path and the exception.",
            "5. query_logs(service=<origin service>, min_severity='ERROR') and log_patterns: the error in words.",
            "6. detect_metric_anomalies and get_active_alarms: corroborate (throttling, saturation, errors).",
            "7. list_changes: anything deployed or reconfigured shortly before the onset? Can it be rolled back?",
        ]
        if has_knowledge:
            steps.append(
                "8. search_runbooks(query=<the error and service>): follow the runbook's mitigation order."
            )
        if has_investigator:
            steps.append(
                "Cross-check your conclusion with investigate(), which ranks hypotheses independently."
            )
        steps.append(
            "Answer with: the root cause (service, component, fault), the evidence for it (each with the tool "
            "call that shows it), what else was ruled out, and the mitigation to try first (roll back before "
            "restarting). Say plainly what you could not confirm."
        )
        return "\n".join(steps)

    if has_investigator:

        @server.prompt(title="Draft an incident review (COE)")
        def draft_coe(question: str = "") -> str:
            """Investigate, then draft a COE from the result and review it before sharing."""
            ask = f" with question={question!r}" if question else ""
            return "\n".join(
                [
                    f"1. Call investigate{ask} and read the ranked hypotheses and their evidence.",
                    "2. Check the top hypothesis with the telemetry tools (get_slo, trace_hotspots, query_logs, "
                    "list_changes) before accepting it.",
                    "3. Call draft_incident_report(investigation_id) for the COE draft.",
                    "4. Review it: every claim should cite evidence; list the places marked for a person to fill "
                    "in (owners, customer communication, why detection took as long as it did).",
                    "5. Propose action items that prevent recurrence, not only the mitigation.",
                ]
            )
