"""Create or update a source's Secrets Manager secret in the JSON shape DMS reads.

The password is taken from a prompt (or stdin), sent once to Secrets Manager, and never
echoed, logged, returned or put in an exception message. Botocore's DEBUG logging would print
request bodies, so it is held at INFO while the secret is written.
"""

from __future__ import annotations

import contextlib
import json
import logging
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from dmsmig.config.stack import Source
from dmsmig.contract import facts
from dmsmig.ops.errors import OpsError, UsageError, error_code
from dmsmig.ops.retry import call_with_retry

QUIET_LOGGERS = ("botocore", "boto3", "urllib3")


@dataclass(frozen=True)
class SecretResult:
    """What happened, without the value."""

    name: str
    arn: str
    version_id: str
    created: bool


@contextlib.contextmanager
def _quiet_wire_logs() -> Iterator[None]:
    saved = {name: logging.getLogger(name).level for name in QUIET_LOGGERS}
    try:
        for name in QUIET_LOGGERS:
            logging.getLogger(name).setLevel(logging.INFO)
        yield
    finally:
        for name, level in saved.items():
            logging.getLogger(name).setLevel(level)


def password_problem(password: str) -> str | None:
    """Why DMS would not accept ``password`` for an endpoint (it names the characters, never the password)."""
    found = sorted({c for c in password if c in facts.ENDPOINT_PASSWORD_FORBIDDEN})
    if not found:
        return None
    return (
        f"the password contains {' '.join(repr(c) for c in found)}, which DMS does not allow in endpoint passwords "
        f"({facts.FACTS['endpoint-password-forbidden-characters'].source.split(' ')[0]}); nothing was stored"
    )


def secret_document(source: Source, username: str, password: str) -> str:
    """The secret string: DMS reads username, password, host and port (and the database name)."""
    if not source.server_name:
        raise OpsError(f"source '{source.name}' has no serverName", "set migration.sources[].serverName")
    return json.dumps(
        {
            "username": username,
            "password": password,
            "host": source.server_name,
            "port": source.effective_port,
            "dbname": source.database_name,
            "engine": source.engine,
        }
    )


def bootstrap_secret(
    secrets: Any, source: Source, username: str, password: str, description: str, kms_key_id: str | None = None
) -> SecretResult:
    """Create the secret, or add a new version when it exists. Never duplicates the secret."""
    if not password:
        raise UsageError("empty password", "type the password at the prompt or pipe it on stdin")
    refused = password_problem(password)
    if refused:
        raise UsageError(refused, "set a database password without them, then run bootstrap-secret again")
    secret_id = source.secret.arn or source.secret.name or ""
    value = secret_document(source, username, password)
    with _quiet_wire_logs():
        try:
            response = call_with_retry(secrets.put_secret_value, SecretId=secret_id, SecretString=value)
            created = False
        except Exception as err:  # noqa: BLE001 - re-raised below without the value
            code = error_code(err)
            if code != "ResourceNotFoundException" or source.secret.arn:
                raise _safe_error(err, secret_id) from None
            kwargs: dict[str, Any] = {"Name": secret_id, "Description": description, "SecretString": value}
            if kms_key_id:
                kwargs["KmsKeyId"] = kms_key_id
            try:
                response = call_with_retry(secrets.create_secret, **kwargs)
            except Exception as create_err:  # noqa: BLE001
                raise _safe_error(create_err, secret_id) from None
            created = True
    return SecretResult(name=response["Name"], arn=response["ARN"], version_id=response["VersionId"], created=created)


def _safe_error(err: BaseException, secret_id: str) -> OpsError:
    """An error that names the secret and the code, and carries nothing of the request."""
    code = error_code(err) or type(err).__name__
    if code in ("AccessDeniedException", "AccessDenied"):
        return OpsError(
            f"writing secret {secret_id}: access denied",
            "the operator needs secretsmanager:CreateSecret and PutSecretValue on it (and kms:GenerateDataKey)",
        )
    return OpsError(f"writing secret {secret_id} failed ({code})")
