"""The AWS backend: CloudWatch metrics, alarms and logs, X-Ray, Application Signals and CloudTrail."""

from mcp_server.backends.aws.backend import AwsBackend
from mcp_server.backends.aws.clients import AwsClients
from mcp_server.backends.aws.config import AwsBackendConfig
from mcp_server.backends.aws.errors import AwsApiUnavailableError
from mcp_server.backends.aws.notes import BackendNote

__all__ = ["AwsApiUnavailableError", "AwsBackend", "AwsBackendConfig", "AwsClients", "BackendNote"]
