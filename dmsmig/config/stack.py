"""The typed stack configuration: one pydantic model read at program start.

``Pulumi.<stack>.yaml`` holds ``aws:region`` and one structured key ``<project>:migration``.
Defaults and validation live here and nowhere else; invalid config raises :class:`ConfigError`
whose lines each name the key path and the fix, e.g.
``migration.sources[0].taskGroups[0].partitions.boundaries: must be strictly increasing``.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from pydantic import Field, StrictBool, ValidationError, field_validator, model_validator

from dmsmig.config.base import (
    BOOTSTRAP_FIX,
    CONFIG_KEY,
    ENVIRONMENT_ABBREVIATIONS,
    NAME_PATTERN,
    PASSWORD_KEY,
    PROJECT_DIR,
    Environment,
    _at,
    _clean,
    _Model,
    _validate_settings_layer,
    error_message,
)
from dmsmig.config.cutover import Assessments, Cutover
from dmsmig.config.errors import ConfigError
from dmsmig.config.infrastructure import Network, Replication
from dmsmig.config.partitions import KeyRange
from dmsmig.config.sources import Source, TaskGroup
from dmsmig.config.target import Monitoring, ReadSwitch, Target
from dmsmig.config.task_settings import TaskSettings, deep_merge, settings_with_overrides
from dmsmig.config.yaml_files import read_yaml
from dmsmig.contract import facts


class MigrationConfig(_Model):
    """Everything one stack declares: instance(s), target table, sources and their task groups."""

    environment: Environment = Field(description="Stack environment; prod turns on multi-AZ and deletion protection.")
    service: str = Field(
        pattern=NAME_PATTERN, max_length=20, description="Short lowercase service name; prefixes every resource name."
    )
    tags: dict[str, str] = Field(
        default_factory=dict, description="Extra tags on every resource (Environment, Service, ManagedBy are added)."
    )
    network: Network
    replication: Replication = Field(default_factory=Replication)
    target: Target
    read_switch: ReadSwitch = Field(default_factory=ReadSwitch, alias="readSwitch")
    monitoring: Monitoring = Field(default_factory=Monitoring)
    cutover: Cutover = Field(default_factory=Cutover)
    task_settings: dict[str, Any] = Field(
        default_factory=dict,
        alias="taskSettings",
        description="DMS task-settings overrides for every task (DMS key names; see Task settings).",
    )
    source_defaults: dict[str, Any] = Field(
        default_factory=dict,
        alias="sourceDefaults",
        description="Keys every source inherits unless it sets them (e.g. engine, sslMode, taskGroups).",
    )
    sources: list[Source] = Field(min_length=1)
    assessments: Assessments = Field(default_factory=Assessments)
    decommissioned: StrictBool = Field(False, description="Remove DMS resources, keep the table and read switch.")

    @field_validator("task_settings")
    @classmethod
    def _settings_valid(cls, value: dict[str, Any]) -> dict[str, Any]:
        _validate_settings_layer(value)
        return value

    @model_validator(mode="before")
    @classmethod
    def _apply_source_defaults(cls, raw: Any) -> Any:
        # Many databases (seed 002: 250) share engine, SSL and task groups: declare them once.
        if (
            isinstance(raw, dict)
            and isinstance(raw.get("sourceDefaults"), dict)
            and isinstance(raw.get("sources"), list)
        ):
            defaults = raw["sourceDefaults"]
            raw = {**raw, "sources": [deep_merge(defaults, s) if isinstance(s, dict) else s for s in raw["sources"]]}
        return raw

    @model_validator(mode="after")
    def _cross_checks(self) -> MigrationConfig:
        names = [s.name for s in self.sources]
        for i, name in enumerate(names):
            if names.index(name) != i:
                raise _at(f"sources[{i}].name", f"'{name}' is used twice; source names must be unique")
        key_names = {k for k in (self.target.partition_key, self.target.sort_key) if k}
        sentinel = self.cutover.sentinel
        if sentinel is not None:
            if sentinel.source not in names:
                raise _at("cutover.sentinel.source", f"'{sentinel.source}' is not a source; use one of {names}")
            if set(sentinel.key) != key_names:
                raise _at("cutover.sentinel.key", f"must name exactly the table key attributes {sorted(key_names)}")
        for gsi_index, gsi in enumerate(self.target.global_secondary_indexes):
            if {gsi.partition_key, gsi.sort_key} & key_names and gsi.partition_key in key_names:
                raise _at(f"target.globalSecondaryIndexes[{gsi_index}].partitionKey", "must differ from the table key")
        for si, source in enumerate(self.sources):
            for gi, group in enumerate(source.task_groups):
                where = f"sources[{si}].taskGroups[{gi}]"
                spec = group.spec
                written = spec.attribute_names()
                for key in sorted(key_names):
                    if key not in written:
                        raise _at(
                            f"{where}.mapping",
                            f"mappings/{group.mapping}.yaml has no attribute '{key}', the table's key; add it",
                        )
                gsi_keys = {k for g in self.target.global_secondary_indexes for k in (g.partition_key, g.sort_key) if k}
                for key in sorted(key_names | gsi_keys):
                    mapped, declared = spec.attribute(key), self.target.attribute_type(key)
                    if mapped is None:
                        continue
                    if declared == "B":
                        raise _at(
                            f"target.attributeTypes.{key}",
                            f"B (binary): mappings/{group.mapping}.yaml writes {key} from a template, and DMS writes "
                            "no binary attribute to DynamoDB; declare S or N",
                        )
                    wrote = "N" if mapped.type == "number" else "S"
                    if wrote != declared:
                        raise _at(
                            f"target.attributeTypes.{key}",
                            f"{declared}, but mappings/{group.mapping}.yaml writes {key} as a {mapped.type}: DynamoDB "
                            f"refuses such an item; declare {wrote} or map it with type "
                            f"{'number' if declared == 'N' else 'string'}",
                        )
                if spec.source.object_type == "view" and group.engine == "serverless":
                    raise _at(
                        f"{where}.engine",
                        f"DMS Serverless does not support views and mappings/{group.mapping}.yaml maps the view "
                        f"{spec.source.schema_name}.{spec.source.object_name}: keep this group on engine: instance, "
                        "or map the base table",
                    )
                if group.engine == "serverless":
                    self._serverless_checks(source, where)
                if spec.source.object_type == "view" and group.migration_type != "full-load":
                    raise _at(
                        f"{where}.migrationType",
                        "DMS replicates views only in full-load tasks; use full-load or map the base table",
                    )
                last = len(group.ranges()) - 1
                for identifier, limit, kind in (
                    (self.task_id(source.name, group.name, last), facts.TASK_IDENTIFIER_MAX, "task identifier"),
                    (
                        self.task_resource_id(source.name, group.name, last),
                        facts.TASK_RESOURCE_IDENTIFIER_MAX,
                        "task resource identifier (ARN, metric dimension)",
                    ),
                ):
                    if len(identifier) > limit:
                        spare = limit - (len(identifier) - len(source.name) - len(group.name))
                        raise _at(
                            f"{where}.name",
                            f"{kind} '{identifier}' is {len(identifier)} characters and AWS allows {limit}; "
                            f"source and group names may have {max(spare, 0)} characters together here: "
                            "shorten them (or the service name)",
                        )
                try:
                    settings_with_overrides(self.task_settings, group.task_settings)
                except ValidationError as err:
                    first = err.errors()[0]
                    raise _at(f"{where}.taskSettings", _clean(first["msg"])) from None
        return self

    def _serverless_checks(self, source: Source, where: str) -> None:
        if source.engine not in facts.SERVERLESS_SOURCE_ENGINES:
            raise _at(
                f"{where}.engine",
                f"DMS Serverless does not support {source.engine} sources (it supports "
                f"{', '.join(sorted(facts.SERVERLESS_SOURCE_ENGINES))}); use engine: instance",
            )
        endpoints = self.network.vpc_endpoints
        for name in facts.SERVERLESS_REQUIRED_VPC_ENDPOINTS:
            if not endpoints.has(name):
                raise _at(
                    f"network.vpcEndpoints.{name}",
                    f"DMS Serverless reaches {'Secrets Manager' if name == 'secretsManager' else 'DynamoDB'} only "
                    f"through a VPC endpoint ({where} is serverless): set {name}: true, or list it in "
                    "network.vpcEndpoints.existing if the VPC has one",
                )

    @property
    def serverless_groups(self) -> list[tuple[Source, TaskGroup]]:
        """Task groups that run on DMS Serverless."""
        return [(s, g) for s in self.sources for g in s.task_groups if g.engine == "serverless"]

    def instance_slots(self) -> list[tuple[Source, TaskGroup, KeyRange]]:
        """Every partition that runs as a task on a replication instance, in declaration order."""
        return [(s, g, r) for s in self.sources for g in s.task_groups if g.engine == "instance" for r in g.ranges()]

    # Derived values: the one place names and environment-dependent defaults are decided.
    @property
    def is_prod(self) -> bool:
        return self.environment == "prod"

    @property
    def prefix(self) -> str:
        return f"{self.environment}-{self.service}"

    @property
    def multi_az(self) -> bool:
        return self.replication.multi_az if self.replication.multi_az is not None else self.is_prod

    @property
    def deletion_protection(self) -> bool:
        dp = self.target.deletion_protection
        return dp if dp is not None else self.is_prod

    @property
    def cutover_table(self) -> str:
        return f"{self.prefix}-dmsmig-cutover"

    def assessment_bucket(self, account_id: str) -> str:
        """The results bucket: S3 names are global, so the account is part of it (at most 55 characters)."""
        return f"{self.prefix}-dmsmig-assess-{account_id}"

    @property
    def read_switch_parameter(self) -> str:
        return self.read_switch.parameter_name or f"/{self.service}/{self.environment}/reads-from"

    @property
    def resource_prefix(self) -> str:
        """Prefix of the task resource identifiers, e.g. ``ordersvc-prd``: short, unique per stack."""
        return f"{self.service}-{ENVIRONMENT_ABBREVIATIONS[self.environment]}"

    def instance_id(self, index: int) -> str:
        """The ``ReplicationInstanceIdentifier`` of the stack's ``index``-th replication instance (from 0)."""
        return f"{self.prefix}-repl-{index + 1}"

    def task_id(self, source: str, group: str, index: int) -> str:
        """The task's ``ReplicationTaskIdentifier`` (readable, up to 255 characters)."""
        return f"{self.prefix}-{source}-{group}-p{index + 1}"

    def task_resource_id(self, source: str, group: str, index: int) -> str:
        """The task's ``ResourceIdentifier``: the end of its ARN and its CloudWatch dimension (31 max)."""
        return f"{self.resource_prefix}-{source}-{group}-p{index + 1}"

    def settings_for(self, group: TaskGroup) -> TaskSettings:
        return settings_with_overrides(self.task_settings, group.task_settings)

    def task_count(self) -> int:
        return sum(len(g.ranges()) for s in self.sources for g in s.task_groups)

    def all_tags(self) -> dict[str, str]:
        return {"Environment": self.environment, "Service": self.service, "ManagedBy": "pulumi", **self.tags}


class StackConfig(_Model):
    """A whole stack file: the AWS region and the migration object."""

    region: str = Field(pattern=r"^[a-z]{2}(-gov)?-[a-z]+-\d$")
    migration: MigrationConfig

    @field_validator("region")
    @classmethod
    def _dms_runs_there(cls, value: str) -> str:
        if value not in facts.DMS_REGIONS:
            raise ValueError(f"'{value}' is not a region AWS DMS runs in (fact dms-regions); e.g. eu-west-1")
        return value


def _join(loc: tuple) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
    return out


PATTERN_HINTS = {
    "instanceClass": "a DMS instance class such as dms.t3.medium or dms.r5.2xlarge",
    "engineVersion": "a DMS engine version such as 3.5.4",
    "vpcId": "a VPC id such as vpc-0a1b2c3d4e5f60718",
    "kmsKeyArn": "a KMS key ARN (arn:aws:kms:<region>:<account>:key/<id>)",
    "preferredMaintenanceWindow": "a window such as sun:10:30-sun:14:30",
    "tableName": "a DynamoDB table name (3-255 of A-Z a-z 0-9 _ . -)",
    "name": "a lowercase name such as orders or auth-events (letters, digits, single hyphens)",
    "service": "a lowercase name such as ordersvc",
    "arn": "a Secrets Manager secret ARN",
    "certificateArn": "a DMS certificate ARN (arn:aws:dms:<region>:<account>:cert:<id>)",
    "alarmEmail": "an email address",
    "parameterName": "an SSM parameter path such as /ordersvc/prod/reads-from",
    "region": "an AWS region such as eu-west-1",
}


def _format_error(err: Any, root: str) -> str:
    path = _join((root, *err["loc"]) if root else err["loc"])
    if not root and tuple(err["loc"]) == ("region",):
        path = "aws:region"  # the key as the stack file spells it
    message = error_message(err)
    if err["type"] == "extra_forbidden":
        message = "unknown key; remove it or check the spelling (see docs/config-reference.md)"
    elif err["type"] == "missing":
        message = "required key is missing"
    elif err["type"] == "string_pattern_mismatch":
        key = next((str(p) for p in reversed(err["loc"]) if isinstance(p, str)), "")
        hint = PATTERN_HINTS.get(key, f"the pattern {err.get('ctx', {}).get('pattern')}")
        message = f"{err.get('input')!r} is not {hint}"
    if message.startswith("@"):
        sub, _, message = message[1:].partition(": ")
        path = path + (sub if sub.startswith("[") else "." + sub)
    return f"{path}: {message}"


def _find_password_keys(value: Any, path: str) -> list[str]:
    found: list[str] = []
    if isinstance(value, dict):
        for key, child in value.items():
            child_path = f"{path}.{key}"
            if PASSWORD_KEY.search(str(key)):
                found.append(
                    f"{child_path}: secrets are never accepted in config; store the password in Secrets Manager "
                    "(python -m dmsmig bootstrap-secret) and reference it with 'secret: {name: ...}'"
                )
            elif isinstance(child, dict) and "secure" in child:
                found.append(f"{child_path}: encrypted config values are not used; reference a Secrets Manager secret")
            else:
                found.extend(_find_password_keys(child, child_path))
    elif isinstance(value, list):
        for i, child in enumerate(value):
            found.extend(_find_password_keys(child, f"{path}[{i}]"))
    return found


def _find_password_attributes(raw: Any) -> list[str]:
    problems = []
    sources = raw.get("sources") if isinstance(raw, dict) else None
    for si, source in enumerate(sources if isinstance(sources, list) else []):
        attrs = source.get("extraConnectionAttributes") if isinstance(source, dict) else None
        if isinstance(attrs, str) and re.search(r"(^|;)\s*(password|pwd)\s*=", attrs, re.IGNORECASE):
            problems.append(
                f"migration.sources[{si}].extraConnectionAttributes: contains a password; remove it, "
                "DMS reads credentials from the Secrets Manager secret"
            )
    return problems


def parse_migration(raw: Any, region: str, source: str = "stack config") -> StackConfig:
    """Validate a raw ``migration`` object; raise :class:`ConfigError` listing every problem."""
    if not isinstance(raw, dict):
        raise ConfigError([f"{CONFIG_KEY}: must be a mapping of keys (see docs/config-reference.md)"], source)
    problems = _find_password_keys(raw, CONFIG_KEY) + _find_password_attributes(raw)
    try:
        config = StackConfig.model_validate({"region": region, "migration": raw})
    except ValidationError as err:
        # every problem in one run: the password findings, then the model's (less those at the same keys)
        flagged = {p.split(":", 1)[0] for p in problems}
        problems += [f for f in (_format_error(e, "") for e in err.errors()) if f.split(":", 1)[0] not in flagged]
    if problems:
        raise ConfigError(problems, source)
    return config


def project_name(project_dir: Path = PROJECT_DIR) -> str:
    """The ``name`` in Pulumi.yaml."""
    if not project_dir.is_dir():
        raise ConfigError([f"{project_dir}: not a folder; pass --project-dir <folder with Pulumi.yaml>"], "Pulumi.yaml")
    path = project_dir / "Pulumi.yaml"
    if not path.is_file():
        raise ConfigError(
            [f"{path}: not found; run from the project folder or pass --project-dir <folder with Pulumi.yaml>"],
            "Pulumi.yaml",
        )
    document = read_yaml(path)
    name = document.get("name") if isinstance(document, dict) else None
    if not isinstance(name, str) or not name:
        raise ConfigError([f"{path}: has no 'name:'; add the project name (e.g. name: dms-migration)"], "Pulumi.yaml")
    return name


STACK_NAME_MAX = 100


def stack_name_problem(stack: str) -> str | None:
    """Why ``stack`` cannot name a stack file, or None. Pulumi's stack names: letters, digits, '-', '_' and '.',
    at most 100 characters; the stack file is ``Pulumi.<name>.yaml`` (the short name, not org/project/name)."""
    if "/" in stack or "\\" in stack:
        short = stack.replace("\\", "/").rsplit("/", 1)[-1]
        return f"{stack[:60]!r} is a path or a qualified name; pass the stack's short name (e.g. {short[:40]!r})"
    if not stack or len(stack) > STACK_NAME_MAX:
        return f"a stack name has 1 to {STACK_NAME_MAX} characters, not {len(stack)}"
    if not re.fullmatch(r"[A-Za-z0-9_.-]+", stack) or stack in (".", ".."):
        return f"{stack!r} may hold only letters, digits, '-', '_' and '.' (Pulumi stack names)"
    return None


def read_stack_file(stack: str, project_dir: Path = PROJECT_DIR) -> dict[str, Any]:
    """The ``config:`` map of ``Pulumi.<stack>.yaml``."""
    problem = stack_name_problem(stack)
    if problem:
        raise ConfigError([f"--stack: {problem}"], "--stack")
    path = project_dir / f"Pulumi.{stack}.yaml"
    if not path.exists():
        stacks = sorted(p.name.split(".")[1] for p in project_dir.glob("Pulumi.*.yaml"))
        raise ConfigError([f"stack '{stack}': {path.name} not found (stacks here: {', '.join(stacks)})"], path.name)
    document = read_yaml(path)
    if document is None:
        document = {}
    if not isinstance(document, dict):
        raise ConfigError(
            [f"{path.name}: holds a YAML {type(document).__name__}; a stack file is a mapping with a 'config:' key"],
            path.name,
        )
    config = document.get("config") or {}
    if not isinstance(config, dict):
        raise ConfigError([f"{path.name}: 'config:' must be a mapping of keys"], path.name)
    return config


def load_stack_config(stack: str, project_dir: Path = PROJECT_DIR) -> StackConfig:
    """Read and validate ``Pulumi.<stack>.yaml`` without the Pulumi CLI."""
    project = project_name(project_dir)
    config = read_stack_file(stack, project_dir)
    return config_from_map(config, project, f"Pulumi.{stack}.yaml")


def _passwords_beside_migration(config: dict[str, Any], migration_key: str) -> list[str]:
    """Password-like keys anywhere else in the stack file, plain or ``secure:``."""
    return [
        f"{key}: a password cannot sit in a stack file (plain or secure:); {BOOTSTRAP_FIX}"
        for key in config
        if key != migration_key and PASSWORD_KEY.search(str(key).split(":", 1)[-1])
    ]


def config_from_map(config: dict[str, Any], project: str, source: str) -> StackConfig:
    """Validate a stack's flat config map (``aws:region``, ``<project>:migration``)."""
    region = config.get("aws:region")
    key = f"{project}:{CONFIG_KEY}"
    beside = _passwords_beside_migration(config, key)
    if beside:
        raise ConfigError(beside, source)
    unknown = [k for k in config if str(k).startswith(f"{project}:") and k != key]
    if unknown:
        raise ConfigError(
            [f"{k}: unknown key; this program reads only {key} (move it inside the migration object)" for k in unknown],
            source,
        )
    if key not in config:
        raise ConfigError([f"{key}: missing; add the migration object to {source}"], source)
    if not region:
        raise ConfigError(["aws:region: missing; set it with pulumi config set aws:region <region>"], source)
    return parse_migration(config[key], region, source)
