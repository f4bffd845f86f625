"""Choose the reasoner from ``--reasoner`` or ``SLEUTH_REASONER``; offline when no API key is set."""

from __future__ import annotations

import os
from collections.abc import Mapping
from enum import StrEnum
from typing import Any

from agent.analysis import AnalysisSteps
from agent.reasoners.base import Reasoner
from agent.reasoners.offline import OfflineReasoner
from mcp_server.errors import SleuthError

REASONER_ENV = "SLEUTH_REASONER"


class ReasonerChoice(StrEnum):
    OFFLINE = "offline"
    ANTHROPIC = "anthropic"
    BEDROCK = "bedrock"


def _has_aws_credentials(env: Mapping[str, str]) -> bool:
    return bool(
        env.get("AWS_ACCESS_KEY_ID") or env.get("AWS_PROFILE") or env.get("AWS_WEB_IDENTITY_TOKEN_FILE")
    )


def resolve_choice(name: str | None, env: Mapping[str, str] | None = None) -> ReasonerChoice:
    """``--reasoner`` wins, then ``SLEUTH_REASONER``; unset, Claude when ``ANTHROPIC_API_KEY`` is set, else
    offline. Bedrock is used only when asked for: AWS credentials are often present for the AWS backend
    alone, and a model call should never be a surprise."""
    env = os.environ if env is None else env
    raw = (name or env.get(REASONER_ENV) or "").strip().lower()
    if not raw:
        return ReasonerChoice.ANTHROPIC if env.get("ANTHROPIC_API_KEY") else ReasonerChoice.OFFLINE
    try:
        choice = ReasonerChoice(raw)
    except ValueError:
        options = ", ".join(c.value for c in ReasonerChoice)
        raise SleuthError(
            f"unknown reasoner {raw!r} (from --reasoner or {REASONER_ENV}); choose one of {options}"
        ) from None
    if choice is ReasonerChoice.ANTHROPIC and not env.get("ANTHROPIC_API_KEY"):
        raise SleuthError("the anthropic reasoner needs ANTHROPIC_API_KEY; set it or use --reasoner offline")
    if choice is ReasonerChoice.BEDROCK and not _has_aws_credentials(env):
        raise SleuthError(
            "the bedrock reasoner needs AWS credentials (AWS_PROFILE or AWS_ACCESS_KEY_ID); "
            "set them or use --reasoner offline"
        )
    return choice


def choose_reasoner(
    name: str | None,
    analysis: AnalysisSteps,
    env: Mapping[str, str] | None = None,
    **claude_options: Any,
) -> Reasoner:
    """The reasoner to use. ``claude_options`` go to :meth:`ClaudeReasoner.from_env` (e.g. ``http_client``)."""
    # Reasoners receive the backend and knowledge store per run (ReasoningContext); callers that
    # still pass them here are accepted.
    claude_options.pop("backend", None)
    claude_options.pop("knowledge", None)
    choice = resolve_choice(name, env)
    offline = OfflineReasoner(analysis)
    if choice is ReasonerChoice.OFFLINE:
        return offline
    from agent.reasoners.claude import ClaudeReasoner  # the SDK is imported only when asked for

    return ClaudeReasoner.from_env(choice.value, offline=offline, env=env, **claude_options)
