"""The seam to Pulumi: change one stack config value and apply it (Automation API).

The real driver needs the Pulumi CLI and a backend login; tests pass a fake with the same
methods. The cutover only ever changes ``readSwitch.readsFrom`` and ``decommissioned``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from tenacity import retry, retry_if_exception, stop_after_attempt, wait_random_exponential

from dmsmig.config.stack import CONFIG_KEY, PROJECT_DIR, project_name
from dmsmig.ops.errors import OpsError

READS_FROM = "readSwitch.readsFrom"
DECOMMISSIONED = "decommissioned"


class StackDriver(Protocol):
    def get(self, path: str) -> Any: ...

    def set_and_apply(self, path: str, value: Any) -> list[str]: ...


def _is_concurrent_update(err: BaseException) -> bool:
    from pulumi import automation as auto

    return isinstance(err, auto.errors.ConcurrentUpdateError)


@dataclass
class AutomationDriver:
    """``select_stack`` on this project, ``set_config(path=True)``, then ``up`` (retrying HTTP 409)."""

    stack: str
    work_dir: Path = PROJECT_DIR

    def _stack(self):
        from pulumi import automation as auto

        try:
            return auto.select_stack(stack_name=self.stack, work_dir=str(self.work_dir))
        except FileNotFoundError:
            raise OpsError("the Pulumi CLI is not installed", "install it and pulumi login") from None

    def _key(self, path: str) -> str:
        return f"{project_name(self.work_dir)}:{CONFIG_KEY}.{path}"

    def get(self, path: str) -> Any:
        from pulumi import automation as auto

        try:
            return self._stack().get_config(self._key(path), path=True).value
        except auto.errors.CommandError:
            return None

    def set_and_apply(self, path: str, value: Any) -> list[str]:
        from pulumi import automation as auto

        stack = self._stack()
        stack.set_config(
            self._key(path), auto.ConfigValue(value=str(value).lower() if isinstance(value, bool) else value), path=True
        )
        lines: list[str] = []

        @retry(
            retry=retry_if_exception(_is_concurrent_update),
            wait=wait_random_exponential(multiplier=2, max=60),
            stop=stop_after_attempt(5),
            reraise=True,
        )
        def up():
            # An interrupted earlier update leaves pending operations; refresh clears them first.
            return stack.up(on_output=lines.append, refresh=True, message=f"dmsmig cutover: {path}={value}")

        try:
            result = up()
        except auto.errors.ConcurrentUpdateError:
            raise OpsError(f"stack {self.stack} is being updated by someone else", "wait for it, then re-run") from None
        except auto.errors.CommandError as err:
            raise OpsError(f"pulumi up of {self.stack} failed: {str(err).splitlines()[-1]}") from None
        lines.append(f"pulumi up: {result.summary.result}, {dict(result.summary.resource_changes or {})}")
        return lines
