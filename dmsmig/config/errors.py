"""The one error type of the config layer: every problem is a ``key.path: what to do`` line."""

from __future__ import annotations


class ConfigError(Exception):
    """Invalid stack configuration; ``problems`` holds one ``key.path: what to do`` line each."""

    def __init__(self, problems: list[str], source: str = "stack config"):
        self.problems = problems
        self.source = source
        super().__init__(f"invalid {source}:\n" + "\n".join(f"  - {p}" for p in problems))
