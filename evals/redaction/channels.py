"""Every place an investigation's text comes out, gathered as one text per channel.

The channels are what a person or another system can read: the store under the data directory
(its tables, and the bytes of every file there), ``sleuth investigate --json`` and its console
output, ``sleuth report`` (Markdown, HTML, COE JSON, customer RCA), the alarm service's result
store with the payload it hands to Slack and webhooks, the MCP tools' answers, and every request
the Claude reasoner sends, captured by a scripted model on a mock transport.

Two kinds of redaction exist: at the source (import, trigger, AWS responses) and again on the
way out of MCP tools. The MCP and Claude channels here run with the outgoing redaction switched
off, so what they show is what source redaction alone achieved.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import anyio
import duckdb
import httpx2
from mcp import Client
from typer.testing import CliRunner

from mcp_server.redaction import RedactionConfig, Redactor

RAW = Redactor(RedactionConfig(enabled=False))  # outgoing redaction off: source redaction only


@contextmanager
def _data_dir(path: Path) -> Iterator[None]:
    saved = os.environ.get("SLEUTH_DATA_DIR")
    os.environ["SLEUTH_DATA_DIR"] = str(path)
    try:
        yield
    finally:
        if saved is None:
            os.environ.pop("SLEUTH_DATA_DIR", None)
        else:
            os.environ["SLEUTH_DATA_DIR"] = saved


def _files(directory: Path) -> str:
    """Every file below ``directory`` as text (bytes kept one for one), one after the other."""
    return "\n".join(
        path.read_bytes().decode("latin-1") for path in sorted(directory.rglob("*")) if path.is_file()
    )


def store_tables(store: Path) -> str:
    """Every row of every table of a DuckDB store, as text (the file itself may be compressed)."""
    with duckdb.connect(str(store), read_only=True) as con:
        tables = [
            row[0] for row in con.execute("SELECT table_name FROM information_schema.tables").fetchall()
        ]
        return "\n".join(
            repr(row) for table in tables for row in con.execute(f'SELECT * FROM "{table}"').fetchall()
        )


def _cli(args: list[str], data_dir: Path) -> str:
    from agent.cli import build_app

    result = CliRunner().invoke(build_app(), args, env={"SLEUTH_DATA_DIR": str(data_dir), "COLUMNS": "200"})
    if result.exit_code != 0:
        raise RuntimeError(f"sleuth {' '.join(args)} failed ({result.exit_code}): {result.output[-2000:]}")
    return result.output


def cli_channels(scenario: Path, work: Path, data_dir: Path, question: str) -> dict[str, str]:
    """Import, ``investigate --question ... --json`` and ``report`` through the real command line."""
    store = data_dir / "store.duckdb"
    out: dict[str, str] = {
        "cli output": _cli(["import", "--data", str(scenario), "--store", str(store)], data_dir)
    }
    result = work / "investigation.json"
    out["cli output"] += _cli(
        [
            "investigate",
            "--store",
            str(store),
            "--json",
            str(result),
            "--no-knowledge",
            "--reasoner",
            "offline",
            "--question",
            question,
        ],
        data_dir,
    )
    out["investigate --json"] = result.read_text(encoding="utf-8")
    reports = work / "report"
    out["cli output"] += _cli(
        ["report", "--result", str(result), "--store", str(store), "--out", str(reports)], data_dir
    )
    for suffix, channel in ((".md", "report markdown"), (".html", "report html"), (".json", "report json")):
        out[channel] = "\n".join(p.read_text(encoding="utf-8") for p in sorted(reports.rglob(f"*{suffix}")))
    return out


def alarm_service_channels(store: Path, data_dir: Path, reason: str, service: str) -> dict[str, str]:
    """What the alarm service stores (result.json, report) and sends to Slack and webhooks."""
    from agent.service.investigator import GraphInvestigator
    from agent.service.payloads import AlarmEvent, AlarmSource, AlarmStatus
    from agent.slack.messages import summary_blocks
    from mcp_server.backends.local import LocalBackend

    event = AlarmEvent(
        source=AlarmSource.CLI,
        message_id="planted-secrets",
        alarm_name=f"{service}-5xx-errors",
        status=AlarmStatus.FIRING,
        time=datetime.now(UTC),
        service=service,
        reason=reason,
    )
    with _data_dir(data_dir), LocalBackend(store, read_only=True) as backend:
        investigator = GraphInvestigator(backend, results_dir=data_dir / "results", reasoner="offline")
        summary = investigator("job-1", event, lambda message: None)
    return {
        "webhook payload": json.dumps(summary),
        "slack message": json.dumps(summary_blocks("job-1", summary)),
    }


async def _mcp_answers(store: Path, service: str) -> str:
    from mcp_server.backends.local import LocalBackend
    from mcp_server.deps import ServerDeps
    from mcp_server.server import build_server

    calls: list[tuple[str, dict[str, Any]]] = [
        ("query_logs", {"service": service, "limit": 500}),
        ("query_logs", {"min_severity": "ERROR", "limit": 500}),
        ("log_patterns", {"service": service}),
        ("search_traces", {"service": service, "errors_only": True, "limit": 100}),
        ("trace_hotspots", {}),
        ("list_changes", {}),
        ("get_active_alarms", {}),
        ("list_slos", {}),
    ]
    texts: list[str] = []
    trace_ids: list[str] = []
    with LocalBackend(store, read_only=True) as backend:
        async with Client(build_server(ServerDeps(backend=backend, redactor=RAW))) as client:
            for name, arguments in calls:
                answer = await client.call_tool(name, arguments)
                texts += [getattr(block, "text", "") for block in answer.content]
                texts.append(json.dumps(answer.structured_content, default=str))
                if name == "search_traces":
                    found = (answer.structured_content or {}).get("hits", [])
                    trace_ids += [t["trace_id"] for t in found if t.get("trace_id")]
            for trace_id in dict.fromkeys(trace_ids[:20]):
                answer = await client.call_tool("get_trace", {"trace_id": trace_id})
                texts.append(json.dumps(answer.structured_content, default=str))
    return "\n".join(texts)


def mcp_channel(store: Path, service: str) -> dict[str, str]:
    return {"mcp answers": anyio.run(_mcp_answers, store, service)}


class RecordingModel:
    """A scripted model: reads the failing service's logs and traces, then cites the first evidence."""

    def __init__(self, service: str, fault: str) -> None:
        self.service = service
        self.fault = fault
        self.requests: list[dict[str, Any]] = []

    def _reply(self, *blocks: dict[str, Any]) -> httpx2.Response:
        usage = {"input_tokens": 100, "output_tokens": 20}
        body = {
            "id": "msg",
            "type": "message",
            "role": "assistant",
            "model": "scripted",
            "content": list(blocks),
        }
        return httpx2.Response(
            200, json=body | {"stop_reason": "tool_use", "stop_sequence": None, "usage": usage}
        )

    def handle(self, request: httpx2.Request) -> httpx2.Response:
        self.requests.append(json.loads(request.content))
        turn = len(self.requests)
        if turn == 1:
            arguments = {"service": self.service, "min_severity": "ERROR", "limit": 200}
            return self._reply({"type": "tool_use", "id": "tu_1", "name": "query_logs", "input": arguments})
        if turn == 2:
            arguments = {"service": self.service, "errors_only": True, "limit": 50}
            return self._reply(
                {"type": "tool_use", "id": "tu_2", "name": "search_traces", "input": arguments}
            )
        claim = {
            "service": self.service,
            "fault_type": self.fault,
            "confidence": 0.9,
            "summary": f"{self.fault} in {self.service}",
            "evidence_ids": ["tool-1-1", "tool-1-2"],
        }
        return self._reply(
            {
                "type": "tool_use",
                "id": f"tu_{turn}",
                "name": "submit_hypotheses",
                "input": {"hypotheses": [claim]},
            }
        )


def claude_channel(store: Path, scenario: Path, service: str, fault: str, question: str) -> dict[str, str]:
    """Every request the Claude reasoner sent, with the MCP tools' outgoing redaction off."""
    import anthropic

    from agent.analysis import default_analysis
    from agent.checkpoints import close_checkpointer, sqlite_checkpointer
    from agent.context import InvestigationDeps
    from agent.reasoners.claude import ClaudeReasoner
    from agent.reasoners.offline import OfflineReasoner
    from agent.reasoners.toolbox import McpToolbox
    from agent.run import run_investigation
    from mcp_server.backends.local import LocalBackend
    from mcp_server.deps import ServerDeps
    from mcp_server.scenario import TriggerKind, load_scenario_spec
    from mcp_server.server import build_server

    model = RecordingModel(service, fault)
    client = anthropic.Anthropic(
        api_key="planted-secrets",
        max_retries=0,
        http_client=httpx2.Client(transport=httpx2.MockTransport(model.handle)),
    )
    analysis = default_analysis()
    spec = load_scenario_spec(scenario)
    saver = sqlite_checkpointer(":memory:")
    with LocalBackend(store, read_only=True) as backend:
        reasoner = ClaudeReasoner(
            client,
            offline=OfflineReasoner(analysis),
            toolbox=lambda context: McpToolbox(build_server(ServerDeps(backend=backend, redactor=RAW))),
            model="scripted",
        )
        deps = InvestigationDeps(
            backend=backend,
            reasoner=reasoner,
            analysis=analysis,
            spec=spec,
            checkpointer=saver,
        )
        try:
            asked = spec.trigger.model_copy(update={"text": question, "kind": TriggerKind.QUESTION})
            result = run_investigation(asked, deps)
        finally:
            close_checkpointer(saver)
    if result.reasoner != "anthropic":
        raise RuntimeError(f"the scripted model's answer was not used: {result.notes[-3:]}")
    return {"claude requests": json.dumps(model.requests)}


def collect(scenario: Path, work: Path, service: str, fault: str, question: str) -> dict[str, str]:
    """Every channel's text after importing and investigating ``scenario`` with ``work`` as home.

    ``question`` is asked on the command line, sent as an alarm's reason and given to the Claude
    path, as an alarm or a Slack message would bring it.
    """
    data_dir = work / ".data"
    store = data_dir / "store.duckdb"
    channels = cli_channels(scenario, work, data_dir, question)
    channels |= alarm_service_channels(store, data_dir, question, service)
    channels |= mcp_channel(store, service)
    channels |= claude_channel(store, scenario, service, fault, question)
    channels["store tables"] = store_tables(store)
    channels["files under the data dir"] = _files(data_dir)
    return channels
