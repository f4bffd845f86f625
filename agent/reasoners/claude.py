"""The Claude reasoner: Claude (Anthropic API or Bedrock) refines the offline ranking with MCP tools.

The loop: the model sees the gathered evidence and the engine's ranking, calls read-only MCP
tools (each result compacted, wrapped as untrusted data and given a citable id), and submits
hypotheses through a ``submit_hypotheses`` tool. Submissions are validated: every hypothesis must
cite evidence that exists and concerns its service, or it is dropped. When the API keeps failing
(429/529/5xx/timeouts after retries) the offline ranking is returned, labelled as a fallback.
"""

from __future__ import annotations

import asyncio
import json
import os
import time
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

import anthropic
import anyio
from pydantic import ValidationError

from agent.errors import ModelUnavailableError
from agent.prompts import (
    SUBMIT_TOOL,
    SYSTEM_PROMPT,
    new_nonce,
    render_request,
    render_tool_result,
    submit_tool_schema,
)
from agent.reasoners.base import ReasoningContext, ReasoningReply, ReasoningRequest
from agent.reasoners.citations import merge_with_baseline, validate_submission
from agent.reasoners.compact import compact_text
from agent.reasoners.offline import OfflineReasoner
from agent.reasoners.retry import RetryPolicy, describe
from agent.reasoners.toolbox import SERVERS_ENV, ExternalServer, McpToolbox, load_external_servers
from mcp_server.analysis.models import Evidence, EvidenceKind
from mcp_server.tool_calls import tool_call
from mcp_server.tools.common import unfence

T = TypeVar("T")
DEFAULT_MODEL = "claude-sonnet-4-6"
DEFAULT_BEDROCK_MODEL = "us.anthropic.claude-sonnet-4-6"
MAX_TURNS = 12
MAX_SUBMIT_ATTEMPTS = 2


def run_async(factory: Callable[[], Any]) -> Any:
    """Run a coroutine function from sync code, on a worker thread when a loop already runs here."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return anyio.run(factory)
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(anyio.run, factory).result()


def _assistant_blocks(content: list[Any]) -> list[dict[str, Any]]:
    blocks: list[dict[str, Any]] = []
    for block in content:
        if block.type == "text":
            blocks.append({"type": "text", "text": block.text})
        elif block.type == "tool_use":
            blocks.append({"type": "tool_use", "id": block.id, "name": block.name, "input": block.input})
    return blocks


class ClaudeReasoner:
    """``name`` is "anthropic" or "bedrock"; ``client`` an ``Anthropic`` or ``AnthropicBedrock``.

    ``builtin_tools(context)`` gives Sleuth's own MCP server over the investigation's backend (the
    composition root passes it); ``toolbox`` replaces the whole tool session (tests pass one).
    """

    def __init__(
        self,
        client: Any,
        *,
        offline: OfflineReasoner,
        toolbox: Callable[[ReasoningContext], McpToolbox] | None = None,
        builtin_tools: Callable[[ReasoningContext], Any] | None = None,
        external_servers: list[ExternalServer] | None = None,
        name: str = "anthropic",
        model: str = DEFAULT_MODEL,
        retry: RetryPolicy | None = None,
        max_tokens: int = 4096,
        max_turns: int = MAX_TURNS,
        tool_result_chars: int = 6_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.client = client
        self.offline = offline
        self.toolbox = toolbox or self._default_toolbox
        self.builtin_tools = builtin_tools
        self.external_servers = external_servers or []
        self.name = name
        self.model = model
        self.retry = retry or RetryPolicy()
        self.max_tokens = max_tokens
        self.max_turns = max_turns
        self.tool_result_chars = tool_result_chars
        self.clock = clock

    @classmethod
    def from_env(
        cls,
        kind: str,
        *,
        offline: OfflineReasoner,
        env: Mapping[str, str] | None = None,
        http_client: Any = None,
        **options: Any,
    ) -> ClaudeReasoner:
        """A reasoner configured from the environment: keys, region, model, extra MCP servers.

        ``http_client`` (an ``httpx2.Client``) replaces the SDK's transport: tests and the eval
        harness's recorder pass one.
        """
        env = os.environ if env is None else env
        if kind == "bedrock":
            client: Any = anthropic.AnthropicBedrock(
                aws_region=env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION") or "us-east-1",
                aws_access_key=env.get("AWS_ACCESS_KEY_ID"),
                aws_secret_key=env.get("AWS_SECRET_ACCESS_KEY"),
                aws_session_token=env.get("AWS_SESSION_TOKEN"),
                aws_profile=env.get("AWS_PROFILE"),
                max_retries=0,
                http_client=http_client,
            )
            model = env.get("SLEUTH_BEDROCK_MODEL") or DEFAULT_BEDROCK_MODEL
        else:
            client = anthropic.Anthropic(
                api_key=env.get("ANTHROPIC_API_KEY"), max_retries=0, http_client=http_client
            )
            model = env.get("SLEUTH_MODEL") or DEFAULT_MODEL
        servers_file = env.get(SERVERS_ENV)
        external = load_external_servers(servers_file) if servers_file else []
        return cls(client, offline=offline, external_servers=external, name=kind, model=model, **options)

    def _default_toolbox(self, context: ReasoningContext) -> McpToolbox:
        """Sleuth's own MCP server over the investigation's backend, plus the configured extra servers."""
        builtin = self.builtin_tools(context) if self.builtin_tools is not None else None
        return McpToolbox(builtin, self.external_servers)

    # -- the Reasoner protocol ---------------------------------------------------------------------
    def hypothesize(
        self, request: ReasoningRequest, context: ReasoningContext | None = None
    ) -> ReasoningReply:
        context = context or ReasoningContext()
        baseline = self.offline.hypothesize(request)
        try:
            reply: ReasoningReply = run_async(lambda: self._investigate(request, baseline, context))
        except (ModelUnavailableError, anthropic.APIError) as exc:
            reason = str(exc) if isinstance(exc, ModelUnavailableError) else describe(exc)
            return self._fallback(baseline, f"{self.name} reasoner unavailable ({reason})")
        except Exception as exc:  # any other failure of the LLM path still leaves the offline answer
            return self._fallback(
                baseline, f"{self.name} reasoner failed ({type(exc).__name__}: {exc})"[:300]
            )
        return reply

    def _fallback(self, baseline: ReasoningReply, reason: str, **usage: Any) -> ReasoningReply:
        note = f"{reason}: fell back to the offline reasoner"
        hypotheses = [
            h.model_copy(update={"flags": [*h.flags, "offline fallback"]}) for h in baseline.hypotheses
        ]
        return ReasoningReply(
            hypotheses=hypotheses,
            notes=[*baseline.notes, *usage.get("notes", []), note],
            reasoner="offline",
            fell_back=True,
            tool_calls=usage.get("tool_calls", 0),
            tokens=usage.get("tokens", {}),
            new_evidence=usage.get("new_evidence", []),
        )

    # -- the tool-use loop -------------------------------------------------------------------------
    async def _investigate(
        self, request: ReasoningRequest, baseline: ReasoningReply, context: ReasoningContext
    ) -> ReasoningReply:
        began = self.clock()
        say = context.say
        nonce = new_nonce()
        round_no = len(request.feedback) + 1
        known: dict[str, Evidence] = {ev.id: ev for ev in request.evidence() if ev.id}
        new_evidence: list[Evidence] = []
        notes: list[str] = []
        tokens = {"input": 0, "output": 0}
        calls = 0
        submit_attempts = 0
        async with self.toolbox(context) as box:
            notes += box.notes
            tools = [
                {"name": s.name, "description": s.description, "input_schema": s.input_schema}
                for s in box.specs
            ] + [submit_tool_schema()]
            messages: list[dict[str, Any]] = [
                {"role": "user", "content": render_request(request, baseline.hypotheses, nonce)}
            ]
            for turn in range(self.max_turns):
                out_of_budget = (
                    calls >= request.tool_calls_left
                    or sum(tokens.values()) >= request.tokens_left
                    or self.clock() - began >= request.seconds_left
                )
                force = out_of_budget or turn == self.max_turns - 1 or submit_attempts > 0
                choice = {"type": "tool", "name": SUBMIT_TOOL} if force else {"type": "auto"}
                response = self.retry.call(
                    lambda choice=choice: self.client.messages.create(  # type: ignore[misc]
                        model=self.model,
                        max_tokens=self.max_tokens,
                        system=SYSTEM_PROMPT,
                        tools=tools,
                        tool_choice=choice,
                        messages=messages,
                    ),
                    on_retry=lambda what, pause: say(f"{self.name}: {what}, retrying in {pause:.1f}s"),
                )
                tokens["input"] += response.usage.input_tokens
                tokens["output"] += response.usage.output_tokens
                messages.append({"role": "assistant", "content": _assistant_blocks(response.content)})
                uses = [b for b in response.content if b.type == "tool_use"]
                if not uses:
                    submit_attempts += 1
                    if submit_attempts > MAX_SUBMIT_ATTEMPTS:
                        break
                    messages.append(
                        {
                            "role": "user",
                            "content": f"Call {SUBMIT_TOOL} with your ranked, cited hypotheses now.",
                        }
                    )
                    continue
                results: list[dict[str, Any]] = []
                for use in uses:
                    if use.name == SUBMIT_TOOL:
                        submit_attempts += 1
                        try:
                            hypotheses, dropped = validate_submission(
                                use.input,
                                {**known, **{e.id: e for e in new_evidence}},
                                request.scope.services,
                            )
                        except ValidationError as exc:
                            problem = "; ".join(
                                f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors()[:5]
                            )
                            hypotheses, dropped = [], [f"malformed submission ({problem})"]
                        notes += dropped
                        if hypotheses:
                            merged = merge_with_baseline(hypotheses, baseline.hypotheses)
                            return ReasoningReply(
                                hypotheses=merged,
                                new_evidence=new_evidence,
                                notes=[*notes, f"ranked by Claude ({self.model}) from cited evidence"],
                                reasoner=self.name,
                                tool_calls=calls,
                                tokens=tokens,
                            )
                        if submit_attempts >= MAX_SUBMIT_ATTEMPTS:
                            return self._fallback(
                                baseline,
                                f"{self.name} reasoner submitted no hypothesis backed by evidence",
                                notes=notes,
                                tool_calls=calls,
                                tokens=tokens,
                                new_evidence=new_evidence,
                            )
                        results.append(
                            {
                                "type": "tool_result",
                                "tool_use_id": use.id,
                                "is_error": True,
                                "content": "Rejected: " + "; ".join(dropped)
                                + ". Cite evidence ids from the evidence list or tool results, about the same service.",
                            }
                        )  # fmt: skip
                        continue
                    if not isinstance(use.input, dict):
                        text, is_error = "tool arguments must be a JSON object", True
                    elif calls >= request.tool_calls_left:
                        text, is_error = f"tool-call budget exhausted: call {SUBMIT_TOOL} now", True
                    elif not box.has(use.name):
                        text, is_error = (
                            f"unknown or not permitted tool {use.name!r}; all tools are read-only",
                            True,
                        )
                    else:
                        calls += 1
                        say(f"{self.name}: {use.name}({json.dumps(use.input, default=str)[:120]})")
                        outcome = await box.call(use.name, use.input)
                        # the prompt fences every tool result with its own nonce; one fence is enough
                        text, is_error = unfence(outcome.text), outcome.is_error
                        if not is_error:
                            result_id = f"tool-{round_no}-{len(new_evidence) + 1}"
                            text = compact_text(text, self.tool_result_chars)
                            service = use.input.get("service")
                            new_evidence.append(
                                Evidence(
                                    id=result_id,
                                    kind=EvidenceKind.NOTE,
                                    service=service if isinstance(service, str) else None,
                                    description=f"{use.name}: {text[:400]}",
                                    source_query=tool_call(use.name, **dict(use.input)),
                                    attributes={"tool": use.name},
                                )
                            )
                            text = render_tool_result(result_id, use.name, text, nonce)
                    results.append(
                        {"type": "tool_result", "tool_use_id": use.id, "content": text, "is_error": is_error}
                    )
                messages.append({"role": "user", "content": results})
        return self._fallback(
            baseline,
            f"{self.name} reasoner gave no usable answer in {self.max_turns} turns",
            notes=notes,
            tool_calls=calls,
            tokens=tokens,
            new_evidence=new_evidence,
        )
