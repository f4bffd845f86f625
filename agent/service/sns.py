"""Verify Amazon SNS message signatures (SignatureVersion 1: SHA1, 2: SHA256).

The signing certificate is fetched only from an SNS host over HTTPS, through an injectable
fetcher (tests use a locally generated key and certificate), and cached per URL.
"""

from __future__ import annotations

import base64
import re
import threading
from collections.abc import Callable
from urllib.parse import urlparse

import httpx
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from agent.service.payloads import SnsEnvelope
from mcp_server.errors import SleuthError

_SNS_HOST = re.compile(r"^sns\.[a-z0-9-]+\.amazonaws\.com(\.cn)?$")

CertificateFetcher = Callable[[str], bytes]


class SignatureError(SleuthError):
    """The SNS message is not provably from SNS: rejected, never queued."""


def http_certificate_fetcher(url: str) -> bytes:
    response = httpx.get(url, timeout=5.0)
    response.raise_for_status()
    return response.content


def check_sns_url(url: str, what: str = "SigningCertURL") -> None:
    """Raise unless ``url`` is https on an Amazon SNS host (sns.<region>.amazonaws.com[.cn])."""
    parsed = urlparse(url)
    if parsed.scheme != "https":
        raise SignatureError(f"{what} must use https, got {url!r}")
    if not _SNS_HOST.match(parsed.hostname or ""):
        raise SignatureError(f"{what} host {parsed.hostname!r} is not an Amazon SNS host")


def check_certificate_url(url: str) -> None:
    check_sns_url(url)
    if not urlparse(url).path.endswith(".pem"):
        raise SignatureError(f"SigningCertURL {url!r} is not a .pem certificate")


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
    def __init__(self, fetch_certificate: CertificateFetcher = http_certificate_fetcher) -> None:
        self._fetch = fetch_certificate
        self._cache: dict[str, rsa.RSAPublicKey] = {}
        self._lock = threading.Lock()

    def _public_key(self, url: str) -> rsa.RSAPublicKey:
        with self._lock:
            cached = self._cache.get(url)
        if cached is not None:
            return cached
        try:
            certificate = x509.load_pem_x509_certificate(self._fetch(url))
        except (ValueError, httpx.HTTPError) as exc:
            raise SignatureError(f"cannot load the signing certificate from {url}: {exc}") from None
        key = certificate.public_key()
        if not isinstance(key, rsa.RSAPublicKey):
            raise SignatureError("the SNS signing certificate does not hold an RSA key")
        with self._lock:
            self._cache[url] = key
        return key

    def verify(self, envelope: SnsEnvelope) -> None:
        """Raise :class:`SignatureError` unless the envelope is signed by SNS."""
        algorithm: hashes.HashAlgorithm
        if envelope.SignatureVersion == "1":
            algorithm = hashes.SHA1()  # SNS SignatureVersion 1 is defined as SHA1withRSA
        elif envelope.SignatureVersion == "2":
            algorithm = hashes.SHA256()
        else:
            raise SignatureError(f"unsupported SignatureVersion {envelope.SignatureVersion!r}")
        check_certificate_url(envelope.SigningCertURL)
        try:
            signature = base64.b64decode(envelope.Signature, validate=True)
        except ValueError:
            raise SignatureError("Signature is not base64") from None
        key = self._public_key(envelope.SigningCertURL)
        try:
            key.verify(signature, string_to_sign(envelope), padding.PKCS1v15(), algorithm)
        except InvalidSignature:
            raise SignatureError("SNS signature does not match the message") from None
