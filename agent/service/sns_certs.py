"""SNS signing certificates: fetched once per URL, cached (failures too), within a budget.

Every unauthenticated SNS post names a certificate URL, so fetching is the attacker's lever:
a slow or failing certificate host must cost only the request that named it. Hence:

- successes are cached for a day (an SNS certificate URL names one certificate for good) and
  failures for five minutes, so a forged post repeated a thousand times fetches once;
- concurrent requests for one URL share a single fetch;
- fetches of URLs not yet cached spend a global budget (a burst, then a few per minute); when it
  is spent the request is answered 503 (SNS retries those) instead of fetching;
- a fetch has a total deadline and a size cap, whatever the peer does.

A certificate can also be *pinned* for a URL path: the local test key (``sleuth test-alarm``)
lets operators send signed test alarms without AWS.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urlparse

import httpx
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import rsa

from agent.service.ratelimit import TokenBucket
from mcp_server.errors import SleuthError

CertificateFetcher = Callable[[str], bytes]

MAX_CERTIFICATE_BYTES = 64 * 1024


class CertificateError(SleuthError):
    """The certificate could not be had (fetch failed or unusable): the message is not verified."""


class CertificateBudgetSpent(CertificateError):
    """Too many new certificate URLs lately: try again later (503, which SNS retries)."""


class HttpCertificateFetcher:
    """GETs a certificate over HTTPS with a total deadline and a size cap (honours HTTPS_PROXY)."""

    def __init__(self, client: httpx.Client | None = None, *, deadline: float = 5.0) -> None:
        self.deadline = deadline
        self._client = client or httpx.Client(
            timeout=httpx.Timeout(deadline, connect=min(3.0, deadline)), follow_redirects=False
        )

    def __call__(self, url: str) -> bytes:
        started = time.monotonic()
        chunks: list[bytes] = []
        size = 0
        with self._client.stream("GET", url) as response:
            response.raise_for_status()
            for chunk in response.iter_bytes():
                size += len(chunk)
                if size > MAX_CERTIFICATE_BYTES:
                    raise CertificateError(
                        f"certificate at {url} is larger than {MAX_CERTIFICATE_BYTES} bytes"
                    )
                if time.monotonic() - started > self.deadline:
                    raise CertificateError(f"certificate at {url} took longer than {self.deadline:.0f} s")
                chunks.append(chunk)
        return b"".join(chunks)


@dataclass
class _Entry:
    key: rsa.RSAPublicKey | None
    error: str | None
    expires: float


class _Pending:
    def __init__(self) -> None:
        self.done = threading.Event()
        self.entry: _Entry | None = None


class CertificateSource:
    def __init__(
        self,
        fetch: CertificateFetcher | None = None,
        *,
        ok_ttl: float = 24 * 3600.0,
        failure_ttl: float = 300.0,
        budget: TokenBucket | None = None,
        wait_seconds: float = 10.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._fetch = fetch or HttpCertificateFetcher()
        self.ok_ttl = ok_ttl
        self.failure_ttl = failure_ttl
        self._budget = budget or TokenBucket(capacity=20, per_second=0.1, clock=clock)
        self.wait_seconds = wait_seconds
        self._clock = clock
        self._cache: dict[str, _Entry] = {}
        self._pending: dict[str, _Pending] = {}
        self._pinned: dict[str, rsa.RSAPublicKey] = {}
        self._lock = threading.Lock()
        self.fetches = 0  # how many times the network was asked (for the health figures)

    def pin(self, path: str, pem: bytes) -> None:
        """Trust ``pem`` for certificate URLs with this path (on any allowed SNS host)."""
        self._pinned[path] = _public_key(pem)

    def pinned(self, url: str) -> bool:
        return urlparse(url).path in self._pinned

    def public_key(self, url: str) -> rsa.RSAPublicKey:
        pinned = self._pinned.get(urlparse(url).path)
        if pinned is not None:
            return pinned
        with self._lock:
            entry = self._cache.get(url)
            if entry is not None and entry.expires > self._clock():
                return _unwrap(entry, url)
            pending = self._pending.get(url)
            leader = pending is None
            if pending is None:
                if not self._budget.take():
                    raise CertificateBudgetSpent(
                        "too many new SNS certificate URLs lately; not fetching another now"
                    )
                pending = self._pending[url] = _Pending()
        if not leader:
            if not pending.done.wait(self.wait_seconds) or pending.entry is None:
                raise CertificateError(f"timed out waiting for the certificate at {url}")
            return _unwrap(pending.entry, url)
        entry = self._load(url)
        with self._lock:
            self._cache[url] = entry
            self._pending.pop(url, None)
            if len(self._cache) > 10_000:  # forged URLs must not grow memory without bound
                now = self._clock()
                self._cache = {u: e for u, e in self._cache.items() if e.expires > now}
        pending.entry = entry
        pending.done.set()
        return _unwrap(entry, url)

    def _load(self, url: str) -> _Entry:
        self.fetches += 1
        try:
            key = _public_key(self._fetch(url))
        except (ValueError, httpx.HTTPError, CertificateError) as exc:
            return _Entry(
                None,
                f"cannot load the signing certificate from {url}: {exc}",
                self._clock() + self.failure_ttl,
            )
        return _Entry(key, None, self._clock() + self.ok_ttl)


def _public_key(pem: bytes) -> rsa.RSAPublicKey:
    try:
        key = x509.load_pem_x509_certificate(pem).public_key()
    except ValueError as exc:
        raise CertificateError(f"not a PEM certificate: {exc}") from None
    if not isinstance(key, rsa.RSAPublicKey):
        raise CertificateError("the SNS signing certificate does not hold an RSA key")
    return key


def _unwrap(entry: _Entry, url: str) -> rsa.RSAPublicKey:
    if entry.key is None:
        raise CertificateError(entry.error or f"no certificate at {url}")
    return entry.key
