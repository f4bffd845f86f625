"""A narrator backed by Claude (Anthropic API or Bedrock): drafts prose from the template's claims.

It only rewrites: the prompt carries the section's claims and the evidence they cite, asks for
blameless prose with no new facts, and the drafter rejects any reply that states a number the
evidence does not (see :func:`agent.report.narrative.invented_numbers`). API failures become
:class:`NarrationError`, so the template text is kept.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

import anthropic

from agent.report.narrative import NarrationError, NarrationRequest

DEFAULT_MODEL = "claude-sonnet-4-5"
DEFAULT_BEDROCK_MODEL = "us.anthropic.claude-sonnet-4-5-20250929-v1:0"

SYSTEM = (
    "You draft one section of a Correction of Error (COE), the blameless post-incident review an SRE "
    "team edits. Rewrite the given claims as clear, concise prose for engineers. Rules: use only the facts "
    "in the claims and evidence; never add numbers, times, names or causes that are not there; keep every "
    "number exactly as given; keep 'TBD' placeholders; no blame on people or teams; no headings, no lists, "
    "no Markdown; at most {words} words."
)
WORDS = {"summary": 160, "lessons_learned": 120}


def _prompt(request: NarrationRequest) -> str:
    claims = "\n".join(
        f"- {c.text}" + (" (needs human input)" if c.needs_human_input else "") for c in request.claims
    )
    evidence = "\n".join(f"- [{e.id}] {e.description}" for e in request.evidence)
    return (
        f"Incident: {request.title}\nSection: {request.section.replace('_', ' ')}\n\n"
        f"Claims (the template's text):\n{claims}\n\nEvidence they cite:\n{evidence or '- none'}\n\n"
        "Write the section now."
    )


class ClaudeNarrator:
    """``client`` is an ``anthropic.Anthropic`` or ``anthropic.AnthropicBedrock`` (injected, so tests
    pass one whose HTTP transport is scripted)."""

    def __init__(
        self, client: Any, *, model: str = DEFAULT_MODEL, name: str = "anthropic", max_tokens: int = 600
    ):
        self.client = client
        self.model = model
        self.name = f"{name}:{model}"
        self.max_tokens = max_tokens

    @classmethod
    def from_env(
        cls, kind: str, env: Mapping[str, str] | None = None, http_client: Any = None
    ) -> ClaudeNarrator:
        env = os.environ if env is None else env
        if kind == "bedrock":
            client: Any = anthropic.AnthropicBedrock(
                aws_region=env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION") or "us-east-1",
                max_retries=1,
                http_client=http_client,
            )
            return cls(client, model=env.get("SLEUTH_BEDROCK_MODEL") or DEFAULT_BEDROCK_MODEL, name="bedrock")
        if not env.get("ANTHROPIC_API_KEY"):
            raise NarrationError("ANTHROPIC_API_KEY is not set; use --narrator none or set the key")
        client = anthropic.Anthropic(api_key=env["ANTHROPIC_API_KEY"], max_retries=1, http_client=http_client)
        return cls(client, model=env.get("SLEUTH_MODEL") or DEFAULT_MODEL)

    def __call__(self, request: NarrationRequest) -> str:
        try:
            reply = self.client.messages.create(
                model=self.model,
                max_tokens=self.max_tokens,
                system=SYSTEM.format(words=WORDS.get(request.section, 150)),
                messages=[{"role": "user", "content": _prompt(request)}],
            )
        except anthropic.AnthropicError as exc:  # API errors, timeouts, missing credentials
            raise NarrationError(f"{self.name}: {type(exc).__name__}: {exc}"[:300]) from None
        return "".join(block.text for block in reply.content if getattr(block, "type", "") == "text")
