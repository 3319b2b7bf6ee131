"""Shared pieces of the stack config models: the strict base model, key-path errors, names and defaults."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, ValidationError

from dmsmig.config.task_settings import settings_with_overrides

PROJECT_DIR = Path(__file__).resolve().parents[2]
CONFIG_KEY = "migration"
NAME_PATTERN = r"^[a-z][a-z0-9]*(-[a-z0-9]+)*$"
# Short environment names for task resource identifiers, which AWS limits to 31 characters.
ENVIRONMENT_ABBREVIATIONS = {"sandbox": "sbx", "dev": "dev", "test": "tst", "staging": "stg", "prod": "prd"}
PASSWORD_KEY = re.compile(r"(passw(or)?d|^pwd$|secret_?string|secretstring)", re.IGNORECASE)
DEFAULT_PORTS = {"sqlserver": 1433, "oracle": 1521, "mysql": 3306, "postgres": 5432}
Environment = Literal["sandbox", "dev", "test", "staging", "prod"]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True, frozen=True)


def _at(path: str, message: str) -> ValueError:
    """A validation error that points below the model being validated (see ``_format_error``)."""
    return ValueError(f"@{path}: {message}")


def _ids_like(value: list[str], prefix: str, what: str) -> list[str]:
    """Every item is an AWS id ``<prefix>-<8..17 hex>``; the error names the item and an example."""
    for i, item in enumerate(value):
        if not re.match(rf"^{prefix}-[0-9a-f]{{8,17}}$", item):
            raise _at(f"[{i}]", f"'{item}' is not a {what} ({prefix}-0123abcd...)")
    return value


BOOTSTRAP_FIX = (
    "store the password in Secrets Manager (python -m dmsmig bootstrap-secret) and reference it with "
    "migration.sources[].secret"
)


def _validate_settings_layer(layer: dict[str, Any]) -> None:
    try:
        settings_with_overrides(layer)
    except ValidationError as err:
        first = err.errors()[0]
        loc = ".".join(str(p) for p in first["loc"])
        message = error_message(first)
        if first["type"] == "extra_forbidden":
            message = "unknown DMS task setting; check the spelling against the DMS task-settings reference"
        if message.startswith("@"):
            sub, _, message = message[1:].partition(": ")
            loc = f"{loc}.{sub}" if loc else sub
        raise _at(loc, message) if loc else ValueError(message) from None


KMS_KEY_ARN = r"^arn:aws[a-z-]*:kms:[a-z0-9-]+:\d{12}:(key|alias)/[A-Za-z0-9/_+=.@:-]+$"
"""A KMS key (or alias) ARN with its region, account and id: a key the program can name to DMS and DynamoDB."""


def _clean(message: str) -> str:
    return message.removeprefix("Value error, ").removeprefix("Assertion failed, ")


def error_message(err: Any) -> str:
    """The words for one pydantic error of the stack config (its caller adds the key path)."""
    if err["type"] == "bool_type":  # strict: 'yes', 'on', 1 and the like are refused, never read as true
        return f"must be true or false (unquoted), not {err.get('input')!r}"
    return _clean(err["msg"])
