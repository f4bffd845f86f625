"""boto3 clients, built once from an injected session, and the pagination helper every module uses."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import boto3
from botocore.config import Config

from mcp_server.backends.aws.config import AwsBackendConfig

# boto3 service name -> IAM action prefix
IAM_PREFIXES = {
    "cloudwatch": "cloudwatch",
    "logs": "logs",
    "xray": "xray",
    "application-signals": "application-signals",
    "cloudtrail": "cloudtrail",
}


@dataclass(frozen=True)
class AwsClients:
    """One client per AWS service the backend reads. Tests pass their own (moto or stubbed)."""

    cloudwatch: Any
    logs: Any
    xray: Any
    application_signals: Any
    cloudtrail: Any

    @classmethod
    def from_session(cls, session: boto3.Session, config: AwsBackendConfig) -> AwsClients:
        botocore_config = Config(
            retries={"mode": "adaptive", "total_max_attempts": config.max_attempts},
            connect_timeout=config.connect_timeout,
            read_timeout=config.read_timeout,
            user_agent_extra="sleuth",
        )

        def client(name: str) -> Any:
            return session.client(name, region_name=config.region, config=botocore_config)  # type: ignore[call-overload]

        return cls(
            cloudwatch=client("cloudwatch"),
            logs=client("logs"),
            xray=client("xray"),
            application_signals=client("application-signals"),
            cloudtrail=client("cloudtrail"),
        )

    def all(self) -> list[Any]:
        return [self.cloudwatch, self.logs, self.xray, self.application_signals, self.cloudtrail]


def session_for(config: AwsBackendConfig) -> boto3.Session:
    """The usual AWS environment (variables, ~/.aws/config, instance roles) with our profile/region."""
    return boto3.Session(profile_name=config.profile, region_name=config.region)


def paginate(
    client: Any, operation: str, result_key: str, max_items: int | None = None, **params: Any
) -> Iterator[Any]:
    """Yield items of ``result_key`` across every page, stopping after ``max_items``."""
    if client.can_paginate(operation):
        pages = client.get_paginator(operation).paginate(**params)
    else:
        pages = _token_pages(client, operation, params)
    seen = 0
    for page in pages:
        for item in page.get(result_key) or []:
            yield item
            seen += 1
            if max_items is not None and seen >= max_items:
                return


def _token_pages(client: Any, operation: str, params: dict[str, Any]) -> Iterator[dict[str, Any]]:
    method = getattr(client, operation)
    token: str | None = None
    while True:
        page = method(**params, **({"NextToken": token} if token else {}))
        yield page
        token = page.get("NextToken")
        if not token:
            return
