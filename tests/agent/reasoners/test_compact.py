from __future__ import annotations

import json

from agent.reasoners.compact import compact_text


def test_short_text_passes_through_unchanged() -> None:
    assert compact_text("error origins: 3", 100) == "error origins: 3"


def test_long_json_stays_valid_json_and_says_how_many_items_were_cut() -> None:
    payload = json.dumps({"spans": [{"service": "payments", "message": "x" * 50} for _ in range(200)]})

    compacted = compact_text(payload, 2_000)

    assert len(compacted) <= 2_000
    parsed = json.loads(compacted)
    assert parsed["spans"][-1].endswith("more items cut; narrow the query or page to see them")


def test_long_text_keeps_head_and_tail_lines_and_counts_what_was_cut() -> None:
    lines = [f"line {i}" for i in range(1_000)]

    compacted = compact_text("\n".join(lines), 500)

    assert compacted.startswith("line 0\n")
    assert compacted.endswith("line 999")
    assert "lines cut; narrow the query" in compacted
    assert len(compacted) < 600


def test_one_enormous_line_is_cut_with_a_count() -> None:
    compacted = compact_text("y" * 10_000, 100)

    assert compacted.startswith("y" * 100)
    assert "9900 characters cut" in compacted
