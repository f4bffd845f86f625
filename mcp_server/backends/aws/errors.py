"""Translate botocore failures into Sleuth errors that name the API and say what to do.

A throttled, denied or unreachable API raises :class:`AwsApiUnavailableError` (a
:class:`BackendUnavailableError`): the investigation drops that one evidence source with the
message as its note, and carries on with the others.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    ConnectionClosedError,
    ConnectTimeoutError,
    CredentialRetrievalError,
    EndpointConnectionError,
    NoCredentialsError,
    NoRegionError,
    ParamValidationError,
    PartialCredentialsError,
    ProfileNotFound,
    ReadTimeoutError,
    SSOError,
    TokenRetrievalError,
)

from mcp_server.errors import BackendUnavailableError, QueryError, SleuthError

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
TRANSIENT_CODES = frozenset(
    {
        "InternalFailure",
        "InternalError",
        "InternalServerError",
        "ServiceUnavailable",
        "ServiceUnavailableException",
    }
)
CREDENTIAL_ERRORS = (
    NoCredentialsError,
    PartialCredentialsError,
    CredentialRetrievalError,
    SSOError,
    TokenRetrievalError,
    ProfileNotFound,
)
TRANSPORT_ERRORS = (EndpointConnectionError, ConnectTimeoutError, ReadTimeoutError, ConnectionClosedError)
ADVICE = {
    "throttled": "the account's rate limit for this API is used up; try again in a minute",
    "denied": "grant the read-only policy in mcp_server/backends/aws/iam/sleuth-readonly-policy.json",
    "credentials": "refresh the AWS credentials (aws sso login, or check AWS_PROFILE and the key variables)",
    "unreachable": "check network access, the region and the endpoint",
    "timeout": "narrow the time window or the number of log groups, or raise the time limit",
}


class AwsApiUnavailableError(BackendUnavailableError, QueryError):
    """One AWS API could not answer: ``reason`` is throttled, denied, credentials, unreachable,
    timeout or failed; ``retryable`` says whether trying again soon may help.

    It is also a :class:`QueryError` because, to the caller, it is one question the backend could
    not answer: the analysis engine degrades that step with this message and carries on.
    """

    def __init__(self, api: str, reason: str, detail: str, *, retryable: bool = False) -> None:
        self.api = api
        self.reason = reason
        self.detail = detail
        self.retryable = retryable
        advice = ADVICE.get(reason, "see the AWS error above")
        super().__init__(f"AWS {api} {reason}: {detail} ({advice}); this evidence source is skipped")

    def __reduce__(self) -> tuple[type, tuple[str, str, str]]:
        return (type(self), (self.api, self.reason, self.detail))


@contextmanager
def aws_errors(api: str) -> Iterator[None]:
    """Run one AWS call (or a paginated series) and translate what can go wrong."""
    try:
        yield
    except ClientError as exc:
        error = exc.response.get("Error", {})
        code = str(error.get("Code", ""))
        message = str(error.get("Message", "")) or str(exc)
        status = int((exc.response.get("ResponseMetadata") or {}).get("HTTPStatusCode") or 0)
        if code in THROTTLING_CODES:
            raise AwsApiUnavailableError(api, "throttled", f"{code}: {message}", retryable=True) from None
        if code in DENIED_CODES:
            raise AwsApiUnavailableError(api, "denied", f"{code}: {message}") from None
        if code == "ResourceNotFoundException":
            raise QueryError(f"AWS {api}: {message}") from None
        if code in BAD_REQUEST_CODES:
            raise QueryError(f"AWS {api} rejected the request: {code}: {message}") from None
        transient = code in TRANSIENT_CODES or status >= 500
        raise AwsApiUnavailableError(
            api, "failed", f"{code or 'error'}: {message}", retryable=transient
        ) from None
    except CREDENTIAL_ERRORS as exc:
        raise AwsApiUnavailableError(api, "credentials", str(exc)) from None
    except ParamValidationError as exc:
        raise QueryError(f"AWS {api}: invalid request: {exc}") from None
    except NoRegionError:
        raise SleuthError(
            "no AWS region: pass --region, set AWS_REGION, or set region in the AWS backend config"
        ) from None
    except TRANSPORT_ERRORS as exc:
        raise AwsApiUnavailableError(api, "unreachable", str(exc), retryable=True) from None
    except BotoCoreError as exc:
        raise AwsApiUnavailableError(api, "unreachable", str(exc)) from None
