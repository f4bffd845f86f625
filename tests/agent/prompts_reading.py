"""Reading a prompt the way a model might: what lies outside its untrusted-data blocks."""

from __future__ import annotations

import json
import re
from typing import Any

from agent.reasoners.injection import fold


def outside(prompt: str, nonce: str) -> str:
    """What a model reading the blocks as intended sees outside them."""
    return re.sub(
        rf'<untrusted-data source="[^"]*" nonce="{nonce}">.*?</untrusted-data nonce="{nonce}">',
        "",
        prompt,
        flags=re.S,
    )


def naively_outside(prompt: str) -> str:
    """What a careless reader sees outside: a block ends at anything like a closing tag."""
    folded = fold(prompt).lower()
    return re.sub(r"<\s*untrusted-data.*?<\s*/\s*untrusted-data[^>]*>", "", folded, flags=re.S)


def request_text(request: dict[str, Any]) -> str:
    """Every message of one Messages API request, as the model reads it."""
    parts: list[str] = []
    for message in request["messages"]:
        content = message["content"]
        blocks = [{"type": "text", "text": content}] if isinstance(content, str) else content
        for block in blocks:
            if block.get("type") == "tool_use":
                parts.append(json.dumps(block.get("input")))
            else:
                parts.append(str(block.get("text") or block.get("content") or ""))
    return "\n".join(parts)


def nonce_of(text: str) -> str:
    nonces = set(re.findall(r'nonce="([0-9a-f]{16})"', text))
    assert len(nonces) == 1, nonces
    return nonces.pop()
