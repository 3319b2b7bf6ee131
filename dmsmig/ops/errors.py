"""Operator-facing errors: what failed, on which resource, and what to do."""

from __future__ import annotations

from botocore.exceptions import ClientError, NoCredentialsError, NoRegionError

THROTTLING_CODES = {
    "Throttling",
    "ThrottlingException",
    "RequestLimitExceeded",
    "TooManyRequestsException",
    "ProvisionedThroughputExceededException",
    "RequestThrottled",
    "SlowDown",
}


# Exit codes of every command (README, "Exit codes"); the cutover gates use 10-17, a held lock 20.
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
    if isinstance(err, NoCredentialsError):
        return OpsError(f"{action} {resource}: no AWS credentials", "set AWS_PROFILE or run aws sso login")
    if isinstance(err, NoRegionError):
        return OpsError(f"{action} {resource}: no AWS region", "pass --region or set AWS_REGION")
    if not isinstance(err, ClientError):
        return OpsError(f"{action} {resource}: {type(err).__name__}: {err}")
    code = error_code(err)
    detail = err.response.get("Error", {}).get("Message", "")
    operation = err.operation_name
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
