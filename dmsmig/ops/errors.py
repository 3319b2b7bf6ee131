"""Operator-facing errors: what failed, on which resource, and what to do."""

from __future__ import annotations

import os

from botocore.exceptions import (
    ClientError,
    ConfigParseError,
    ConnectionClosedError,
    ConnectTimeoutError,
    NoCredentialsError,
    NoRegionError,
    ReadTimeoutError,
    SSOTokenLoadError,
    TokenRetrievalError,
    UnauthorizedSSOTokenError,
)
from botocore.parsers import ResponseParserError

THROTTLING_CODES = {
    "Throttling",
    "ThrottlingException",
    "RequestLimitExceeded",
    "TooManyRequestsException",
    "ProvisionedThroughputExceededException",
    "RequestThrottled",
    "SlowDown",
}


CREDENTIAL_CODES = {
    "ExpiredToken",
    "ExpiredTokenException",
    "InvalidClientTokenId",
    "UnrecognizedClientException",
    "InvalidSignatureException",
    "SignatureDoesNotMatch",
    "AuthFailure",
}


# Exit codes of every command (docs/exit-codes.md); the cutover gates use 10-17, a held lock 20.
EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_TIMEOUT = 3


class OpsError(Exception):
    """A failure the operator can act on; ``str()`` is the whole message, never a secret."""

    exit_code = EXIT_FAILED

    def __init__(self, message: str, fix: str | None = None):
        self.message = message
        self.fix = fix
        super().__init__(f"{message}" + (f"; {fix}" if fix else ""))


class UsageError(OpsError):
    """Bad input (a file, a flag value, a name): exit 2."""

    exit_code = EXIT_USAGE


class StackMismatch(UsageError):
    """Outputs (or credentials) that belong to another stack than the one asked for."""


class ExpiredLogin(UsageError):
    """The AWS SSO login behind the credentials expired; the boundary names the profile in the fix."""

    def __init__(self, message: str, profile: str | None = None):
        self.profile = profile
        super().__init__(message, sso_fix(profile))


def sso_fix(profile: str | None) -> str:
    named = profile or os.environ.get("AWS_PROFILE") or "default"
    return f"aws sso login --profile {named}, then run the command again"


def sdk_failure(err: BaseException, action: str, resource: str) -> OpsError | None:
    """The AWS SDK's own failures (credentials, config file, connection), each with its fix; None for others."""
    if isinstance(err, ConfigParseError):
        return UsageError(
            f"the AWS config file {err.kwargs.get('path')} cannot be parsed",
            "fix its syntax (e.g. an unclosed [section]), or point AWS_CONFIG_FILE at a valid file",
        )
    if isinstance(err, TokenRetrievalError | SSOTokenLoadError | UnauthorizedSSOTokenError):
        return ExpiredLogin(f"{action} {resource}: the AWS SSO login has expired or is missing")
    if isinstance(err, ConnectionClosedError | ReadTimeoutError | ConnectTimeoutError):
        return OpsError(
            f"{action} {resource}: the connection to AWS was reset or timed out ({type(err).__name__})",
            "run the command again (it resumes where it stopped); check the network or proxy if it repeats",
        )
    if isinstance(err, ResponseParserError):
        return OpsError(
            f"{action} {resource}: AWS (or a proxy) answered with something that is not the API's JSON/XML "
            "(an HTML error page?)",
            "check --endpoint-url and any proxy between here and AWS (HTTPS_PROXY), then run it again",
        )
    return None


def error_code(err: BaseException) -> str:
    if isinstance(err, ClientError):
        return err.response.get("Error", {}).get("Code", "")
    return ""


def is_throttling(err: BaseException) -> bool:
    return error_code(err) in THROTTLING_CODES


def explain(err: BaseException, action: str, resource: str) -> OpsError:
    """Turn an AWS exception into an :class:`OpsError` naming the action and resource."""
    if isinstance(err, OpsError):
        return err
    known = sdk_failure(err, action, resource)
    if known is not None:
        return known
    if isinstance(err, NoCredentialsError):
        return OpsError(f"{action} {resource}: no AWS credentials", "set AWS_PROFILE or run aws sso login")
    if isinstance(err, NoRegionError):
        return OpsError(f"{action} {resource}: no AWS region", "pass --region or set AWS_REGION")
    if not isinstance(err, ClientError):
        return OpsError(f"{action} {resource}: {type(err).__name__}: {err}")
    code = error_code(err)
    detail = err.response.get("Error", {}).get("Message", "")
    operation = err.operation_name
    if code in CREDENTIAL_CODES:
        return UsageError(
            f"{action} {resource}: the AWS credentials are expired or invalid ({code})",
            "refresh them: aws sso login --profile <profile> for SSO, or new access keys (check AWS_PROFILE, "
            "--profile and AWS_ACCESS_KEY_ID)",
        )
    if code in ("AccessDenied", "AccessDeniedException", "AccessDeniedFault", "UnauthorizedOperation"):
        return OpsError(
            f"{action} {resource}: access denied for {operation} ({detail})",
            f"grant the operator role the permission for {operation} on {resource}",
        )
    if code in ("ResourceNotFoundFault", "ResourceNotFoundException"):
        return OpsError(
            f"{action} {resource}: not found ({detail})",
            "check the stack outputs are current (pulumi up) and the region is right",
        )
    if code == "InvalidResourceStateFault":
        return OpsError(f"{action} {resource}: not in a state that allows {operation} ({detail})", "check status first")
    if code in THROTTLING_CODES:
        return OpsError(f"{action} {resource}: still throttled after retries ({code})", "try again in a minute")
    return OpsError(f"{action} {resource}: {code or 'error'} in {operation}: {detail}")
