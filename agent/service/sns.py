"""Verify Amazon SNS messages: topic, certificate URL, freshness, then the signature.

Checks run cheapest first, and nothing is fetched for a message that fails an earlier one:

1. the topic is on the allow-list (:mod:`agent.service.topics`);
2. the certificate URL is ``https://sns.<region>.amazonaws.com[.cn]/SimpleNotificationService-*.pem``
   on a real region name, in the topic's own region and partition (so neither an S3 website
   bucket called ``sns`` nor another region's host passes);
3. the Timestamp is recent: SNS stops retrying an HTTP delivery after an hour, so an older
   message is a replay;
4. the signature (SignatureVersion 1: SHA1, 2: SHA256) with the certificate's key
   (:mod:`agent.service.sns_certs`).
"""

from __future__ import annotations

import base64
import re
import time
from collections.abc import Callable
from datetime import datetime
from urllib.parse import parse_qs, urlparse

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding

from agent.service.payloads import PayloadError, SnsEnvelope, arn_parts
from agent.service.sns_certs import CertificateBudgetSpent, CertificateError, CertificateSource
from agent.service.topics import TopicAllowList
from mcp_server.errors import SleuthError

# Real region names only: geography, optional gov/iso, direction, number.
_REGION = r"(?:us|eu|ap|sa|ca|me|af|il|mx|cn)(?:-gov|-iso[a-z]?)?-(?:north|south|east|west|central)(?:east|west)?-\d{1,2}"
_SNS_HOST = re.compile(rf"^sns\.(?P<region>{_REGION})\.amazonaws\.com(?P<cn>\.cn)?$")
_CERT_PATH = re.compile(r"^/SimpleNotificationService-[A-Za-z0-9-]{1,64}\.pem$")

MAX_AGE_SECONDS = 3600.0 + 300.0  # SNS's longest HTTP retry policy, plus clock skew
MAX_FUTURE_SECONDS = 300.0


class SignatureError(SleuthError):
    """The SNS message is not provably from an allowed SNS topic: rejected, never queued."""


def sns_region(url: str, what: str = "SigningCertURL") -> str:
    """The region of an https SNS URL; raises unless it is exactly an Amazon SNS regional host."""
    parsed = urlparse(url)
    if parsed.scheme != "https":
        raise SignatureError(f"{what} must use https, got {url!r}")
    if parsed.username is not None or parsed.password is not None or parsed.port is not None:
        raise SignatureError(f"{what} {url!r} carries credentials or a port")
    match = _SNS_HOST.match(parsed.hostname or "")
    if match is None:
        raise SignatureError(f"{what} host {parsed.hostname!r} is not an Amazon SNS regional host")
    region = match["region"]
    if region.startswith("cn-") != bool(match["cn"]):
        raise SignatureError(f"{what} host {parsed.hostname!r} does not match its partition")
    return region


def check_certificate_url(url: str, topic_arn: str) -> None:
    region = sns_region(url)
    parsed = urlparse(url)
    if not _CERT_PATH.match(parsed.path) or parsed.query or parsed.fragment:
        raise SignatureError(f"SigningCertURL {url!r} is not an SNS signing certificate (.pem)")
    try:
        _, _, topic_region, _, _ = arn_parts(topic_arn)
    except PayloadError as exc:
        raise SignatureError(f"TopicArn: {exc}") from None
    if topic_region != region:
        raise SignatureError(
            f"SigningCertURL is in {region} but the topic is in {topic_region}: SNS signs from the topic's region"
        )


def check_subscribe_url(envelope: SnsEnvelope) -> str:
    """The SubscribeURL, once it is on the signing host and confirms this very topic."""
    url = envelope.SubscribeURL or ""
    sns_region(url, "SubscribeURL")
    if urlparse(url).hostname != urlparse(envelope.SigningCertURL).hostname:
        raise SignatureError("SubscribeURL is not on the SNS host that signed the message")
    query = parse_qs(urlparse(url).query)
    if query.get("Action") != ["ConfirmSubscription"] or query.get("TopicArn") != [envelope.TopicArn]:
        raise SignatureError("SubscribeURL does not confirm a subscription to this topic")
    return url


def string_to_sign(envelope: SnsEnvelope) -> bytes:
    """The canonical string SNS signs, per message type."""
    if envelope.Type == "Notification":
        keys = ["Message", "MessageId", "Subject", "Timestamp", "TopicArn", "Type"]
    elif envelope.Type in ("SubscriptionConfirmation", "UnsubscribeConfirmation"):
        keys = ["Message", "MessageId", "SubscribeURL", "Timestamp", "Token", "TopicArn", "Type"]
    else:
        raise SignatureError(f"unknown SNS message Type {envelope.Type!r}")
    parts = []
    for key in keys:
        value = getattr(envelope, key)
        if value is None:
            if key == "Subject":
                continue
            raise SignatureError(f"SNS {envelope.Type} lacks {key}")
        parts.append(f"{key}\n{value}\n")
    return "".join(parts).encode("utf-8")


class SnsVerifier:
    def __init__(
        self,
        certificates: CertificateSource,
        topics: TopicAllowList,
        *,
        max_age: float = MAX_AGE_SECONDS,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.certificates = certificates
        self.topics = topics
        self.max_age = max_age
        self._clock = clock

    def check_topic(self, envelope: SnsEnvelope) -> None:
        if not self.topics:
            raise SignatureError("SNS intake is off: no topic is allowed (set --sns-topic)")
        if not self.topics.allows(envelope.TopicArn):
            raise SignatureError(f"SNS topic {envelope.TopicArn!r} is not on the allow-list")

    def check_fresh(self, envelope: SnsEnvelope) -> None:
        try:
            sent = datetime.fromisoformat(envelope.Timestamp.replace("Z", "+00:00")).timestamp()
        except ValueError:
            raise SignatureError(f"unreadable SNS Timestamp {envelope.Timestamp!r}") from None
        age = self._clock() - sent
        if age > self.max_age:
            raise SignatureError(
                f"SNS message is {age / 60:.0f} minutes old: a replay (limit {self.max_age / 60:.0f})"
            )
        if age < -MAX_FUTURE_SECONDS:
            raise SignatureError("SNS message Timestamp is in the future")

    def verify(self, envelope: SnsEnvelope) -> None:
        """Raise :class:`SignatureError` unless the envelope is a fresh message from an allowed topic."""
        algorithm: hashes.HashAlgorithm
        if envelope.SignatureVersion == "1":
            algorithm = hashes.SHA1()  # SNS SignatureVersion 1 is defined as SHA1withRSA
        elif envelope.SignatureVersion == "2":
            algorithm = hashes.SHA256()
        else:
            raise SignatureError(f"unsupported SignatureVersion {envelope.SignatureVersion!r}")
        self.check_topic(envelope)
        check_certificate_url(envelope.SigningCertURL, envelope.TopicArn)
        self.check_fresh(envelope)
        try:
            signature = base64.b64decode(envelope.Signature, validate=True)
        except ValueError:
            raise SignatureError("Signature is not base64") from None
        message = string_to_sign(envelope)
        try:
            key = self.certificates.public_key(envelope.SigningCertURL)
        except CertificateBudgetSpent:
            raise
        except CertificateError as exc:
            raise SignatureError(str(exc)) from None
        try:
            key.verify(signature, message, padding.PKCS1v15(), algorithm)
        except InvalidSignature:
            raise SignatureError("SNS signature does not match the message") from None
