"""Authentication of the non-SNS routes: a shared secret or an HMAC of the body.

Accepted forms (any one): ``Authorization: Bearer <secret>`` (Alertmanager's ``http_config``,
EventBridge API destinations' API-key auth), ``X-Sleuth-Token: <secret>``, or
``X-Sleuth-Signature: sha256=<hex HMAC-SHA256 of the raw body keyed by the secret>``.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping


def authorized(secret: str | None, headers: Mapping[str, str], body: bytes) -> bool:
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
    if signature.startswith("sha256="):
        expected = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
        return hmac.compare_digest(signature[7:], expected)
    return False


def sign(secret: str, body: bytes) -> str:
    """The ``X-Sleuth-Signature`` header value for ``body`` (for senders and tests)."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
