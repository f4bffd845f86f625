"""Streamable HTTP for the MCP server, guarded on every bind address.

The SDK checks Host and Origin (DNS-rebinding protection) only when it binds to loopback; Sleuth
checks them always, against loopback names plus the ``--allowed-host``/``--allowed-origin``
values, and requires a bearer token (``SLEUTH_MCP_TOKEN``, one or more comma-separated) whenever
the server listens beyond loopback. Each token is its own principal: investigations started
with one token are not visible with another (mcp_server/tools/investigations.py).
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass, field

from mcp.server.transport_security import TransportSecuritySettings
from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send

from mcp_server.errors import SleuthError

TOKEN_ENV = "SLEUTH_MCP_TOKEN"
LOOPBACK = ("127.0.0.1", "localhost", "::1")
_LOOPBACK_HOSTS = ["127.0.0.1:*", "localhost:*", "[::1]:*", "127.0.0.1", "localhost", "[::1]"]
_LOOPBACK_ORIGINS = ["http://127.0.0.1:*", "http://localhost:*", "http://[::1]:*"]
_WILDCARDS = ("0.0.0.0", "::", "")


@dataclass(frozen=True)
class HttpGuard:
    """Who may reach the HTTP endpoint: allowed Host and Origin headers, and bearer tokens."""

    bind_host: str
    allowed_hosts: list[str] = field(default_factory=list)
    allowed_origins: list[str] = field(default_factory=list)
    tokens: list[str] = field(default_factory=list)

    @classmethod
    def build(
        cls, bind_host: str, allowed_hosts: list[str], allowed_origins: list[str], token_setting: str | None
    ) -> HttpGuard:
        """Check the options together: beyond loopback a token is required (one clear error)."""
        tokens = [t.strip() for t in (token_setting or "").split(",") if t.strip()]
        if any(len(t) < 16 for t in tokens):
            raise SleuthError(f"{TOKEN_ENV}: each token must be at least 16 characters")
        if bind_host not in LOOPBACK and not tokens:
            raise SleuthError(
                f"--host {bind_host} listens beyond loopback; set {TOKEN_ENV} (e.g. "
                f"`export {TOKEN_ENV}=$(openssl rand -hex 24)`) so that only clients sending "
                "'Authorization: Bearer <token>' can read this telemetry"
            )
        hosts = [*_LOOPBACK_HOSTS, *allowed_hosts]
        if bind_host not in LOOPBACK and bind_host not in _WILDCARDS:
            hosts += [bind_host, f"{bind_host}:*"]
        origins = [*_LOOPBACK_ORIGINS, *allowed_origins]
        return cls(bind_host=bind_host, allowed_hosts=hosts, allowed_origins=origins, tokens=tokens)

    def transport_security(self) -> TransportSecuritySettings:
        """Rebinding protection on, whatever the bind address (the SDK's default is loopback only)."""
        return TransportSecuritySettings(
            enable_dns_rebinding_protection=True,
            allowed_hosts=list(self.allowed_hosts),
            allowed_origins=list(self.allowed_origins),
        )

    def wrap(self, app: ASGIApp) -> ASGIApp:
        return BearerTokenGate(app, self.tokens) if self.tokens else app


class BearerTokenGate:
    """ASGI middleware: HTTP requests need ``Authorization: Bearer <one of the tokens>``."""

    def __init__(self, app: ASGIApp, tokens: list[str]) -> None:
        self.app = app
        self._tokens = [t.encode() for t in tokens]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and not self._authorized(scope):
            response = Response(
                "missing or wrong bearer token",
                status_code=401,
                headers={"WWW-Authenticate": 'Bearer realm="sleuth"'},
            )
            await response(scope, receive, send)
            return
        await self.app(scope, receive, send)

    def _authorized(self, scope: Scope) -> bool:
        for name, value in scope.get("headers", []):
            if name == b"authorization" and value[:7].lower() == b"bearer ":
                offered = value[7:].strip()
                # compare with every token, always: the time taken says nothing about which matched
                return any([hmac.compare_digest(offered, token) for token in self._tokens])
        return False
