"""Reasoners: offline (the engine plus rules) and Claude (Anthropic API or Bedrock), one Protocol."""
