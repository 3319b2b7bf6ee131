"""Secret-looking text is never printed back: ``password=...`` and its kin become ``password=<redacted>``.

Error messages quote config values (a tag value that breaks a pattern, a filter value, a URL); a
value such as ``password=hunter2`` must not reach a terminal or a CI log through them. The error
boundary passes every line it prints through :func:`redact`; the contract check also shows the
values of members AWS marks sensitive (or named like a password) only by their length.
"""

from __future__ import annotations

import re

SECRET_NAME = re.compile(r"passw(or)?d|^pwd$|secret|token|api_?key|private_?key", re.IGNORECASE)
# "name=value", or "name:value" with no space (a key path followed by ": message" is not a value)
SECRET_IN_TEXT = re.compile(
    r"(?i)\b(password|passwd|pwd|secret|token|api[_-]?key|access[_-]?key|private[_-]?key)(\s*=\s*|:)"
    r"(?!<redacted>)([^\s'\";,}&]+)"
)
# botocore's own type errors: "Invalid type for parameter Password, value: 5, type: <class 'int'>"
BOTOCORE_VALUE = re.compile(r"(?i)(parameter \S*(?:passw(?:or)?d|pwd|secret|token|key)\S*, value: )(.*?)(, type: )")


def redact(text: str) -> str:
    """``text`` with every ``<secret name>=<value>`` (or ``:``) value, and botocore's quoted value of a
    secret-named parameter, replaced by ``<redacted>``."""
    text = BOTOCORE_VALUE.sub(lambda m: f"{m.group(1)}<redacted>{m.group(3)}", text)
    return SECRET_IN_TEXT.sub(lambda m: f"{m.group(1)}{m.group(2)}<redacted>", text)


def shown(value: str, name: str = "", sensitive: bool = False) -> str:
    """How a string value may appear in a message: its repr, or only its length when it is a secret."""
    if sensitive or SECRET_NAME.search(name):
        return f"<{len(value)} characters, not shown>"
    return redact(repr(value))
