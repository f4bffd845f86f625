from __future__ import annotations

import pytest

from agent.service.payloads import SnsEnvelope, alarm_from_sns
from agent.service.sns import SignatureError, SnsVerifier
from tests.agent.service.sns_signing import FakeSns, alarm_message


@pytest.mark.parametrize("version", ["1", "2"])
def test_a_message_signed_by_sns_verifies_with_either_signature_version(version: str) -> None:
    sns = FakeSns()
    envelope = SnsEnvelope(**sns.envelope(alarm_message(), version=version))

    SnsVerifier(sns.fetch).verify(envelope)

    assert sns.fetched == [envelope.SigningCertURL]


def test_a_changed_message_fails_verification() -> None:
    sns = FakeSns()
    fields = sns.envelope(alarm_message())
    fields["Message"] = alarm_message(name="something-else")

    with pytest.raises(SignatureError, match="does not match"):
        SnsVerifier(sns.fetch).verify(SnsEnvelope(**fields))


@pytest.mark.parametrize(
    "url",
    [
        "https://evil.example.com/SimpleNotificationService-x.pem",
        "http://sns.eu-west-1.amazonaws.com/SimpleNotificationService-x.pem",
        "https://sns.eu-west-1.amazonaws.com.evil.io/x.pem",
    ],
)
def test_a_certificate_outside_sns_is_never_fetched(url: str) -> None:
    sns = FakeSns()
    envelope = SnsEnvelope(**sns.envelope(alarm_message(), cert_url=url))

    with pytest.raises(SignatureError):
        SnsVerifier(sns.fetch).verify(envelope)

    assert sns.fetched == []


def test_subscription_confirmations_are_signed_over_their_own_fields() -> None:
    sns = FakeSns()
    fields = sns.envelope(
        "You have chosen to subscribe",
        kind="SubscriptionConfirmation",
        Token="tok",
        SubscribeURL="https://sns.eu-west-1.amazonaws.com/?Action=ConfirmSubscription",
    )

    SnsVerifier(sns.fetch).verify(SnsEnvelope(**fields))


def test_a_cloudwatch_alarm_notification_becomes_a_firing_event_for_its_service() -> None:
    sns = FakeSns()

    event = alarm_from_sns(SnsEnvelope(**sns.envelope(alarm_message())))

    assert (event.alarm_name, event.status, event.service, event.metric) == (
        "visits-availability",
        "firing",
        "visits",
        "5xxErrorRate",
    )
    assert event.time.isoformat() == "2026-01-01T10:05:00+00:00"
