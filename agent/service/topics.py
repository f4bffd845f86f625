"""Which SNS topics may start investigations: topic ARNs (globs allowed) or whole AWS accounts.

Anyone with an AWS account can create a topic, subscribe Sleuth's URL and publish validly
signed messages, so a signature alone proves nothing about *whose* alarm it is. The allow-list
is required: with none configured, the SNS route refuses everything.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Iterable
from dataclasses import dataclass

from agent.service.payloads import PayloadError, arn_parts
from mcp_server.errors import SleuthError

_ACCOUNT = re.compile(r"^\d{12}$")
_TOPIC_ARN = re.compile(r"^arn:aws(-cn|-us-gov|-iso[a-z]?)?:sns:[a-z0-9*?-]+:[\d*?]{1,12}:[\w*?.-]+$")


class TopicConfigError(SleuthError):
    """An allow-list entry that is neither a topic ARN nor a 12-digit account id."""


@dataclass(frozen=True)
class TopicAllowList:
    topics: tuple[str, ...] = ()  # ARNs, fnmatch globs allowed (arn:aws:sns:*:123456789012:prod-*)
    accounts: tuple[str, ...] = ()  # every topic of these accounts

    @classmethod
    def parse(cls, entries: Iterable[str]) -> TopicAllowList:
        topics: list[str] = []
        accounts: list[str] = []
        for raw in entries:
            for entry in re.split(r"[,\s]+", raw.strip()):
                if not entry:
                    continue
                if _ACCOUNT.match(entry):
                    accounts.append(entry)
                elif _TOPIC_ARN.match(entry):
                    topics.append(entry)
                else:
                    raise TopicConfigError(
                        f"SNS allow-list entry {entry!r} is neither a topic ARN "
                        "(arn:aws:sns:REGION:ACCOUNT:NAME, globs allowed) nor a 12-digit account id"
                    )
        return cls(tuple(topics), tuple(accounts))

    def __bool__(self) -> bool:
        return bool(self.topics or self.accounts)

    def allows(self, topic_arn: str) -> bool:
        try:
            _, service, _, account, _ = arn_parts(topic_arn)
        except PayloadError:
            return False
        if service != "sns":
            return False
        return account in self.accounts or any(fnmatch.fnmatchcase(topic_arn, p) for p in self.topics)

    def describe(self) -> str:
        return ", ".join([*self.topics, *(f"account {a}" for a in self.accounts)]) or "none"
