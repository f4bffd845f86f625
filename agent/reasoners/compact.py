"""Shrink tool output before it reaches the model, saying what was cut.

JSON is shrunk structurally (long lists keep their head, long strings their start) so it stays
valid and readable; any other text keeps its head and tail lines.
"""

from __future__ import annotations

import json
from typing import Any

MAX_LIST = 12
MAX_STRING = 400


def _shrink(value: Any, max_list: int, max_string: int) -> Any:
    if isinstance(value, dict):
        return {key: _shrink(item, max_list, max_string) for key, item in value.items()}
    if isinstance(value, list):
        head = [_shrink(item, max_list, max_string) for item in value[:max_list]]
        if len(value) > max_list:
            head.append(f"... {len(value) - max_list} more items cut; narrow the query or page to see them")
        return head
    if isinstance(value, str) and len(value) > max_string:
        return value[:max_string] + f"... [{len(value) - max_string} characters cut]"
    return value


def compact_text(text: str, limit: int) -> str:
    """At most ``limit`` characters (plus a short note) of ``text``."""
    if len(text) <= limit:
        return text
    stripped = text.lstrip()
    if stripped[:1] in "[{":
        try:
            parsed = json.loads(stripped)
        except json.JSONDecodeError:
            parsed = None
        if parsed is not None:
            for max_list, max_string in ((MAX_LIST, MAX_STRING), (5, 200), (3, 100), (1, 60)):
                shrunk = json.dumps(_shrink(parsed, max_list, max_string), separators=(",", ":"), default=str)
                if len(shrunk) <= limit:
                    return shrunk
    lines = text.splitlines()
    head: list[str] = []
    used = 0
    for line in lines:
        if used + len(line) + 1 > limit * 3 // 4:
            break
        head.append(line)
        used += len(line) + 1
    if not head:  # one enormous line
        return text[:limit] + f"\n... [{len(text) - limit} characters cut]"
    tail: list[str] = []
    for line in reversed(lines[len(head) :]):
        if used + len(line) + 1 > limit:
            break
        tail.insert(0, line)
        used += len(line) + 1
    cut = len(lines) - len(head) - len(tail)
    return "\n".join([*head, f"... [{cut} lines cut; narrow the query to see them]", *tail])
