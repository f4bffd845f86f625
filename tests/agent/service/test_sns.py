from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pytest

from agent.service.payloads import SnsEnvelope, alarm_from_sns
from agent.service.ratelimit import TokenBucket
from agent.service.sns import SignatureError, SnsVerifier
from agent.service.sns_certs import CertificateBudgetSpent, CertificateSource
from agent.service.sns_testing import TEST_CERT_PATH, SnsSigner, alarm_message, certificate_url, sns_timestamp
from agent.service.topics import TopicAllowList

TOPIC = "arn:aws:sns:eu-west-1:123456789012:sleuth-alarms"
CERT_URL = certificate_url(TOPIC, "/SimpleNotificationService-0123abcd.pem")


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


class FakeCertificateHost:
    """Answers certificate fetches in-process; counts them; can fail or block."""

    def __init__(self, signer: SnsSigner) -> None:
        self.signer = signer
        self.fetched: list[str] = []
        self.fail = False
        self.gate: threading.Event | None = None

    def __call__(self, url: str) -> bytes:
        self.fetched.append(url)
        if self.gate is not None:
            self.gate.wait(10)
        if self.fail:
            raise ValueError("connection refused")
        return self.signer.certificate_pem()


def _setup(**options: object) -> tuple[SnsSigner, FakeCertificateHost, SnsVerifier]:
    signer = SnsSigner()
    host = FakeCertificateHost(signer)
    source = CertificateSource(host, **options)  # type: ignore[arg-type]
    return signer, host, SnsVerifier(source, TopicAllowList.parse([TOPIC]))


def _envelope(signer: SnsSigner, **fields: object) -> SnsEnvelope:
    options: dict[str, object] = {"topic_arn": TOPIC, "message_id": "m-1", "cert_url": CERT_URL, **fields}
    return SnsEnvelope(**signer.envelope(alarm_message("visits-5xx"), **options))  # type: ignore[arg-type]


@pytest.mark.parametrize("version", ["1", "2"])
def test_a_message_signed_by_sns_verifies_with_either_signature_version(version: str) -> None:
    signer, host, verifier = _setup()

    verifier.verify(_envelope(signer, version=version))

    assert host.fetched == [CERT_URL]


def test_a_changed_message_fails_verification() -> None:
    signer, _, verifier = _setup()
    fields = signer.envelope(
        alarm_message("visits-5xx"), topic_arn=TOPIC, message_id="m-1", cert_url=CERT_URL
    )
    fields["Message"] = alarm_message("something-else")

    with pytest.raises(SignatureError, match="does not match"):
        verifier.verify(SnsEnvelope(**fields))


@pytest.mark.parametrize(
    "url",
    [
        "https://evil.example.com/SimpleNotificationService-x.pem",
        "http://sns.eu-west-1.amazonaws.com/SimpleNotificationService-x.pem",
        "https://sns.eu-west-1.amazonaws.com.evil.io/SimpleNotificationService-x.pem",
        "https://sns.s3-website-eu-west-1.amazonaws.com/SimpleNotificationService-x.pem",
        "https://sns.us-east-1.amazonaws.com/SimpleNotificationService-x.pem",  # not the topic's region
        "https://sns.eu-west-1.amazonaws.com.cn/SimpleNotificationService-x.pem",
        "https://sns.eu-west-1.amazonaws.com:8443/SimpleNotificationService-x.pem",
        "https://user@sns.eu-west-1.amazonaws.com/SimpleNotificationService-x.pem",
        "https://sns.eu-west-1.amazonaws.com/other/cert.pem",
        "https://sns.eu-west-1.amazonaws.com/SimpleNotificationService-x.pem?redirect=1",
    ],
)
def test_a_certificate_outside_the_topics_regional_sns_host_is_never_fetched(url: str) -> None:
    signer, host, verifier = _setup()

    with pytest.raises(SignatureError):
        verifier.verify(_envelope(signer, cert_url=url))

    assert host.fetched == []


def test_a_topic_outside_the_allow_list_is_refused_before_anything_is_fetched() -> None:
    signer, host, verifier = _setup()
    foreign = "arn:aws:sns:eu-west-1:999999999999:attacker-topic"

    with pytest.raises(SignatureError, match="not on the allow-list"):
        verifier.verify(
            _envelope(
                signer,
                topic_arn=foreign,
                cert_url=certificate_url(foreign, "/SimpleNotificationService-1.pem"),
            )
        )

    assert host.fetched == []


def test_without_an_allow_list_no_sns_message_is_accepted() -> None:
    signer = SnsSigner()
    verifier = SnsVerifier(CertificateSource(FakeCertificateHost(signer)), TopicAllowList())

    with pytest.raises(SignatureError, match="SNS intake is off"):
        verifier.verify(_envelope(signer))


def test_a_message_older_than_snss_retry_window_is_a_replay() -> None:
    signer, host, verifier = _setup()
    old = sns_timestamp(datetime.now(UTC) - timedelta(hours=2))

    with pytest.raises(SignatureError, match="replay"):
        verifier.verify(_envelope(signer, timestamp=old))

    assert host.fetched == []


def test_a_failed_certificate_fetch_is_remembered_for_a_while() -> None:
    clock = Clock()
    signer, host, verifier = _setup(clock=clock, failure_ttl=300.0)
    host.fail = True

    for _ in range(5):
        with pytest.raises(SignatureError, match="cannot load"):
            verifier.verify(_envelope(signer))
    clock.now += 301
    host.fail = False
    verifier.verify(_envelope(signer))

    assert host.fetched == [CERT_URL, CERT_URL]


def test_concurrent_requests_for_one_certificate_share_one_fetch() -> None:
    signer, host, verifier = _setup()
    host.gate = threading.Event()
    errors: list[Exception] = []

    def verify() -> None:
        try:
            verifier.verify(_envelope(signer))
        except Exception as exc:
            errors.append(exc)

    threads = [threading.Thread(target=verify) for _ in range(5)]
    for thread in threads:
        thread.start()
    host.gate.set()
    for thread in threads:
        thread.join(10)

    assert errors == [] and host.fetched == [CERT_URL]


def test_new_certificate_urls_beyond_the_budget_are_not_fetched() -> None:
    signer, host, verifier = _setup(budget=TokenBucket(capacity=2, per_second=0.0))
    urls = [certificate_url(TOPIC, f"/SimpleNotificationService-{i}.pem") for i in range(3)]

    verifier.verify(_envelope(signer, cert_url=urls[0]))
    verifier.verify(_envelope(signer, cert_url=urls[1]))
    with pytest.raises(CertificateBudgetSpent):
        verifier.verify(_envelope(signer, cert_url=urls[2]))
    verifier.verify(_envelope(signer, cert_url=urls[0]))  # cached: no budget needed

    assert host.fetched == urls[:2]


def test_a_pinned_local_test_certificate_verifies_without_any_fetch() -> None:
    test_key = SnsSigner()
    _, host, verifier = _setup()
    verifier.certificates.pin(TEST_CERT_PATH, test_key.certificate_pem())

    verifier.verify(
        SnsEnvelope(**test_key.envelope(alarm_message("visits-5xx"), topic_arn=TOPIC, message_id="t1"))
    )

    assert host.fetched == []


def test_subscription_confirmations_are_signed_over_their_own_fields() -> None:
    signer, _, verifier = _setup()
    url = f"https://sns.eu-west-1.amazonaws.com/?Action=ConfirmSubscription&TopicArn={TOPIC}&Token=tok"
    fields = signer.envelope(
        "You have chosen to subscribe",
        topic_arn=TOPIC,
        message_id="c-1",
        cert_url=CERT_URL,
        kind="SubscriptionConfirmation",
        Token="tok",
        SubscribeURL=url,
    )

    verifier.verify(SnsEnvelope(**fields))


def test_a_cloudwatch_alarm_notification_becomes_a_firing_event_for_its_service() -> None:
    signer = SnsSigner()
    when = datetime(2026, 1, 1, 10, 5, tzinfo=UTC)
    message = alarm_message("visits-availability", dimensions={"Service": "visits"}, when=when)

    event = alarm_from_sns(SnsEnvelope(**signer.envelope(message, topic_arn=TOPIC, message_id="m")))

    assert (event.alarm_name, event.status, event.service, event.metric) == (
        "visits-availability",
        "firing",
        "visits",
        "5xxErrorRate",
    )
    assert (event.region, event.account) == ("eu-west-1", "123456789012")
    assert event.time.isoformat() == "2026-01-01T10:05:00+00:00"
