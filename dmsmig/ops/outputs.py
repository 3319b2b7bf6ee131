"""Stack outputs behind one small seam: the Automation API, or a `pulumi stack output --json` file."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, Protocol

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from dmsmig.config.bounds import parse_bound_problem
from dmsmig.config.stack import PROJECT_DIR
from dmsmig.ops.errors import OpsError, StackMismatch, UsageError


class TaskRef(BaseModel):
    """One task as the stack exports it."""

    model_config = ConfigDict(populate_by_name=True, extra="ignore")

    task_id: str = Field(alias="taskId")
    resource_id: str = Field(alias="resourceId", description="ARN suffix and CloudWatch task dimension.")
    arn: str
    kind: Literal["task", "serverless"] = Field("task", description="A task, or a DMS Serverless replication.")
    instance_id: str | None = Field(None, alias="instanceId", description="The task's instance (None: Serverless).")
    migration_type: str = Field(alias="migrationType")
    range: dict[str, int | None]
    definition_hash: str | None = Field(None, alias="definitionHash", description="Settings, mappings and type.")

    @property
    def serverless(self) -> bool:
        return self.kind == "serverless"

    @property
    def partition(self) -> str:
        """Short name such as ``p2``."""
        return "p" + self.task_id.rsplit("-p", 1)[-1]


class StackIdentity(BaseModel):
    """Whose outputs these are: exported by the program, checked by every operator command."""

    model_config = ConfigDict(extra="ignore")

    project: str
    stack: str
    region: str
    account: str

    def describe(self) -> str:
        return f"stack '{self.stack}' (project {self.project}, region {self.region}, account {self.account})"


class StackOutputs(BaseModel):
    """The outputs the operator commands need."""

    model_config = ConfigDict(populate_by_name=True, extra="ignore")

    identity: StackIdentity | None = Field(None, alias="stackIdentity")

    instance_arns: list[str] = Field(alias="instanceArns")
    instance_ids: list[str] = Field(alias="instanceIds")
    source_endpoint_arns: dict[str, str] = Field(alias="sourceEndpointArns")
    target_endpoint_arn: str = Field(alias="targetEndpointArn")
    table_name: str = Field(alias="tableName")
    table_arn: str = Field(alias="tableArn")
    task_groups: dict[str, list[TaskRef]] = Field(alias="taskGroups")
    topic_arn: str | None = Field(None, alias="topicArn")
    alarm_names: list[str] = Field(default_factory=list, alias="alarmNames")
    read_switch_parameter: str | None = Field(None, alias="readSwitchParameter")
    read_switch_urn: str | None = Field(None, alias="readSwitchUrn", description="The read switch's resource.")
    assessment_bucket: str | None = Field(None, alias="assessmentBucket")
    assessment_role_arn: str | None = Field(None, alias="assessmentRoleArn")

    def tasks(self, group: str | None = None, names: list[str] | None = None) -> list[tuple[str, TaskRef]]:
        """``(group, task)`` pairs, optionally only one group (``source/group``) or named task ids."""
        if group and group not in self.task_groups:
            raise UsageError(f"task group '{group}' is not in the stack", f"use one of: {', '.join(self.task_groups)}")
        selected = [
            (group_name, task)
            for group_name, tasks in self.task_groups.items()
            if not group or group_name == group
            for task in tasks
            if not names or task.task_id in names or task.partition in names
        ]
        for name in names or []:
            if not any(name in (task.task_id, task.partition) for _g, task in selected):
                raise UsageError(f"no task '{name}' in the selection", "use a task id or pN from `status`")
        return selected


class OutputsSource(Protocol):
    """Where stack outputs come from."""

    def read(self) -> dict[str, Any]: ...


@dataclass
class OutputsFile:
    """A file written by ``pulumi stack output --json --show-secrets=false``."""

    path: Path

    def read(self) -> dict[str, Any]:
        fix = "pulumi stack output --json > outputs.json"
        try:
            document = json.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise UsageError(f"outputs file {self.path} not found", fix) from None
        except IsADirectoryError:
            raise UsageError(f"outputs file {self.path} is a directory; a JSON file is expected", fix) from None
        except UnicodeDecodeError:
            raise UsageError(f"outputs file {self.path} is not UTF-8 text (a binary file?)", fix) from None
        except json.JSONDecodeError as err:
            raise UsageError(
                f"outputs file {self.path} is not JSON (line {err.lineno}, column {err.colno}: {err.msg})", fix
            ) from None
        except (ValueError, RecursionError) as err:
            bound = parse_bound_problem(err)
            if bound is None:
                raise
            raise UsageError(f"outputs file {self.path}: {bound}; stack outputs never do", fix) from None
        except OSError as err:
            raise UsageError(f"outputs file {self.path} cannot be read ({err.strerror})", fix) from None
        if not isinstance(document, dict):
            raise UsageError(f"outputs file {self.path} holds a JSON {type(document).__name__}, not an object", fix)
        return document


@dataclass
class AutomationOutputs:
    """Reads outputs with the Pulumi Automation API (needs the Pulumi CLI and backend login)."""

    stack: str
    work_dir: Path = PROJECT_DIR

    def read(self) -> dict[str, Any]:
        from pulumi import automation as auto

        try:
            stack = auto.select_stack(stack_name=self.stack, work_dir=str(self.work_dir))
            return {key: item.value for key, item in stack.outputs().items()}
        except FileNotFoundError:
            raise UsageError(
                "the Pulumi CLI is not installed, so the stack's outputs cannot be read",
                "install it (https://www.pulumi.com/docs/install/), or pass --outputs-file from "
                "pulumi stack output --json",
            ) from None
        except auto.errors.CommandError as err:
            raise OpsError(
                f"reading outputs of stack {self.stack} failed: {err}", "pulumi login / stack select"
            ) from None


def verify_identity(outputs: StackOutputs, project: str, stack: str, region: str, where: str) -> None:
    """Refuse outputs that do not belong to ``stack`` of ``project`` in ``region``, naming both sides."""
    fix = f"use the outputs of {stack}: pulumi stack output --stack {stack} --json > {stack}-outputs.json"
    identity = outputs.identity
    if identity is None:
        raise StackMismatch(
            f"{where} carries no stack identity, so it cannot be shown to belong to stack '{stack}'",
            f"pulumi up --stack {stack} (the program exports stackIdentity), then {fix.split(': ', 1)[1]}",
        )
    expected = {"project": project, "stack": stack, "region": region}
    wrong = {k: v for k, v in expected.items() if getattr(identity, k) != v}
    if wrong:
        asked = ", ".join(f"{k} {v}" for k, v in expected.items())
        raise StackMismatch(f"{where} belongs to {identity.describe()}, not to --stack {stack} ({asked})", fix)


def verify_account(outputs: StackOutputs, account: str, stack: str) -> None:
    """Refuse to act when the AWS credentials are for another account than the stack's."""
    if outputs.identity is not None and outputs.identity.account != account:
        raise StackMismatch(
            f"the AWS credentials are for account {account}, but {outputs.identity.describe()} is in account "
            f"{outputs.identity.account}",
            f"use credentials (--profile) for account {outputs.identity.account} to operate stack {stack}",
        )


def load_outputs(source: OutputsSource) -> StackOutputs:
    """Validate raw outputs; missing keys name the output and how to get it."""
    raw = source.read()
    try:
        return StackOutputs.model_validate(raw)
    except ValidationError as err:
        missing = [".".join(str(p) for p in e["loc"]) for e in err.errors()]
        where = f"outputs file {source.path}" if isinstance(source, OutputsFile) else "the stack's outputs"
        raise UsageError(
            f"{where}: missing or malformed {', '.join(missing)}",
            "run pulumi up for this stack (the program exports them), or regenerate the outputs file",
        ) from None
