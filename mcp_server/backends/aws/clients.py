"""boto3 clients, built once from an injected session, and the AWS environment they come from."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import NoRegionError, ProfileNotFound

from mcp_server.backends.aws.config import AwsBackendConfig
from mcp_server.backends.aws.errors import CREDENTIAL_ERRORS
from mcp_server.errors import SleuthError

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
        """Clients that try each request once: :class:`ApiCaller` retries within the call's deadline."""
        botocore_config = Config(
            retries={"mode": "standard", "total_max_attempts": 1},
            connect_timeout=config.connect_timeout,
            read_timeout=config.read_timeout,
            user_agent_extra="sleuth",
        )

        def client(name: str) -> Any:
            try:
                return session.client(name, region_name=config.region, config=botocore_config)  # type: ignore[call-overload]
            except NoRegionError:
                raise SleuthError(
                    "no AWS region: pass --region, set AWS_REGION (or AWS_DEFAULT_REGION), or set region "
                    "in the AWS backend config"
                ) from None

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
    """The usual AWS environment (variables, ~/.aws/config, instance roles) with our profile/region.

    A missing profile is a one-line error naming the profiles there are.
    """
    try:
        return boto3.Session(profile_name=config.profile, region_name=config.region)
    except ProfileNotFound:
        known = boto3.Session().available_profiles if config.profile else []
        hint = f"; profiles: {', '.join(sorted(known))}" if known else "; no profiles are configured"
        raise SleuthError(
            f"AWS profile {config.profile!r} is not in ~/.aws/config or ~/.aws/credentials{hint}"
        ) from None


def check_credentials(session: boto3.Session) -> None:
    """Fail now, in one line, when no credentials can be found (instead of at the first call)."""
    try:
        credentials = session.get_credentials()
    except CREDENTIAL_ERRORS as exc:
        raise SleuthError(f"AWS credentials cannot be loaded: {exc}") from None
    if credentials is None:
        raise SleuthError(
            "no AWS credentials found: set AWS_PROFILE (or --profile), run `aws sso login`, or set "
            "AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY"
        )
