"""Translate botocore failures into Sleuth errors that name the API and say what to do.

A throttled, denied or unreachable API raises :class:`AwsApiUnavailableError` (a
:class:`BackendUnavailableError`): the investigation drops that one evidence source with the
message as its note, and carries on with the others.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from botocore.exceptions import BotoCoreError, ClientError, NoCredentialsError, ParamValidationError

from mcp_server.errors import BackendUnavailableError, QueryError

THROTTLING_CODES = frozenset(
    {
        "Throttling",
        "ThrottlingException",
        "ThrottledException",
        "TooManyRequestsException",
        "RequestLimitExceeded",
        "LimitExceededException",
        "RequestThrottled",
        "RequestThrottledException",
        "ProvisionedThroughputExceededException",
    }
)
DENIED_CODES = frozenset(
    {
        "AccessDenied",
        "AccessDeniedException",
        "UnauthorizedOperation",
        "UnrecognizedClientException",
        "InvalidClientTokenId",
        "ExpiredToken",
        "ExpiredTokenException",
        "NotAuthorized",
        "SignatureDoesNotMatch",
    }
)
BAD_REQUEST_CODES = frozenset(
    {"InvalidParameterException", "InvalidParameterValue", "ValidationException", "MalformedQueryException"}
)


class AwsApiUnavailableError(BackendUnavailableError, QueryError):
    """One AWS API could not answer: ``reason`` is throttled, denied, unreachable, timeout or failed.

    It is also a :class:`QueryError` because, to the caller, it is one question the backend could
    not answer: the analysis engine degrades that step with this message and carries on.
    """

    def __init__(self, api: str, reason: str, detail: str) -> None:
        self.api = api
        self.reason = reason
        self.detail = detail
        advice = {
            "throttled": "retried with adaptive backoff and still throttled; try again later or narrow the window",
            "denied": "grant the read-only policy in mcp_server/backends/aws/iam/sleuth-readonly-policy.json",
            "unreachable": "check network access, the region and the AWS credentials",
            "timeout": "narrow the time window or the number of log groups",
        }.get(reason, "see the AWS error above")
        super().__init__(f"AWS {api} {reason}: {detail} ({advice}); this evidence source is skipped")


@contextmanager
def aws_errors(api: str) -> Iterator[None]:
    """Run one AWS call (or a paginated series) and translate what can go wrong."""
    try:
        yield
    except ClientError as exc:
        error = exc.response.get("Error", {})
        code = str(error.get("Code", ""))
        message = str(error.get("Message", "")) or str(exc)
        if code in THROTTLING_CODES:
            raise AwsApiUnavailableError(api, "throttled", f"{code}: {message}") from None
        if code in DENIED_CODES:
            raise AwsApiUnavailableError(api, "denied", f"{code}: {message}") from None
        if code == "ResourceNotFoundException":
            raise QueryError(f"AWS {api}: {message}") from None
        if code in BAD_REQUEST_CODES:
            raise QueryError(f"AWS {api} rejected the request: {code}: {message}") from None
        raise AwsApiUnavailableError(api, "failed", f"{code or 'error'}: {message}") from None
    except NoCredentialsError:
        raise AwsApiUnavailableError(api, "denied", "no AWS credentials found") from None
    except ParamValidationError as exc:
        raise QueryError(f"AWS {api}: invalid request: {exc}") from None
    except BotoCoreError as exc:
        raise AwsApiUnavailableError(api, "unreachable", str(exc)) from None
