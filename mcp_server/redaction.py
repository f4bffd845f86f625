"""Redact secrets and personal data from untrusted text where it enters Sleuth.

Logs and span attributes carry whatever the application wrote: connection strings with
passwords, bearer tokens, cloud keys, customers' email addresses. Sleuth redacts at the source:
the OTLP importer redacts every record before it is stored, the AWS backend redacts every API
response it parses, and an investigation's trigger and question are redacted before it starts,
so every output (MCP answers, JSON, reports, Slack, the result store, the model's prompt)
inherits the redaction. MCP answers pass through a :class:`Redactor` once more on the way out.

A secret is found two ways: by its shape (``AKIA...``, ``ghp_...``, a PEM block, a URL with a
password) and by the name it is stored under (an attribute ``db.password``, a log's
``refresh_token=...``, a header ``Authorization: ...``). Rules are named so a deployment can switch
one off or add its own. Each rule lists needles, lower-case substrings every match contains, so
the common string with no secret costs a few substring tests; :attr:`Redactor.prefilter` gives the
same test as one RE2 expression for vectorised callers (the importer runs it over Arrow columns).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from enum import Enum
from functools import lru_cache
from typing import Any, TypeVar

from pydantic import BaseModel

from mcp_server.errors import SleuthError

M = TypeVar("M", bound=BaseModel)
Replacement = str | Callable[[re.Match[str]], str]


@dataclass(frozen=True)
class RedactionRule:
    name: str
    pattern: re.Pattern[str]
    replacement: Replacement  # may use groups, e.g. r"\1[REDACTED:password]\3"
    # lower-case substrings one of which every match contains: a cheap test that skips the regex
    # for the great majority of strings (ids, timestamps, ordinary messages)
    needles: tuple[str, ...] = ()
    # an RE2 expression (matched case-insensitively) that every match contains; None: the needles
    prefilter: str | None = None

    def applies(self, lowered: str) -> bool:
        return not self.needles or any(needle in lowered for needle in self.needles)

    def re2(self) -> str | None:
        """This rule's prefilter in RE2 syntax, or None when it has none (every string qualifies)."""
        if self.prefilter is not None:
            return self.prefilter
        if not self.needles:
            return None
        return "|".join(_re2_literal(needle) for needle in self.needles)


def _re2_literal(text: str) -> str:
    return "".join("\\" + char if char in _RE2_SPECIAL else char for char in text)


_RE2_SPECIAL = frozenset("\\.^$|?*+()[]{}-/")

# The names a secret is stored under. A key ending in one of LONG_KEYS is sensitive ("dbPassword",
# "aws_session_token"); the short ones only as a whole word ("db.pass", "sig", not "bypass").
_LONG_KEYS = (
    r"password|passwd|passphrase|secret|token|api[_\-.]?key|access[_\-.]?key|private[_\-.]?key"
    r"|signing[_\-.]?key|account[_\-.]?key|master[_\-.]?key|encryption[_\-.]?key|auth[_\-.]?key"
    r"|shared[_\-.]?access[_\-.]?key|credentials?|session[_\-.]?id|session[_\-.]?key"
)
_SHORT_KEYS = r"pwd|pass|sig|dsn"
_HEADER_KEYS = r"authorization|cookie|x[_\-.]?api[_\-.]?key|x[_\-.]?auth[_\-.]?token"
_SENSITIVE_KEY = re.compile(
    rf"(?:{_LONG_KEYS}|{_HEADER_KEYS})$|(?:^|[._\-\s:/])(?:{_SHORT_KEYS})$", re.IGNORECASE
)
_KEY_NEEDLES = (
    "password", "passwd", "passphrase", "secret", "token", "key", "credential", "session",
    "pwd", "pass", "sig", "dsn",
)  # fmt: skip
# A pagination cursor is an opaque "token" that must reach the API again unchanged.
_CURSOR_KEY = re.compile(r"(?:next|continuation|pagination|page|forward|backward)[_\-.]?token$|marker$", re.I)


@lru_cache(maxsize=4096)
def sensitive_key(key: str) -> bool:
    """Whether a value stored under ``key`` is a secret by its name alone (``db.password``)."""
    return bool(_SENSITIVE_KEY.search(key)) and not _CURSOR_KEY.search(key)


def _rule(
    name: str,
    needles: tuple[str, ...],
    pattern: str,
    replacement: Replacement,
    flags: int = 0,
    prefilter: str | None = None,
) -> RedactionRule:
    return RedactionRule(name, re.compile(pattern, flags), replacement, needles, prefilter)


def _token(name: str, needles: tuple[str, ...], pattern: str, flags: int = 0) -> RedactionRule:
    """A secret recognisable by its own shape: the whole match becomes the marker."""
    return _rule(name, needles, pattern, f"[REDACTED:{name}]", flags)


def _assignment(match: re.Match[str]) -> str:
    """``key=value``, ``key: "value"`` or ``"key":"value"`` with the value replaced."""
    value = match.group("qv") if match.group("q") else match.group("v")
    if value.startswith("[REDACTED") or not value:
        return match.group(0)
    if "://" in value and "[REDACTED:" in value:
        # a URL whose password the URL rule already took out: the rest (scheme, user) is not
        # secret, and cutting the value at the marker's "]" would leave a stray bracket behind
        return match.group(0)
    quote = match.group("q") or ""
    return f"{match.group('key')}{match.group('sep')}{quote}[REDACTED:secret]{quote}"


# A value runs to whitespace or a delimiter; a quoted one to its closing quote.
_VALUE = r"""(?:(?P<q>["'])(?P<qv>(?:\\.|(?!(?P=q))[^\\\n])*)(?P=q)|(?P<v>[^\s"'\\,;&}\]]+))"""

# Order matters: a PEM block before anything that could match inside it, URL credentials before
# e-mail addresses (``user:pw@host`` looks like an address), headers and token shapes before the
# generic ``key=value`` rule, which would otherwise name every token just "secret".
BUILTIN_RULES: tuple[RedactionRule, ...] = (
    _rule(
        "private_key",
        ("private key",),
        r"-----BEGIN[A-Z0-9 ]*PRIVATE KEY(?: BLOCK)?-----(?:.*?-----END[A-Z0-9 ]*PRIVATE KEY(?: BLOCK)?-----|.*)",
        "[REDACTED:private_key]",
        re.DOTALL,
    ),
    _rule(
        "url_password",
        ("://",),
        r"""(\b[a-zA-Z][a-zA-Z0-9+.\-]*://[^\s:/@"'\\]*:)([^\s@/"'\\]+)(@)""",
        r"\1[REDACTED:password]\3",
        prefilter=r"://[^\s/@]*:[^\s/@]+@",
    ),
    _rule(
        "sql_password",
        ("password", "identified"),
        r"\b((?:PASSWORD|IDENTIFIED\s+BY)\s+)'[^'\n]*'",
        r"\1'[REDACTED:password]'",
        re.IGNORECASE,
        prefilter=r"(?:password|identified\s+by)\s+'",
    ),
    _rule(
        "aws_secret_key",
        ("secret",),
        r"((?:aws_?secret_?access_?key|secret_?access_?key|aws_?secret)[\"']?\s*[:=]\s*[\"']?)([A-Za-z0-9/+=]{40})(?![A-Za-z0-9/+=])",
        r"\1[REDACTED:aws_secret_key]",
        re.IGNORECASE,
    ),
    _token(
        "aws_access_key",
        ("akia", "asia", "agpa", "aida", "aroa", "anpa", "anva", "aipa", "abia", "acca"),
        r"\b(?:AKIA|ASIA|AGPA|AIDA|AROA|ANPA|ANVA|AIPA|ABIA|ACCA)[A-Z0-9]{16}\b",
    ),
    _token("jwt", ("eyj",), r"\beyJ[A-Za-z0-9_\-]{5,}\.[A-Za-z0-9_\-]{5,}\.[A-Za-z0-9_\-]*"),
    _token(
        "github_token",
        ("ghp_", "gho_", "ghu_", "ghs_", "ghr_", "github_pat_"),
        r"\b(?:gh[pousr]_[A-Za-z0-9]{30,255}|github_pat_[A-Za-z0-9_]{22,255})",
    ),
    _token("gitlab_token", ("glpat-", "gldt-", "glrt-"), r"\bgl(?:pat|dt|rt)-[A-Za-z0-9_\-]{20,}"),
    _token("slack_token", ("xox", "xapp-"), r"\b(?:xox[abposer]|xapp)-[A-Za-z0-9\-]{10,}"),
    _token(
        "slack_webhook",
        ("hooks.slack.com",),
        r"hooks\.slack\.com/(?:services|workflows|triggers)/[A-Za-z0-9/_\-]+",
    ),
    _token(
        "discord_webhook",
        ("/api/webhooks/",),
        r"discord(?:app)?\.com/api/webhooks/[0-9]+/[A-Za-z0-9_\-]+",
    ),
    _token("stripe_key", ("_live_", "_test_"), r"\b(?:sk|rk|pk)_(?:live|test)_[A-Za-z0-9]{16,}"),
    _token("google_api_key", ("aiza",), r"\bAIza[0-9A-Za-z_\-]{35}"),
    _token(
        "google_oauth_token", ("ya29.", "1//0"), r"(?:\bya29\.[0-9A-Za-z_\-]{20,}|\b1//0[0-9A-Za-z_\-]{30,})"
    ),
    _token(
        "llm_api_key",
        ("sk-",),
        r"\bsk-(?:ant-(?:api|admin)\d{2}-|proj-|svcacct-|admin-)?[A-Za-z0-9_\-]{20,}",
    ),
    _token("npm_token", ("npm_",), r"\bnpm_[A-Za-z0-9]{36}"),
    _token("pypi_token", ("pypi-",), r"\bpypi-AgE[A-Za-z0-9_\-]{40,}"),
    _token("sendgrid_key", ("sg.",), r"\bSG\.[A-Za-z0-9_\-]{16,}\.[A-Za-z0-9_\-]{16,}"),
    _token("twilio_key", ("sk",), r"\bSK[0-9a-fA-F]{32}\b"),
    _token(
        "shopify_token", ("shpat_", "shpss_", "shpca_", "shppa_"), r"\bshp(?:at|ss|ca|pa)_[a-fA-F0-9]{32}"
    ),
    _token("digitalocean_token", ("_v1_",), r"\bdo[opr]_v1_[a-f0-9]{64}"),
    _token("vault_token", ("hvs.", "hvb.", "hvr."), r"\bhv[sbr]\.[A-Za-z0-9_\-]{24,}"),
    _token("databricks_token", ("dapi",), r"\bdapi[a-f0-9]{32}(?:-\d)?"),
    _token("mailgun_key", ("key-",), r"\bkey-[0-9a-zA-Z]{32}\b"),
    _token("age_secret_key", ("age-secret-key-",), r"AGE-SECRET-KEY-1[0-9A-Z]{58}"),
    _token("square_token", ("sq0atp-", "sq0csp-"), r"\bsq0(?:atp|csp)-[0-9A-Za-z_\-]{22,}"),
    _token("newrelic_key", ("nrak-",), r"\bNRAK-[A-Z0-9]{27}"),
    _token(
        "grafana_token",
        ("glsa_", "glc_"),
        r"\b(?:glsa_[A-Za-z0-9]{32}_[A-Fa-f0-9]{8}|glc_[A-Za-z0-9+/]{32,}=*)",
    ),
    _token("postman_key", ("pmak-",), r"\bPMAK-[a-f0-9]{24}-[a-f0-9]{34}"),
    _token("doppler_token", ("dp.",), r"\bdp\.(?:pt|st|sa|ct|scim|audit)\.[A-Za-z0-9]{40,}"),
    _token("atlassian_token", ("atatt3",), r"\bATATT3[A-Za-z0-9_\-=]{30,}"),
    _token("linear_key", ("lin_api_",), r"\blin_api_[A-Za-z0-9]{40}"),
    # Headers: the credential after the scheme word (Bearer, Basic, token...) or the whole cookie.
    _rule(
        "auth_header",
        ("authorization", "api-key", "api_key", "auth-token", "auth_token"),
        r"""(\b(?:proxy-)?authorization|\bx[_\-]api[_\-]key|\bx[_\-]auth[_\-]token)(["']?\s*[:=]\s*["']?)"""
        r"""(?![\w-]*\s*\[REDACTED)((?:Bearer|Basic|Token|Digest|Negotiate|AWS4-HMAC-SHA256|ApiKey|SSWS)\s+)?[^\s"'\\,;]+""",
        r"\1\2\3[REDACTED:token]",
        re.IGNORECASE,
        prefilter=r"(?:authorization|api[_\-]key|auth[_\-]token)[\"']?\s*[:=]",
    ),
    _rule(
        "cookie",
        ("cookie",),
        r"""(\b(?:set-)?cookie)(["']?\s*[:=]\s*["']?)(?!\s*\[REDACTED)[^\r\n"'\\]+""",
        r"\1\2[REDACTED:cookie]",
        re.IGNORECASE,
        prefilter=r"cookie[\"']?\s*[:=]",
    ),
    _rule(
        "bearer_token",
        ("bearer",),
        r"\b([Bb]earer)\s+(?!\[REDACTED)[A-Za-z0-9\-._~+/]{8,}=*",
        r"\1 [REDACTED:token]",
    ),
    # the look-ahead wants a digit or symbol, so prose like "Basic authentication" stays readable
    _rule(
        "basic_auth",
        ("basic",),
        r"\b(Basic)\s+(?=[A-Za-z]*[0-9+/=])[A-Za-z0-9+/]{8,}=*",
        r"\1 [REDACTED:token]",
    ),
    _rule(
        "secret_assignment",
        _KEY_NEEDLES,
        rf"""(?P<key>\b[\w.\-]*?(?:{_LONG_KEYS})|\b(?:[\w.\-]*[._\-])?(?:{_SHORT_KEYS}))(?P<sep>["']?[ \t]*[:=][ \t]*){_VALUE}""",
        _assignment,
        re.IGNORECASE,
        prefilter=rf"""(?:{_LONG_KEYS}|{_SHORT_KEYS})["']?[ \t]*[:=]""",
    ),
    _rule(
        "email",
        ("@",),
        r"\b[A-Za-z0-9._%+\-]+@[A-Za-z0-9.\-]+\.[A-Za-z]{2,}\b",
        "[REDACTED:email]",
        prefilter=r"[a-z0-9._%+\-]@[a-z0-9.\-]+\.[a-z]{2}",
    ),
)

RULE_NAMES = tuple(rule.name for rule in BUILTIN_RULES)
KEY_MARKER = "[REDACTED:secret]"


@dataclass(frozen=True)
class RedactionConfig:
    """Which rules run. ``enabled=False`` turns redaction off entirely (local debugging only)."""

    enabled: bool = True
    disabled_rules: frozenset[str] = frozenset()
    extra_patterns: tuple[str, ...] = ()  # user regexes; each match becomes [REDACTED]
    by_key: bool = True  # redact values stored under a secret's name (db.password, api_key...)

    @classmethod
    def from_options(
        cls, enabled: bool = True, disabled_rules: Iterable[str] = (), extra_patterns: Iterable[str] = ()
    ) -> RedactionConfig:
        disabled = frozenset(disabled_rules)
        unknown = sorted(disabled - {*RULE_NAMES, "by_key"})
        if unknown:
            raise SleuthError(
                f"unknown redaction rule(s) {', '.join(unknown)}; known rules: {', '.join(RULE_NAMES)}, by_key"
            )
        return cls(
            enabled=enabled,
            disabled_rules=disabled - {"by_key"},
            extra_patterns=tuple(extra_patterns),
            by_key="by_key" not in disabled,
        )


@dataclass
class Redactor:
    config: RedactionConfig = field(default_factory=RedactionConfig)

    def __post_init__(self) -> None:
        rules = [r for r in BUILTIN_RULES if r.name not in self.config.disabled_rules]
        for i, pattern in enumerate(self.config.extra_patterns):
            try:
                rules.append(RedactionRule(f"custom_{i}", re.compile(pattern), "[REDACTED]"))
            except re.error as exc:
                raise SleuthError(f"redaction pattern {pattern!r} is not a valid regex: {exc}") from None
        self._rules = rules if self.config.enabled else []
        self._by_key = self.config.enabled and self.config.by_key

    @property
    def active(self) -> bool:
        return bool(self._rules) or self._by_key

    @property
    def prefilter(self) -> str | None:
        """One RE2 expression (case-insensitive) that every string holding a secret matches.

        None when some rule cannot say (a custom pattern): then every string must go through
        :meth:`text`. A JSON document also matches when a key in it names a secret.
        """
        parts = [rule.re2() for rule in self._rules]
        if any(part is None for part in parts):
            return None
        if self._by_key:
            parts.append(rf"""(?:{_LONG_KEYS}|{_HEADER_KEYS}|{_SHORT_KEYS})["']?\s*:""")
        return "|".join(f"(?:{part})" for part in parts) or None

    def text(self, value: str) -> str:
        """``value`` with every secret replaced by a ``[REDACTED:kind]`` marker."""
        if len(value) < 6:
            return value
        lowered = value.lower()
        for rule in self._rules:
            if rule.applies(lowered):
                redacted = rule.pattern.sub(rule.replacement, value)
                if redacted != value:
                    value, lowered = redacted, redacted.lower()
        return value

    def data(self, value: Any) -> Any:
        """A JSON-like structure with every string redacted, and every value under a secret's key."""
        if not self.active:
            return value
        return self._walk(value, False)

    def _walk(self, value: Any, secret: bool) -> Any:
        if isinstance(value, str):
            if secret and value and not value.startswith("[REDACTED"):
                return KEY_MARKER
            return self.text(value)
        if isinstance(value, dict):
            by_key = self._by_key
            return {
                key: self._walk(item, secret or (by_key and isinstance(key, str) and sensitive_key(key)))
                for key, item in value.items()
            }
        if isinstance(value, list | tuple):
            return [self._walk(item, secret) for item in value]
        if secret and isinstance(value, int | float) and not isinstance(value, bool):
            return KEY_MARKER
        return value

    def model(self, model: M) -> M:
        """A copy of a pydantic model with its text fields redacted (enums, times and numbers kept)."""
        if not self.active:
            return model
        changes: dict[str, Any] = {}
        for name, value in model:
            redacted = self._field(value)
            if redacted is not value:
                changes[name] = redacted
        return model.model_copy(update=changes) if changes else model

    def _field(self, value: Any) -> Any:
        if isinstance(value, Enum):
            return value
        if isinstance(value, str):
            redacted = self.text(value)
            return value if redacted == value else redacted
        if isinstance(value, BaseModel):
            return self.model(value)
        if isinstance(value, dict | list):
            redacted = self.data(value)
            return value if redacted == value else redacted
        return value


def install_response_redaction(clients: Iterable[Any], redactor: Redactor) -> None:
    """Redact every parsed response of these boto3 clients before the caller sees it.

    botocore emits ``after-call`` with the parsed response for every operation (stubbed and
    moto-backed clients too); the hook rewrites it in place. Pagination cursors are left alone.
    """

    def redact(parsed: Any = None, **_: Any) -> None:
        if isinstance(parsed, dict):
            redacted = _redact_response(redactor, parsed)
            parsed.clear()
            parsed.update(redacted)

    for client in clients:
        events = getattr(getattr(client, "meta", None), "events", None)
        if events is not None:
            events.register("after-call", redact, unique_id="sleuth-redaction")


def _redact_response(redactor: Redactor, value: Any) -> Any:
    if isinstance(value, dict):
        return {
            key: item
            if isinstance(key, str) and _CURSOR_KEY.search(key)
            else _redact_response(redactor, item)
            for key, item in value.items()
        }
    if isinstance(value, list):
        return [_redact_response(redactor, item) for item in value]
    if isinstance(value, str):
        return redactor.text(value)
    return value
