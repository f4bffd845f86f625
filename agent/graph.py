"""The investigation graph: scope → gather (parallel) → consult → hypothesize → verify ↺ → review → mitigate → report.

graph = build_graph(checkpointer)
graph.invoke(InvestigationState(...), {"configurable": {"thread_id": id}}, context=deps)
"""

from __future__ import annotations

from typing import Any

from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.graph import END, START, StateGraph
from langgraph.graph.state import CompiledStateGraph

from agent.context import InvestigationDeps
from agent.nodes.consult import consult_node
from agent.nodes.gather import gather_node
from agent.nodes.hypothesize import hypothesize_node
from agent.nodes.mitigate import mitigate_node
from agent.nodes.report import report_node
from agent.nodes.review import after_review, review_node
from agent.nodes.scope import fan_out, scope_node
from agent.nodes.verify import after_verify, before_verify, verify_node
from agent.state import GatherTask, InvestigationState


def build_graph(
    checkpointer: BaseCheckpointSaver[Any] | None = None,
) -> CompiledStateGraph[InvestigationState, InvestigationDeps, InvestigationState, InvestigationState]:
    builder = StateGraph(InvestigationState, context_schema=InvestigationDeps)
    builder.add_node("scope", scope_node)
    # A Send target takes its own input (GatherTask), which the typed overloads do not model.
    builder.add_node("gather", gather_node, input_schema=GatherTask)  # type: ignore[call-overload]
    builder.add_node("consult", consult_node)
    builder.add_node("hypothesize", hypothesize_node)
    builder.add_node("verify", verify_node)
    builder.add_node("review", review_node)
    builder.add_node("mitigate", mitigate_node)
    builder.add_node("report", report_node)

    builder.add_edge(START, "scope")
    builder.add_conditional_edges("scope", fan_out, ["gather"])
    builder.add_edge("gather", "consult")
    builder.add_edge("consult", "hypothesize")
    builder.add_conditional_edges("hypothesize", before_verify, ["verify", "review"])
    builder.add_conditional_edges("verify", after_verify, ["verify", "review"])
    builder.add_conditional_edges("review", after_review, ["hypothesize", "mitigate"])
    builder.add_edge("mitigate", "report")
    builder.add_edge("report", END)
    return builder.compile(checkpointer=checkpointer, name="sleuth-investigation")
