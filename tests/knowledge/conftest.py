from __future__ import annotations

import textwrap
from pathlib import Path
from typing import Any

import pytest

from knowledge.embeddings import HashingEmbedder
from knowledge.store import InMemoryKnowledgeStore


def sop_text(
    doc_id: str = "sop-test",
    title: str = "Test runbook",
    services: str = "[visits]",
    fault_types: str = "[dependency_throttling]",
    body: str = "## Step 1: Can you roll back?\nkubectl rollout undo\n\n## Step 2: Shift away\nDrain the host.\n",
) -> str:
    front = textwrap.dedent(
        f"""\
        ---
        id: {doc_id}
        title: {title}
        services: {services}
        symptoms: [errors on reads]
        fault_types: {fault_types}
        last_reviewed: 2026-01-02
        ---
        """
    )
    return front + f"\n# {title}\n\n" + body


def coe_data(doc_id: str = "coe-test", **overrides: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "id": doc_id,
        "title": "Visits failed",
        "date": "2026-03-01",
        "services": ["visits"],
        "fault_types": ["dependency_throttling"],
        "summary": "The Visits table throttled reads.",
        "customer_impact": "Visit pages failed for 10 minutes.",
        "timeline": [{"time": "2026-03-01T10:00:00Z", "event": "First throttle", "source": "CloudWatch"}],
        "metrics": ["ReadThrottleEvents peak 900/min"],
        "five_whys": {
            "question": "Why did visit pages fail?",
            "answer": "Reads were throttled.",
            "children": [
                {
                    "id": "trigger",
                    "branch": "trigger",
                    "question": "Why were reads throttled?",
                    "answer": "A scan without a limit.",
                    "children": [{"question": "Why no limit?", "answer": "Not load tested."}],
                },
                {"branch": "detection", "question": "Why late?", "answer": "No alarm."},
            ],
        },
        "what_went_well": ["Fast rollback"],
        "lessons_learned": ["Alarm on throttles"],
        "action_items": [
            {"title": "Add an alarm", "why_addressed": "1.2", "term": "short", "status": "done"},
            {"title": "Paginate", "why_addressed": "trigger.1", "term": "mid", "status": "open"},
        ],
    }
    data.update(overrides)
    return data


@pytest.fixture
def memory_store() -> InMemoryKnowledgeStore:
    return InMemoryKnowledgeStore(HashingEmbedder())


@pytest.fixture
def write(tmp_path: Path):
    def _write(name: str, text: str) -> Path:
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        return path

    return _write
