"""The seam to Pulumi: change one stack config value and apply it (Automation API).

The real driver needs the Pulumi CLI and a backend login; tests pass a fake with the same
methods. The cutover only ever changes ``readSwitch.readsFrom`` and ``decommissioned``. The read
switch changes exactly one resource: a preview first (with refresh), a refusal naming anything
else that would change (drift, a pending config edit, a changed task the provider would stop),
then an update targeting that resource alone; the same for a rollback.
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
    @property
    def context(self) -> str:
        """Where the stack lives when it is not a deployed one, for the cutover's record; empty for a real stack."""
        ...

    def get(self, path: str) -> Any: ...

    def set_and_apply(self, path: str, value: Any, only: list[str] | None = None) -> list[str]:
        """Set one config value and apply it; with ``only`` (resource URNs), preview first, refuse when
        anything else would change, and update just those resources."""
        ...


# Operations a preview reports that change nothing: the resource as it is, or only read.
UNCHANGED_OPS = {"same", "read", "refresh", "discard", "discard-replaced", "import"}
STACK_ROOT_TYPE = "pulumi:pulumi:Stack"


def pending_changes(events: list[Any], only: list[str]) -> list[str]:
    """``op urn`` of every change a preview's engine events announce outside ``only``."""
    found = []
    for event in events:
        pre = getattr(event, "resource_pre_event", None)
        if pre is None:
            continue
        meta = pre.metadata
        op = getattr(meta.op, "value", meta.op)
        if op in UNCHANGED_OPS or meta.urn in only or meta.type == STACK_ROOT_TYPE:
            continue
        found.append(f"{op} {meta.urn}")
    return found


def _is_concurrent_update(err: BaseException) -> bool:
    from pulumi import automation as auto

    return isinstance(err, auto.errors.ConcurrentUpdateError)


@dataclass
class AutomationDriver:
    """``select_stack`` on this project, ``set_config(path=True)``, then ``up`` (retrying HTTP 409)."""

    stack: str
    work_dir: Path = PROJECT_DIR

    @property
    def context(self) -> str:
        return ""  # a deployed stack: its record needs no word on where it ran

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

    def set_and_apply(self, path: str, value: Any, only: list[str] | None = None) -> list[str]:
        from pulumi import automation as auto

        stack = self._stack()
        key = self._key(path)
        before = self.get(path) if only is not None else None  # to put back after a refusal
        stack.set_config(key, auto.ConfigValue(value=_text(value)), path=True)
        lines: list[str] = []
        if only is not None:
            events: list[Any] = []
            stack.preview(on_event=events.append, refresh=True, message=f"dmsmig cutover preview: {path}={value}")
            others = pending_changes(events, only)
            if others:
                if before is None:
                    stack.remove_config(key, path=True)
                else:
                    stack.set_config(key, auto.ConfigValue(value=_text(before)), path=True)
                raise OpsError(
                    f"setting {path}={value} would also change {len(others)} other resource(s): "
                    + "; ".join(others[:10]),
                    f"nothing was applied and {path} is back to {before!r}: apply those changes first "
                    f"(pulumi up --stack {self.stack}, outside the cutover), then run the cutover again",
                )
            lines.append(f"pulumi preview: only {', '.join(u.rsplit('::', 1)[-1] for u in only)} changes")

        @retry(
            retry=retry_if_exception(_is_concurrent_update),
            wait=wait_random_exponential(multiplier=2, max=60),
            stop=stop_after_attempt(5),
            reraise=True,
        )
        def up():
            # An interrupted earlier update leaves pending operations; refresh clears them first.
            message = f"dmsmig cutover: {path}={value}"
            if only is not None:
                return stack.up(on_output=lines.append, refresh=True, target=only, message=message)
            return stack.up(on_output=lines.append, refresh=True, message=message)

        try:
            result = up()
        except auto.errors.ConcurrentUpdateError:
            raise OpsError(f"stack {self.stack} is being updated by someone else", "wait for it, then re-run") from None
        except auto.errors.CommandError as err:
            raise OpsError(f"pulumi up of {self.stack} failed: {str(err).splitlines()[-1]}") from None
        lines.append(f"pulumi up: {result.summary.result}, {dict(result.summary.resource_changes or {})}")
        return lines


def _text(value: Any) -> Any:
    return str(value).lower() if isinstance(value, bool) else value
