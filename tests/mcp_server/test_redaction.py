from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import boto3
import pyarrow as pa
import pyarrow.compute as pc
import pytest
from botocore.stub import Stubber
from hypothesis import given
from hypothesis import strategies as st

from evals.redaction.corpus import KINDS, Planted, corpus
from mcp_server.errors import SleuthError
from mcp_server.redaction import (
    RULE_NAMES,
    RedactionConfig,
    Redactor,
    install_response_redaction,
    sensitive_key,
)
from mcp_server.telemetry import ChangeEvent, ChangeKind

PLANTED = corpus()
IN_TEXT = [p for p in PLANTED if p.carrier == "text"]
BY_KEY = [p for p in PLANTED if p.carrier == "attribute"]
ORDINARY = [
    "GET /api/cart/42 returned 503 after 1200ms; Basic authentication disabled",
    "ProvisionedThroughputExceededException on table orders trace=5b8efff798038103d269b633813fc60c",
    '{"time":"2026-03-10T15:00:00.020Z","level":"info","logger":"notifications.health","msg":"GET /health 200 1ms"}',
    "llm call used input_tokens=512 output_tokens=90 tokens: 602 max_tokens=4096",
    "cache bypass=true key=user:42 partition_key=7",
    "connect https://api.example.com:8443/v1/orders?page=2 failed",
    "SELECT * FROM users WHERE id = 7; password reset mail queued",
    "at org.springframework.web.servlet.FrameworkServlet.service(FrameworkServlet.java:897)",
    "Job reconcile-invoices failed: org.postgresql.util.PSQLException: could not obtain lock",
    "jvm heap 91% of 2048MiB; GC pause 340ms (G1 Evacuation Pause)",
]


@pytest.mark.parametrize("planted", IN_TEXT, ids=[p.kind for p in IN_TEXT])
def test_every_kind_of_secret_in_text_is_replaced_by_a_marker(planted: Planted) -> None:
    redacted = Redactor().text(planted.text)

    assert planted.secret not in redacted
    assert "[REDACTED" in redacted and planted.probe in redacted  # the rest of the line survives


@pytest.mark.parametrize("planted", BY_KEY, ids=[p.kind for p in BY_KEY])
def test_a_value_is_redacted_by_the_name_it_is_stored_under(planted: Planted) -> None:
    redacted = Redactor().data({planted.key: planted.secret, "http.route": "/visits"})

    assert redacted == {planted.key: "[REDACTED:secret]", "http.route": "/visits"}


def test_the_corpus_has_at_least_fifty_kinds_of_secret() -> None:
    assert KINDS == len(PLANTED) >= 50
    assert len({p.secret for p in PLANTED}) == len(PLANTED)


def test_every_secret_matches_the_prefilter_the_importer_runs_over_whole_columns() -> None:
    prefilter = Redactor().prefilter
    assert prefilter is not None
    texts = [p.text for p in IN_TEXT] + [f'{{"{p.key}":"{p.secret}"}}' for p in BY_KEY]

    flagged = pc.match_substring_regex(pa.array(texts), prefilter, ignore_case=True).to_pylist()

    assert all(flagged)
    assert not any(pc.match_substring_regex(pa.array(ORDINARY[1:4]), prefilter, ignore_case=True).to_pylist())


@pytest.mark.parametrize("text", ORDINARY)
def test_ordinary_operational_text_passes_through_unchanged(text: str) -> None:
    assert Redactor().text(text) == text


@given(st.sampled_from(IN_TEXT), st.text(max_size=40), st.text(max_size=40))
def test_redacting_twice_changes_nothing_more(planted: Planted, before: str, after: str) -> None:
    redactor = Redactor()
    once = redactor.text(f"{before} {planted.text} {after}")

    assert redactor.text(once) == once
    assert planted.secret not in once


def test_nested_structures_are_redacted_by_value_and_by_key_but_keys_stay() -> None:
    data = {
        "password": "kept-out",
        "db": {"password": 123456, "host": "db.internal"},
        "http.request.header.authorization": ["Bearer abcdefgh12345678"],
        "records": [{"body": "mail bob@example.com", "count": 3}],
        "gen_ai.usage.input_tokens": 512,
    }

    assert Redactor().data(data) == {
        "password": "[REDACTED:secret]",
        "db": {"password": "[REDACTED:secret]", "host": "db.internal"},
        "http.request.header.authorization": ["[REDACTED:secret]"],
        "records": [{"body": "mail [REDACTED:email]", "count": 3}],
        "gen_ai.usage.input_tokens": 512,
    }


@pytest.mark.parametrize(
    ("key", "sensitive"),
    [
        ("db.password", True),
        ("dbPassword", True),
        ("AWS_SESSION_TOKEN", True),
        ("x-api-key", True),
        ("db.pass", True),
        ("azure.sig", True),
        ("cache.bypass", False),
        ("gen_ai.usage.output_tokens", False),
        ("messaging.kafka.message.key", False),
        ("nextToken", False),
        ("http.route", False),
    ],
)
def test_secret_keys_are_told_from_ordinary_ones(key: str, sensitive: bool) -> None:
    assert sensitive_key(key) is sensitive


def test_a_models_text_fields_are_redacted_and_its_types_kept() -> None:
    change = ChangeEvent(
        time=datetime(2026, 3, 10, 15, 1, tzinfo=UTC),
        service="customers",
        kind=ChangeKind.DEPLOYMENT,
        description="deploy with DATABASE_URL=postgres://app:hunter2xyz@db/c",
    )

    redacted = Redactor().model(change)

    assert redacted.description == "deploy with DATABASE_URL=postgres://app:[REDACTED:password]@db/c"
    assert redacted.kind is ChangeKind.DEPLOYMENT and redacted.time == change.time
    assert Redactor().model(redacted) is redacted  # nothing left to change: the same object


def test_rules_can_be_switched_off_one_by_one_or_entirely() -> None:
    text = "mail bob@example.com key AKIAIOSFODNN7EXAMPLE"

    no_email = Redactor(RedactionConfig.from_options(disabled_rules=["email"])).text(text)
    assert "bob@example.com" in no_email
    assert "AKIAIOSFODNN7EXAMPLE" not in no_email
    assert Redactor(RedactionConfig(enabled=False)).text(text) == text
    no_keys = Redactor(RedactionConfig.from_options(disabled_rules=["by_key"]))
    assert no_keys.data({"password": "kept"}) == {"password": "kept"}


def test_custom_patterns_are_redacted_and_invalid_ones_are_rejected_clearly() -> None:
    redactor = Redactor(RedactionConfig.from_options(extra_patterns=[r"cust-\d{6}"]))
    assert redactor.text("refund for cust-123456") == "refund for [REDACTED]"
    assert redactor.prefilter is None  # a custom rule cannot say which strings to skip

    with pytest.raises(SleuthError, match="not a valid regex"):
        Redactor(RedactionConfig.from_options(extra_patterns=["(unclosed"]))
    with pytest.raises(SleuthError, match="known rules: " + RULE_NAMES[0]):
        RedactionConfig.from_options(disabled_rules=["phone_numbers"])


def test_a_boto3_client_hands_back_redacted_responses_with_cursors_intact() -> None:
    client = boto3.client("logs", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="y")
    install_response_redaction([client], Redactor())
    response: dict[str, Any] = {
        "events": [{"logStreamName": "s", "timestamp": 1, "message": "retry with ghp_" + "a" * 36}],
        "nextToken": "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2lnbmF0dXJl",
        "searchedLogStreams": [],
    }
    with Stubber(client) as stub:
        stub.add_response("filter_log_events", response, {"logGroupName": "/app"})
        answer = client.filter_log_events(logGroupName="/app")

    assert answer["events"][0]["message"] == "retry with [REDACTED:github_token]"
    assert answer["nextToken"] == response["nextToken"]
