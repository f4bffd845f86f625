"""The least-privilege IAM policy for the AWS backend (``sleuth-readonly-policy.json``)."""

from __future__ import annotations

import json
from pathlib import Path

POLICY_PATH = Path(__file__).with_name("sleuth-readonly-policy.json")


def policy_actions() -> set[str]:
    """Every action the policy allows."""
    document = json.loads(POLICY_PATH.read_text(encoding="utf-8"))
    return {action for statement in document["Statement"] for action in statement["Action"]}
