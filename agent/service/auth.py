"""Authentication of the non-SNS routes (alarms and reads) and of report links.

Accepted forms (any one): ``Authorization: Bearer <secret>`` (Alertmanager's ``http_config``,
EventBridge API destinations' API-key auth), ``X-Sleuth-Token: <secret>``, or an HMAC:
``X-Sleuth-Timestamp: <unix seconds>`` with ``X-Sleuth-Signature: sha256=<hex HMAC-SHA256 of
"<timestamp>." + raw body, keyed by the secret>``. The timestamp must be within five minutes of
the server's clock, so a captured signed request cannot be replayed later.

Report links carry their own proof (``?expires=…&signature=…``, an HMAC of the job id and the
expiry), so a link posted in Slack opens in a browser without the shared secret.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from collections.abc import Mapping
from urllib.parse import urlencode

MAX_SKEW_SECONDS = 300.0


def authorized(
    secret: str | None, headers: Mapping[str, str], body: bytes, *, now: float | None = None
) -> bool:
    """True when the request proves knowledge of ``secret``. With no secret configured, nothing is."""
    if not secret:
        return False
    bearer = headers.get("authorization", "")
    if bearer.lower().startswith("bearer ") and hmac.compare_digest(bearer[7:].strip(), secret):
        return True
    token = headers.get("x-sleuth-token")
    if token is not None and hmac.compare_digest(token, secret):
        return True
    signature = headers.get("x-sleuth-signature", "")
    stamp = headers.get("x-sleuth-timestamp", "")
    if signature.startswith("sha256=") and stamp.isdigit():
        if abs((time.time() if now is None else now) - int(stamp)) > MAX_SKEW_SECONDS:
            return False
        return hmac.compare_digest(signature[7:], _hmac(secret, stamp.encode() + b"." + body))
    return False


def signed_headers(secret: str, body: bytes, *, now: float | None = None) -> dict[str, str]:
    """``X-Sleuth-Timestamp`` and ``X-Sleuth-Signature`` for ``body`` (for senders and tests)."""
    stamp = str(int(time.time() if now is None else now))
    return {
        "x-sleuth-timestamp": stamp,
        "x-sleuth-signature": "sha256=" + _hmac(secret, stamp.encode() + b"." + body),
    }


def _hmac(secret: str, data: bytes) -> str:
    return hmac.new(secret.encode(), data, hashlib.sha256).hexdigest()


class ReportLinks:
    """Signed, expiring links to an investigation's report, served by ``sleuth serve``."""

    def __init__(self, base_url: str, secret: str, *, lifetime: float = 7 * 24 * 3600.0) -> None:
        self.base_url = base_url.rstrip("/")
        self._key = hmac.new(secret.encode(), b"sleuth report links", hashlib.sha256).digest()
        self.lifetime = lifetime

    def _signature(self, job_id: str, expires: int) -> str:
        return hmac.new(self._key, f"{job_id}:{expires}".encode(), hashlib.sha256).hexdigest()

    def url(self, job_id: str, *, now: float | None = None) -> str:
        expires = int((time.time() if now is None else now) + self.lifetime)
        query = urlencode({"expires": expires, "signature": self._signature(job_id, expires)})
        return f"{self.base_url}/investigations/{job_id}/report?{query}"

    def valid(self, job_id: str, expires: str, signature: str, *, now: float | None = None) -> bool:
        if not expires.isdigit() or int(expires) < (time.time() if now is None else now):
            return False
        return hmac.compare_digest(signature, self._signature(job_id, int(expires)))
