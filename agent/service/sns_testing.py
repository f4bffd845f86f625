"""A local stand-in for Amazon SNS's signing key: signed test alarms without AWS.

``sleuth test-alarm keygen DIR`` writes ``sns-test-key.pem`` (private: keep it so) and
``sns-test-cert.pem``. Start the service with ``--sns-test-cert DIR/sns-test-cert.pem`` and it
trusts that certificate for :data:`TEST_CERT_PATH` on the allowed topic's regional SNS host.
``sleuth test-alarm send`` then signs a CloudWatch alarm notification with the key, exactly as
SNS would, and posts it. Every other check (topic allow-list, host, freshness) still applies.

The tests and benchmarks use the same signer.
"""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.x509.oid import NameOID

from agent.service.payloads import SnsEnvelope, arn_parts
from agent.service.sns import string_to_sign

TEST_CERT_PATH = "/SimpleNotificationService-sleuth-local-test.pem"
KEY_FILE = "sns-test-key.pem"
CERT_FILE = "sns-test-cert.pem"


def sns_timestamp(moment: datetime | None = None) -> str:
    """SNS's Timestamp format: ``2026-01-01T10:05:00.000Z``."""
    moment = moment or datetime.now(UTC)
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def certificate_url(topic_arn: str, path: str = TEST_CERT_PATH) -> str:
    partition, _, region, _, _ = arn_parts(topic_arn)
    suffix = ".cn" if partition == "aws-cn" else ""
    return f"https://sns.{region}.amazonaws.com{suffix}{path}"


class SnsSigner:
    """Signs SNS envelopes with an RSA key; its self-signed certificate verifies them."""

    def __init__(
        self, key: rsa.RSAPrivateKey | None = None, certificate: x509.Certificate | None = None
    ) -> None:
        self.key = key or rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.certificate = certificate or _self_signed(self.key)

    @classmethod
    def load(cls, key_file: Path) -> SnsSigner:
        key = serialization.load_pem_private_key(Path(key_file).read_bytes(), password=None)
        if not isinstance(key, rsa.RSAPrivateKey):
            raise ValueError(f"{key_file} does not hold an RSA private key")
        return cls(key)

    def certificate_pem(self) -> bytes:
        return self.certificate.public_bytes(serialization.Encoding.PEM)

    def write(self, directory: Path) -> tuple[Path, Path]:
        """Write the key (mode 0600) and certificate; return their paths."""
        directory.mkdir(parents=True, exist_ok=True)
        key_path, cert_path = directory / KEY_FILE, directory / CERT_FILE
        key_path.write_bytes(
            self.key.private_bytes(
                serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
            )
        )
        key_path.chmod(0o600)
        cert_path.write_bytes(self.certificate_pem())
        return key_path, cert_path

    def envelope(
        self,
        message: str,
        *,
        topic_arn: str,
        message_id: str,
        kind: str = "Notification",
        version: str = "2",
        cert_url: str | None = None,
        timestamp: str | None = None,
        **extra: Any,
    ) -> dict[str, Any]:
        fields: dict[str, Any] = {
            "Type": kind,
            "MessageId": message_id,
            "TopicArn": topic_arn,
            "Message": message,
            "Timestamp": timestamp or sns_timestamp(),
            "SignatureVersion": version,
            "Signature": "",
            "SigningCertURL": cert_url or certificate_url(topic_arn),
            **extra,
        }
        algorithm = hashes.SHA1() if version == "1" else hashes.SHA256()
        signature = self.key.sign(string_to_sign(SnsEnvelope(**fields)), padding.PKCS1v15(), algorithm)
        fields["Signature"] = base64.b64encode(signature).decode()
        return fields


def alarm_message(
    name: str,
    *,
    state: str = "ALARM",
    dimensions: dict[str, str] | None = None,
    reason: str = "Threshold Crossed: 3 datapoints were greater than the threshold (1.0).",
    when: datetime | None = None,
    metric: str = "5xxErrorRate",
) -> str:
    """The JSON CloudWatch puts in an SNS Message when an alarm changes state."""
    moment = (when or datetime.now(UTC)).astimezone(UTC)
    return json.dumps(
        {
            "AlarmName": name,
            "NewStateValue": state,
            "OldStateValue": "OK" if state == "ALARM" else "ALARM",
            "NewStateReason": reason,
            "StateChangeTime": moment.strftime("%Y-%m-%dT%H:%M:%S.000+0000"),
            "Region": "EU (Ireland)",
            "Trigger": {
                "MetricName": metric,
                "Namespace": "AWS/ApplicationSignals",
                "Dimensions": [{"name": k, "value": v} for k, v in (dimensions or {}).items()],
            },
        }
    )


def _self_signed(key: rsa.RSAPrivateKey) -> x509.Certificate:
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "sleuth local SNS test key")])
    now = datetime.now(UTC)
    return (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=3650))
        .sign(key, hashes.SHA256())
    )
