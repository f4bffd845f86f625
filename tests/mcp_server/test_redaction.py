from __future__ import annotations

import pytest

from mcp_server.errors import SleuthError
from mcp_server.redaction import RULE_NAMES, RedactionConfig, Redactor


@pytest.mark.parametrize(
    ("text", "secret", "marker"),
    [
        ("using key AKIAIOSFODNN7EXAMPLE for s3", "AKIAIOSFODNN7EXAMPLE", "[REDACTED:aws_access_key]"),
        (
            "aws_secret_access_key=wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY rest",
            "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
            "[REDACTED:aws_secret_key]",
        ),
        ("Authorization: Bearer abc123.def-456_ghi", "abc123.def-456_ghi", "Bearer [REDACTED:token]"),
        ("Authorization: Basic dXNlcjpwYXNzd29yZA==", "dXNlcjpwYXNzd29yZA==", "Basic [REDACTED:token]"),
        (
            "connect postgres://orders:hunter2@db.internal:5432/orders failed",
            "hunter2",
            "postgres://orders:[REDACTED:password]@db.internal",
        ),
        ("payment declined for jane.doe+test@example.co.uk", "jane.doe", "[REDACTED:email]"),
        ("login failed password=s3cr3t! user=bob", "s3cr3t!", "password=[REDACTED:secret]"),
        (
            "token eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U",
            "eyJhbGciOiJIUzI1NiJ9",
            "[REDACTED:jwt]",
        ),
    ],
)
def test_secrets_in_log_text_are_replaced_by_a_marker_naming_their_kind(
    text: str, secret: str, marker: str
) -> None:
    redacted = Redactor().text(text)

    assert secret not in redacted
    assert marker in redacted


def test_ordinary_operational_text_passes_through_unchanged() -> None:
    text = (
        "GET /api/cart/42 returned 503 after 1200ms; Basic authentication disabled; "
        "ProvisionedThroughputExceededException on table orders trace=5b8efff798038103d269b633813fc60c"
    )

    assert Redactor().text(text) == text


def test_nested_structures_are_redacted_in_values_but_not_keys() -> None:
    data = {"password": "kept-as-key", "records": [{"body": "mail bob@example.com", "count": 3}]}

    assert Redactor().data(data) == {
        "password": "kept-as-key",
        "records": [{"body": "mail [REDACTED:email]", "count": 3}],
    }


def test_rules_can_be_switched_off_one_by_one_or_entirely() -> None:
    text = "mail bob@example.com key AKIAIOSFODNN7EXAMPLE"

    no_email = Redactor(RedactionConfig.from_options(disabled_rules=["email"])).text(text)
    assert "bob@example.com" in no_email
    assert "AKIAIOSFODNN7EXAMPLE" not in no_email
    assert Redactor(RedactionConfig(enabled=False)).text(text) == text


def test_custom_patterns_are_redacted_and_invalid_ones_are_rejected_clearly() -> None:
    redactor = Redactor(RedactionConfig.from_options(extra_patterns=[r"cust-\d{6}"]))
    assert redactor.text("refund for cust-123456") == "refund for [REDACTED]"

    with pytest.raises(SleuthError, match="not a valid regex"):
        Redactor(RedactionConfig.from_options(extra_patterns=["(unclosed"]))
    with pytest.raises(SleuthError, match="known rules: " + RULE_NAMES[0]):
        RedactionConfig.from_options(disabled_rules=["phone_numbers"])
