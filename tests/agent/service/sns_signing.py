"""A locally generated signing key and certificate standing in for Amazon SNS's."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.x509.oid import NameOID

from agent.service.payloads import SnsEnvelope
from agent.service.sns import string_to_sign

CERT_URL = "https://sns.eu-west-1.amazonaws.com/SimpleNotificationService-test.pem"
TOPIC = "arn:aws:sns:eu-west-1:123456789012:sleuth-alarms"


class FakeSns:
    def __init__(self) -> None:
        self.key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "sns.amazonaws.com")])
        now = datetime.now(UTC)
        self.certificate = (
            x509.CertificateBuilder()
            .subject_name(name)
            .issuer_name(name)
            .public_key(self.key.public_key())
            .serial_number(1)
            .not_valid_before(now - timedelta(days=1))
            .not_valid_after(now + timedelta(days=30))
            .sign(self.key, hashes.SHA256())
        )
        self.fetched: list[str] = []

    def fetch(self, url: str) -> bytes:
        self.fetched.append(url)
        return self.certificate.public_bytes(serialization.Encoding.PEM)

    def envelope(
        self,
        message: str,
        *,
        message_id: str = "m-1",
        kind: str = "Notification",
        version: str = "2",
        cert_url: str = CERT_URL,
        **extra: Any,
    ) -> dict[str, Any]:
        fields: dict[str, Any] = {
            "Type": kind,
            "MessageId": message_id,
            "TopicArn": TOPIC,
            "Message": message,
            "Timestamp": "2026-01-01T10:05:00.000Z",
            "SignatureVersion": version,
            "Signature": "",
            "SigningCertURL": cert_url,
            **extra,
        }
        algorithm = hashes.SHA1() if version == "1" else hashes.SHA256()
        signature = self.key.sign(string_to_sign(SnsEnvelope(**fields)), padding.PKCS1v15(), algorithm)
        fields["Signature"] = base64.b64encode(signature).decode()
        return fields


def alarm_message(
    name: str = "visits-availability",
    state: str = "ALARM",
    service: str = "visits",
    when: str = "2026-01-01T10:05:00.000+0000",
) -> str:
    return json.dumps(
        {
            "AlarmName": name,
            "NewStateValue": state,
            "OldStateValue": "OK",
            "NewStateReason": "Threshold Crossed: 3 datapoints were greater than the threshold (1.0).",
            "StateChangeTime": when,
            "Region": "EU (Ireland)",
            "Trigger": {
                "MetricName": "5xxErrorRate",
                "Namespace": "AWS/ApplicationSignals",
                "Dimensions": [{"name": "Service", "value": service}],
            },
        }
    )
