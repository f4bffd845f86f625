from __future__ import annotations

from pathlib import Path

import pytest

from agent.report.fault_factors import KNOWLEDGE, load_fault_knowledge
from mcp_server.errors import InputFileError
from mcp_server.taxonomy import FaultType


def test_the_bundled_table_covers_every_known_fault_type_with_a_trigger_and_a_blast_radius_factor() -> None:
    missing = [f for f in FaultType if f != FaultType.UNKNOWN and f not in KNOWLEDGE]

    assert missing == []
    assert all(k.deeper and k.blast_radius for k in KNOWLEDGE.values())
    assert all(f.action.validation.startswith("Done when") for k in KNOWLEDGE.values() for f in k.deeper)


def test_a_table_naming_an_unknown_evidence_kind_is_rejected_with_its_field(tmp_path: Path) -> None:
    table = tmp_path / "factors.yaml"
    table.write_text(
        "fault_types:\n  cache_failure:\n    deeper:\n      - question: Why?\n        answer: Because.\n"
        "        supported_by: [gut_feeling]\n        action: {title: Fix, term: short, validation: Done when fixed.}\n"
    )

    with pytest.raises(InputFileError) as caught:
        load_fault_knowledge(table)

    assert "fault_types.cache_failure.deeper.0" in str(caught.value)


def test_a_table_referring_to_a_missing_shared_factor_is_rejected(tmp_path: Path) -> None:
    table = tmp_path / "factors.yaml"
    table.write_text("fault_types:\n  bad_deployment:\n    blast_radius: [canary]\n")

    with pytest.raises(InputFileError, match="unknown shared factor 'canary'"):
        load_fault_knowledge(table)
