from __future__ import annotations

import pytest
from anthropic.resources.messages.messages import DEPRECATED_MODELS

from agent.analysis import AnalysisSteps
from agent.reasoners.claude import ClaudeReasoner
from agent.reasoners.select import ReasonerChoice, choose_reasoner, resolve_choice
from mcp_server.errors import SleuthError


def test_offline_is_the_default_without_an_api_key_and_claude_with_one() -> None:
    assert resolve_choice(None, {}) is ReasonerChoice.OFFLINE
    assert resolve_choice(None, {"AWS_PROFILE": "prod"}) is ReasonerChoice.OFFLINE  # Bedrock only when asked
    assert resolve_choice(None, {"ANTHROPIC_API_KEY": "k"}) is ReasonerChoice.ANTHROPIC


def test_the_flag_wins_over_the_environment() -> None:
    env = {"SLEUTH_REASONER": "bedrock", "ANTHROPIC_API_KEY": "k"}

    assert resolve_choice("anthropic", env) is ReasonerChoice.ANTHROPIC
    assert resolve_choice(None, {"SLEUTH_REASONER": "offline"}) is ReasonerChoice.OFFLINE


def test_a_cloud_reasoner_without_credentials_says_what_is_missing() -> None:
    with pytest.raises(SleuthError, match="ANTHROPIC_API_KEY"):
        resolve_choice("anthropic", {})
    with pytest.raises(SleuthError, match="AWS credentials"):
        resolve_choice("bedrock", {})


def test_the_anthropic_and_bedrock_reasoners_build_without_calling_the_api(analysis: AnalysisSteps) -> None:
    anthropic_reasoner = choose_reasoner("anthropic", analysis, {"ANTHROPIC_API_KEY": "k"})
    bedrock = choose_reasoner(
        "bedrock",
        analysis,
        {"AWS_ACCESS_KEY_ID": "a", "AWS_SECRET_ACCESS_KEY": "s", "AWS_REGION": "eu-west-1"},
    )

    assert isinstance(anthropic_reasoner, ClaudeReasoner) and anthropic_reasoner.name == "anthropic"
    assert isinstance(bedrock, ClaudeReasoner) and bedrock.name == "bedrock"
    assert bedrock.model.startswith("us.anthropic.claude")
    assert anthropic_reasoner.model not in DEPRECATED_MODELS  # the SDK warns on deprecated models
