"""A corpus of planted secrets: one entry per kind, generated from a seed, never stored as files.

Each :class:`Planted` is a secret (the exact string that must never come out again) and how it is
planted: inside a log line's text, or as an attribute value under a secret's name. Tokens are
random characters in the shape the issuer uses (``ghp_`` + 36, ``AKIA`` + 16...), so every run of
a seed plants the same secrets and no two kinds share one. Each entry also carries a probe, a
harmless unique word planted next to the secret: an output holding the probe was reached by the
planted text, so a missing secret there means it was redacted, not that it never arrived.
"""

from __future__ import annotations

import base64
import random
import string
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

Carrier = Literal["text", "attribute"]

UPPER = string.ascii_uppercase
LOWER = string.ascii_lowercase
DIGITS = string.digits
ALNUM = string.ascii_letters + string.digits
UPPER_DIGITS = UPPER + DIGITS
HEX = "0123456789abcdef"
B64 = ALNUM + "+/"
URLSAFE = ALNUM + "-_"


@dataclass(frozen=True)
class Planted:
    kind: str
    secret: str  # must appear in no output
    carrier: Carrier
    text: str = ""  # for "text": the line holding the secret
    key: str = ""  # for "attribute": the attribute's key (its value is the secret)
    probe: str = ""  # a unique harmless word planted with the secret


def _pem(rng: random.Random, label: str) -> str:
    body = "\n".join("".join(rng.choices(B64, k=64)) for _ in range(4))
    return f"-----BEGIN {label}-----\n{body}\n-----END {label}-----"


def _jwt(rng: random.Random) -> str:
    header = base64.urlsafe_b64encode(b'{"alg":"HS256","typ":"JWT"}').decode().rstrip("=")
    payload = base64.urlsafe_b64encode(f'{{"sub":"{rng.randrange(10**6)}"}}'.encode()).decode().rstrip("=")
    return f"{header}.{payload}.{''.join(rng.choices(URLSAFE, k=43))}"


# kind -> (how to make the secret, the line that carries it: {secret} is replaced)
_TEXT_KINDS: dict[str, tuple[Callable[[random.Random], str], str]] = {
    "aws_access_key_id": (
        lambda r: "AKIA" + "".join(r.choices(UPPER_DIGITS, k=16)),
        "using key {secret} for s3",
    ),
    "aws_temporary_key_id": (
        lambda r: "ASIA" + "".join(r.choices(UPPER_DIGITS, k=16)),
        "assumed role key={secret}",
    ),
    "aws_secret_access_key": (
        lambda r: "".join(r.choices(B64, k=40)),
        "aws_secret_access_key={secret} loaded",
    ),
    "aws_session_token": (
        lambda r: "FwoGZXIvYXdzE" + "".join(r.choices(B64, k=120)),
        "aws_session_token={secret}",
    ),
    "github_classic_pat": (lambda r: "ghp_" + "".join(r.choices(ALNUM, k=36)), "git clone with {secret}"),
    "github_oauth_token": (
        lambda r: "gho_" + "".join(r.choices(ALNUM, k=36)),
        "oauth exchange gave {secret}",
    ),
    "github_user_token": (lambda r: "ghu_" + "".join(r.choices(ALNUM, k=36)), "app user token {secret}"),
    "github_app_token": (lambda r: "ghs_" + "".join(r.choices(ALNUM, k=36)), "installation token {secret}"),
    "github_refresh_token": (lambda r: "ghr_" + "".join(r.choices(ALNUM, k=76)), "refreshing with {secret}"),
    "github_fine_grained_pat": (
        lambda r: "github_pat_" + "".join(r.choices(ALNUM, k=22)) + "_" + "".join(r.choices(ALNUM, k=59)),
        "GH_TOKEN {secret} rejected",
    ),
    "gitlab_pat": (lambda r: "glpat-" + "".join(r.choices(URLSAFE, k=20)), "gitlab api call with {secret}"),
    "slack_bot_token": (
        lambda r: f"xoxb-{r.randrange(10**11)}-{r.randrange(10**12)}-" + "".join(r.choices(ALNUM, k=24)),
        "slack post failed for {secret}",
    ),
    "slack_user_token": (
        lambda r: f"xoxp-{r.randrange(10**11)}-{r.randrange(10**11)}-" + "".join(r.choices(HEX, k=32)),
        "slack user {secret} revoked",
    ),
    "slack_app_token": (
        lambda r: f"xapp-1-A{r.randrange(10**9)}-{r.randrange(10**12)}-" + "".join(r.choices(HEX, k=64)),
        "socket mode {secret}",
    ),
    "slack_webhook_url": (
        lambda r: (
            "hooks.slack.com/services/T"
            + "".join(r.choices(UPPER_DIGITS, k=8))
            + "/B"
            + "".join(r.choices(UPPER_DIGITS, k=10))
            + "/"
            + "".join(r.choices(ALNUM, k=24))
        ),
        "notify https://{secret} timed out",
    ),
    "discord_webhook_url": (
        lambda r: (
            f"discord.com/api/webhooks/{r.randrange(10**17, 10**18)}/" + "".join(r.choices(URLSAFE, k=68))
        ),
        "POST https://{secret} 429",
    ),
    "jwt": (_jwt, "session {secret} expired"),
    "bearer_header": (lambda r: "".join(r.choices(URLSAFE + ".", k=48)), "Authorization: Bearer {secret}"),
    "basic_auth_header": (
        lambda r: base64.b64encode(f"svc:{''.join(r.choices(ALNUM, k=14))}".encode()).decode(),
        "Authorization: Basic {secret}",
    ),
    "rsa_private_key": (lambda r: _pem(r, "RSA PRIVATE KEY"), "loaded key {secret}"),
    "ec_private_key": (lambda r: _pem(r, "EC PRIVATE KEY"), "tls key {secret}"),
    "openssh_private_key": (lambda r: _pem(r, "OPENSSH PRIVATE KEY"), "deploy key {secret}"),
    "pgp_private_key": (lambda r: _pem(r, "PGP PRIVATE KEY BLOCK"), "signing key {secret}"),
    "postgres_url_password": (
        lambda r: "".join(r.choices(ALNUM, k=14)),
        "db_url=postgres://app:{secret}@db.internal/visits",
    ),
    "mysql_url_password": (
        lambda r: "".join(r.choices(ALNUM, k=12)),
        "connect mysql://root:{secret}@10.0.3.7:3306/shop",
    ),
    "redis_url_password": (
        lambda r: "".join(r.choices(ALNUM, k=16)),
        "cache at redis://:{secret}@cache:6379/0 down",
    ),
    "amqp_url_password": (
        lambda r: "".join(r.choices(ALNUM, k=12)),
        "broker amqp://guest:{secret}@mq:5672/ lost",
    ),
    "mongodb_url_password": (
        lambda r: "".join(r.choices(ALNUM, k=18)),
        "mongodb+srv://ops:{secret}@c0.mongodb.net/x",
    ),
    "https_basic_auth_url": (
        lambda r: "".join(r.choices(ALNUM, k=10)),
        "GET https://deploy:{secret}@registry.io/v2/",
    ),
    "stripe_secret_key": (lambda r: "sk_live_" + "".join(r.choices(ALNUM, k=24)), "charge with {secret}"),
    "stripe_restricted_key": (lambda r: "rk_live_" + "".join(r.choices(ALNUM, k=24)), "refund with {secret}"),
    "google_api_key": (lambda r: "AIza" + "".join(r.choices(URLSAFE, k=35)), "maps quota for {secret}"),
    "google_oauth_access_token": (lambda r: "ya29." + "".join(r.choices(URLSAFE, k=80)), "gcs call {secret}"),
    "google_oauth_refresh_token": (
        lambda r: "1//0" + "".join(r.choices(URLSAFE, k=60)),
        "refresh with {secret}",
    ),
    "anthropic_api_key": (
        lambda r: "sk-ant-api03-" + "".join(r.choices(URLSAFE, k=93)),
        "llm call with {secret}",
    ),
    "openai_api_key": (lambda r: "sk-proj-" + "".join(r.choices(URLSAFE, k=48)), "embedding call {secret}"),
    "npm_token": (lambda r: "npm_" + "".join(r.choices(ALNUM, k=36)), "npm publish {secret}"),
    "pypi_token": (lambda r: "pypi-AgEIcHlwaS5vcmc" + "".join(r.choices(URLSAFE, k=60)), "twine {secret}"),
    "sendgrid_api_key": (
        lambda r: "SG." + "".join(r.choices(URLSAFE, k=22)) + "." + "".join(r.choices(URLSAFE, k=43)),
        "mail via {secret}",
    ),
    "twilio_api_key": (lambda r: "SK" + "".join(r.choices(HEX, k=32)), "sms via {secret}"),
    "shopify_access_token": (lambda r: "shpat_" + "".join(r.choices(HEX, k=32)), "shop sync {secret}"),
    "digitalocean_token": (lambda r: "dop_v1_" + "".join(r.choices(HEX, k=64)), "droplet api {secret}"),
    "vault_token": (lambda r: "hvs." + "".join(r.choices(URLSAFE, k=90)), "vault login {secret}"),
    "databricks_token": (lambda r: "dapi" + "".join(r.choices(HEX, k=32)), "jobs api {secret}"),
    "mailgun_key": (lambda r: "key-" + "".join(r.choices(ALNUM, k=32)), "mailgun {secret}"),
    "age_secret_key": (
        lambda r: "AGE-SECRET-KEY-1" + "".join(r.choices(UPPER_DIGITS, k=58)),
        "sops {secret}",
    ),
    "square_access_token": (lambda r: "sq0atp-" + "".join(r.choices(URLSAFE, k=22)), "square {secret}"),
    "newrelic_user_key": (lambda r: "NRAK-" + "".join(r.choices(UPPER_DIGITS, k=27)), "nerdgraph {secret}"),
    "grafana_service_token": (
        lambda r: "glsa_" + "".join(r.choices(ALNUM, k=32)) + "_" + "".join(r.choices(HEX, k=8)),
        "dashboards via {secret}",
    ),
    "postman_api_key": (
        lambda r: "PMAK-" + "".join(r.choices(HEX, k=24)) + "-" + "".join(r.choices(HEX, k=34)),
        "collection run {secret}",
    ),
    "doppler_token": (lambda r: "dp.pt." + "".join(r.choices(ALNUM, k=43)), "config fetch {secret}"),
    "atlassian_token": (lambda r: "ATATT3" + "".join(r.choices(URLSAFE, k=180)), "jira with {secret}"),
    "linear_api_key": (lambda r: "lin_api_" + "".join(r.choices(ALNUM, k=40)), "issue sync {secret}"),
    "email_address": (
        lambda r: "".join(r.choices(LOWER, k=7)) + "." + "".join(r.choices(LOWER, k=6)) + "@example.com",
        "payment declined for {secret}",
    ),
    "password_assignment": (
        lambda r: "".join(r.choices(ALNUM + "!#%", k=12)),
        "login failed password={secret} user=bob",
    ),
    "passwd_colon": (lambda r: "".join(r.choices(ALNUM, k=10)), "ldap bind passwd: {secret}"),
    "token_colon": (lambda r: "".join(r.choices(ALNUM, k=32)), "token: {secret}"),
    "oauth_refresh_token": (
        lambda r: "".join(r.choices(URLSAFE, k=40)),
        "refresh_token={secret}&grant_type=x",
    ),
    "client_secret": (lambda r: "".join(r.choices(ALNUM, k=32)), "oauth client_secret={secret}"),
    "api_key_assignment": (lambda r: "".join(r.choices(HEX, k=32)), "calling partner api_key={secret}"),
    "x_api_key_header": (lambda r: "".join(r.choices(ALNUM, k=30)), "x-api-key: {secret}"),
    "cookie_header": (lambda r: "".join(r.choices(HEX, k=32)), "Cookie: session={secret}; theme=dark"),
    "set_cookie_header": (lambda r: "".join(r.choices(HEX, k=40)), "Set-Cookie: sid={secret}; HttpOnly"),
    "sql_password": (lambda r: "".join(r.choices(ALNUM, k=12)), "ALTER USER app PASSWORD '{secret}'"),
    "json_password_field": (
        lambda r: "".join(r.choices(ALNUM, k=11)),
        '{{"user":"bob","password":"{secret}"}}',
    ),
    "azure_account_key": (
        lambda r: "".join(r.choices(B64, k=86)) + "==",
        "DefaultEndpointsProtocol=https;AccountName=st1;AccountKey={secret};EndpointSuffix=core.windows.net",
    ),
    "azure_sas_signature": (
        lambda r: "".join(r.choices(ALNUM, k=43)) + "%3D",
        "GET /c/blob?sv=2022-11-02&se=2026&sig={secret}",
    ),
    "env_db_password": (lambda r: "".join(r.choices(ALNUM, k=16)), "env DB_PASSWORD={secret}"),
    "db_password_dotted": (lambda r: "".join(r.choices(ALNUM, k=10)), "config db.password={secret}"),
}

# kind -> (the attribute key, how to make its value): redacted by the key's name alone
_ATTRIBUTE_KINDS: dict[str, tuple[str, Callable[[random.Random], str]]] = {
    "db_password_attribute": ("db.password", lambda r: "".join(r.choices(ALNUM, k=10))),
    "authorization_header_attribute": (
        "http.request.header.authorization",
        lambda r: "Token " + "".join(r.choices(ALNUM, k=20)),
    ),
    "api_key_attribute": ("app.api_key", lambda r: "".join(r.choices(HEX, k=24))),
    "secret_attribute": ("app.client.secret", lambda r: "".join(r.choices(ALNUM, k=18))),
    "session_token_attribute": ("auth.session_token", lambda r: "".join(r.choices(URLSAFE, k=30))),
    "credentials_attribute": ("upstream.credentials", lambda r: "u1:" + "".join(r.choices(ALNUM, k=14))),
    "cookie_attribute": ("http.request.header.cookie", lambda r: "sid=" + "".join(r.choices(HEX, k=24))),
    "passphrase_attribute": ("tls.key_passphrase", lambda r: "".join(r.choices(LOWER, k=5)) + " " + "".join(r.choices(LOWER, k=6))),
}  # fmt: skip


def corpus(seed: int = 18) -> list[Planted]:
    """Every kind once: secrets in text first, then secrets named only by their attribute key."""
    rng = random.Random(seed)
    planted: list[Planted] = []
    for kind, (make, line) in _TEXT_KINDS.items():
        secret = make(rng)
        probe = f"probe{len(planted):03d}"
        planted.append(
            Planted(kind, secret, "text", text=f"{probe} {line.format(secret=secret)}", probe=probe)
        )
    for kind, (key, make) in _ATTRIBUTE_KINDS.items():
        probe = f"probe{len(planted):03d}"
        planted.append(Planted(kind, make(rng), "attribute", key=f"{probe}.{key}", probe=probe))
    return planted


KINDS = len(_TEXT_KINDS) + len(_ATTRIBUTE_KINDS)
