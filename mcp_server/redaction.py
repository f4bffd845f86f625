"""Redact secrets and personal data from text before it leaves the server.

Logs and span attributes carry whatever the application wrote: connection strings with
passwords, bearer tokens, AWS keys, customers' email addresses. An MCP tool hands its output to
a model (and often to a third-party API), so everything a tool returns passes through a
:class:`Redactor` first. Rules are named so a deployment can switch one off or add its own.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from mcp_server.errors import SleuthError


@dataclass(frozen=True)
class RedactionRule:
    name: str
    pattern: re.Pattern[str]
    replacement: str  # may use groups, e.g. r"\1[REDACTED:password]\3"
    # lower-case substrings one of which every match contains: a cheap test that skips the regex
    # for the great majority of strings (ids, timestamps, ordinary messages)
    needles: tuple[str, ...] = ()

    def applies(self, lowered: str) -> bool:
        return not self.needles or any(needle in lowered for needle in self.needles)


def _rule(
    name: str, needles: tuple[str, ...], pattern: str, replacement: str, flags: int = 0
) -> RedactionRule:
    return RedactionRule(name, re.compile(pattern, flags), replacement, needles)


# Order matters: URL credentials before emails (``user:pw@host`` looks like an address), and
# labelled secrets before the generic key=value rule.
BUILTIN_RULES: tuple[RedactionRule, ...] = (
    _rule(
        "url_password",
        ("://",),
        r"(\b[a-zA-Z][a-zA-Z0-9+.\-]*://[^\s:/@]+:)([^\s@/]+)(@)",
        r"\1[REDACTED:password]\3",
    ),
    _rule(
        "aws_secret_key",
        ("secret",),
        r"((?:aws_?secret_?access_?key|secret_?access_?key|aws_?secret)[\"']?\s*[:=]\s*[\"']?)([A-Za-z0-9/+=]{40})(?![A-Za-z0-9/+=])",
        r"\1[REDACTED:aws_secret_key]",
        re.IGNORECASE,
    ),
    _rule(
        "aws_access_key",
        ("akia", "asia", "agpa", "aida", "aroa", "anpa", "anva", "aipa"),
        r"\b(?:AKIA|ASIA|AGPA|AIDA|AROA|ANPA|ANVA|AIPA)[A-Z0-9]{16}\b",
        "[REDACTED:aws_access_key]",
    ),
    _rule("jwt", ("eyj",), r"\beyJ[A-Za-z0-9_\-]{5,}\.[A-Za-z0-9_\-]{5,}\.[A-Za-z0-9_\-]*", "[REDACTED:jwt]"),
    _rule("bearer_token", ("bearer",), r"\b([Bb]earer)\s+[A-Za-z0-9\-._~+/]{8,}=*", r"\1 [REDACTED:token]"),
    # the look-ahead wants a digit or symbol, so prose like "Basic authentication" stays readable
    _rule(
        "basic_auth",
        ("basic",),
        r"\b(Basic)\s+(?=[A-Za-z]*[0-9+/=])[A-Za-z0-9+/]{8,}=*",
        r"\1 [REDACTED:token]",
    ),
    _rule(
        "secret_assignment",
        ("pass", "pwd", "secret", "key", "token"),
        r"\b((?:password|passwd|pwd|secret|api[_\-]?key|access[_\-]?token|auth[_\-]?token|client[_\-]?secret)[\"']?\s*[:=]\s*[\"']?)(?!\[REDACTED)([^\s\"',;&}]+)",
        r"\1[REDACTED:secret]",
        re.IGNORECASE,
    ),
    _rule("email", ("@",), r"\b[A-Za-z0-9._%+\-]+@[A-Za-z0-9.\-]+\.[A-Za-z]{2,}\b", "[REDACTED:email]"),
)

RULE_NAMES = tuple(rule.name for rule in BUILTIN_RULES)


@dataclass(frozen=True)
class RedactionConfig:
    """Which rules run. ``enabled=False`` turns redaction off entirely (local debugging only)."""

    enabled: bool = True
    disabled_rules: frozenset[str] = frozenset()
    extra_patterns: tuple[str, ...] = ()  # user regexes; each match becomes [REDACTED]

    @classmethod
    def from_options(
        cls, enabled: bool = True, disabled_rules: Iterable[str] = (), extra_patterns: Iterable[str] = ()
    ) -> RedactionConfig:
        disabled = frozenset(disabled_rules)
        unknown = sorted(disabled - set(RULE_NAMES))
        if unknown:
            raise SleuthError(
                f"unknown redaction rule(s) {', '.join(unknown)}; known rules: {', '.join(RULE_NAMES)}"
            )
        return cls(enabled=enabled, disabled_rules=disabled, extra_patterns=tuple(extra_patterns))


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

    def text(self, value: str) -> str:
        """``value`` with every secret replaced by a ``[REDACTED:kind]`` marker."""
        if len(value) < 6:
            return value
        lowered = value.lower()
        for rule in self._rules:
            if rule.applies(lowered):
                value = rule.pattern.sub(rule.replacement, value)
                lowered = value.lower()
        return value

    def data(self, value: Any) -> Any:
        """A JSON-like structure with every string (keys excepted) redacted."""
        if not self._rules:
            return value
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, dict):
            return {key: self.data(item) for key, item in value.items()}
        if isinstance(value, list):
            return [self.data(item) for item in value]
        return value
