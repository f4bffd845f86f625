from __future__ import annotations

import pytest

from agent.service.topics import TopicAllowList, TopicConfigError


def test_topics_are_allowed_by_arn_glob_or_whole_account() -> None:
    allowed = TopicAllowList.parse(["arn:aws:sns:*:123456789012:prod-*", "210987654321"])

    assert allowed.allows("arn:aws:sns:eu-west-1:123456789012:prod-alarms")
    assert allowed.allows("arn:aws:sns:us-east-1:210987654321:anything")
    assert not allowed.allows("arn:aws:sns:eu-west-1:123456789012:dev-alarms")
    assert not allowed.allows("arn:aws:sns:eu-west-1:999999999999:prod-alarms")
    assert not allowed.allows("arn:aws:sqs:eu-west-1:210987654321:queue")
    assert not allowed.allows("not an arn")


def test_entries_may_come_comma_or_space_separated_as_from_an_environment_variable() -> None:
    allowed = TopicAllowList.parse(["arn:aws:sns:eu-west-1:123456789012:a, 210987654321 "])

    assert allowed.topics == ("arn:aws:sns:eu-west-1:123456789012:a",) and allowed.accounts == (
        "210987654321",
    )


@pytest.mark.parametrize("entry", ["*", "arn:aws:sns", "12345", "arn:aws:sqs:eu-west-1:123456789012:q"])
def test_an_entry_that_is_neither_a_topic_nor_an_account_is_a_configuration_error(entry: str) -> None:
    with pytest.raises(TopicConfigError, match="neither a topic ARN"):
        TopicAllowList.parse([entry])


def test_an_empty_allow_list_allows_nothing() -> None:
    assert not TopicAllowList.parse([])
    assert not TopicAllowList().allows("arn:aws:sns:eu-west-1:123456789012:a")
