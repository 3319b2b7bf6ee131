"""The typed stack configuration: one pydantic model read at program start.

``Pulumi.<stack>.yaml`` holds ``aws:region`` and one structured key ``<project>:migration``.
Defaults and validation live here and nowhere else; invalid config raises :class:`ConfigError`
whose lines each name the key path and the fix, e.g.
``migration.sources[0].taskGroups[0].partitions.boundaries: must be strictly increasing``.
"""

from __future__ import annotations

import re
from functools import cached_property
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from dmsmig.config.errors import ConfigError
from dmsmig.config.mapping_spec import MappingSpec, load_mapping_spec
from dmsmig.config.partitions import KeyRange, equal_width_boundaries, ranges_from_boundaries
from dmsmig.config.task_settings import TaskSettings, deep_merge, settings_with_overrides
from dmsmig.config.yaml_files import read_yaml
from dmsmig.contract import facts

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


VpcEndpointName = Literal["secretsManager", "dynamodb"]


class VpcEndpoints(_Model):
    """VPC endpoints a private replication instance needs when its subnets have no NAT (Serverless always)."""

    secrets_manager: bool = Field(
        False,
        alias="secretsManager",
        description="Interface endpoint for Secrets Manager (private DNS) in the stack's subnets and security groups.",
    )
    dynamodb: bool = Field(False, description="Gateway endpoint for DynamoDB on network.routeTableIds.")
    existing: list[VpcEndpointName] = Field(
        default_factory=list,
        description="Endpoints the VPC already has (not created here): secretsManager, dynamodb.",
    )

    @model_validator(mode="after")
    def _created_or_existing(self) -> VpcEndpoints:
        for name in self.existing:
            if self.has(name) and getattr(self, _ENDPOINT_FIELDS[name]):
                raise _at(
                    "existing",
                    f"'{name}' is listed as existing and also created ({name}: true); a VPC takes one "
                    f"{name} endpoint with private DNS: keep one of them",
                )
        return self

    def has(self, name: str) -> bool:
        """The VPC has this endpoint: created by the stack or listed as existing."""
        return name in self.existing or bool(getattr(self, _ENDPOINT_FIELDS[name]))


_ENDPOINT_FIELDS = {"secretsManager": "secrets_manager", "dynamodb": "dynamodb"}


class Network(_Model):
    """Where the replication instances run. They are always private."""

    vpc_id: str = Field(alias="vpcId", pattern=r"^vpc-[0-9a-f]{8,17}$", description="VPC of the subnets.")
    subnet_ids: list[str] = Field(alias="subnetIds", description="Private subnets in 2+ AZs.")
    security_group_ids: list[str] = Field(alias="securityGroupIds", min_length=1, description="Security groups.")
    vpc_endpoints: VpcEndpoints = Field(
        default_factory=VpcEndpoints,
        alias="vpcEndpoints",
        description="Create the endpoints DMS needs without a NAT (reading the secret, writing DynamoDB).",
    )
    route_table_ids: list[str] = Field(
        default_factory=list,
        alias="routeTableIds",
        description="Route tables of the subnets (DynamoDB gateway endpoint).",
    )

    @field_validator("route_table_ids")
    @classmethod
    def _route_tables_look_like_ids(cls, value: list[str]) -> list[str]:
        return _ids_like(value, "rtb", "route table id")

    @model_validator(mode="after")
    def _gateway_needs_route_tables(self) -> Network:
        if self.vpc_endpoints.dynamodb and not self.route_table_ids:
            raise _at("routeTableIds", "required with vpcEndpoints.dynamodb: list the route tables of the subnets")
        return self

    @field_validator("subnet_ids")
    @classmethod
    def _subnets_look_like_ids(cls, value: list[str]) -> list[str]:
        if len(value) < 2:
            raise ValueError("DMS needs a subnet group over at least 2 subnets in different AZs; add another")
        _ids_like(value, "subnet", "subnet id")
        if len(set(value)) != len(value):
            raise ValueError("subnet ids must be distinct")
        return value

    @field_validator("security_group_ids")
    @classmethod
    def _groups_look_like_ids(cls, value: list[str]) -> list[str]:
        return _ids_like(value, "sg", "security group id")


class Replication(_Model):
    """The replication instance(s) and their subnet group."""

    instance_class: str = Field(
        "dms.t3.medium",
        alias="instanceClass",
        pattern=r"^dms\.[a-z][a-z0-9]*\.(micro|small|medium|large|[0-9]*xlarge)$",
        description="DMS instance class (t3.medium < 100 GB, r5.large to 1 TB, r5.2xlarge beyond); preflight "
        "checks it is orderable with engineVersion in the region.",
    )
    allocated_storage: int = Field(50, alias="allocatedStorage", ge=5, le=6144, description="GiB.")
    engine_version: str = Field(
        "3.5.4", alias="engineVersion", pattern=r"^\d+\.\d+\.\d+$", description="DMS engine version."
    )
    multi_az: bool | None = Field(None, alias="multiAz", description="Default: true in prod, else false.")
    publicly_accessible: bool = Field(False, alias="publiclyAccessible", description="Keep false.")
    auto_minor_version_upgrade: bool = Field(
        True, alias="autoMinorVersionUpgrade", description="Take minor engine upgrades in the maintenance window."
    )
    kms_key_arn: str | None = Field(
        None,
        alias="kmsKeyArn",
        pattern=r"^arn:aws[a-z-]*:kms:",
        description="Existing KMS key for instance, endpoints, topic and table; unset creates one.",
    )
    maintenance_window: str = Field(
        "sun:10:30-sun:14:30",
        alias="preferredMaintenanceWindow",
        pattern=r"^(mon|tue|wed|thu|fri|sat|sun):\d\d:\d\d-(mon|tue|wed|thu|fri|sat|sun):\d\d:\d\d$",
        description="Weekly maintenance window (UTC), ddd:hh:mm-ddd:hh:mm.",
    )
    create_account_roles: bool = Field(
        False, alias="createAccountRoles", description="Create dms-vpc-role and dms-cloudwatch-logs-role."
    )
    max_tasks_per_instance: int = Field(
        200,
        alias="maxTasksPerInstance",
        ge=1,
        le=200,
        description="Tasks per instance (DMS limit 200); more tasks add instances.",
    )


class GlobalSecondaryIndex(_Model):
    """A global secondary index of the target table (key types from target.attributeTypes, S by default)."""

    name: str = Field(pattern=r"^[A-Za-z0-9_.-]{3,255}$", description="Index name.")
    partition_key: str = Field(alias="partitionKey", description="Attribute of the index partition key.")
    sort_key: str | None = Field(None, alias="sortKey", description="Attribute of the index sort key.")
    projection: Literal["ALL", "KEYS_ONLY"] = Field("ALL", description="Attributes copied into the index.")


MAX_UNITS_PER_SECOND = 40_000_000  # far above any account quota: refuses typos, not real tables


class WarmThroughput(_Model):
    """Pre-warmed throughput of the target table (DynamoDB warm throughput), for the load."""

    write_units_per_second: int | None = Field(
        None,
        alias="writeUnitsPerSecond",
        ge=facts.WARM_THROUGHPUT_MIN_WRITES,
        le=MAX_UNITS_PER_SECOND,
        description="Writes/s the table (and each GSI) serves from the start; the provider takes 4,000 or more.",
    )
    read_units_per_second: int | None = Field(
        None,
        alias="readUnitsPerSecond",
        ge=facts.WARM_THROUGHPUT_MIN_READS,
        le=MAX_UNITS_PER_SECOND,
        description="Reads/s the table serves from the start (validation); the provider takes 12,000 or more.",
    )


class Target(_Model):
    """The DynamoDB table the events land in (created by this stack)."""

    table_name: str = Field(alias="tableName", pattern=r"^[A-Za-z0-9_.-]{3,255}$", description="Table name.")
    partition_key: str = Field(
        "PK",
        alias="partitionKey",
        description="Partition key attribute (attributeTypes: S by default); the mapping must write it.",
    )
    sort_key: str | None = Field(
        "SK",
        alias="sortKey",
        description="Sort key attribute (S by default); null for none; the mapping must write it.",
    )
    billing_mode: Literal["PAY_PER_REQUEST", "PROVISIONED"] = Field(
        "PAY_PER_REQUEST", alias="billingMode", description="On-demand avoids throttling during the load (seed 000)."
    )
    read_capacity: int | None = Field(None, alias="readCapacity", ge=1, description="PROVISIONED only.")
    write_capacity: int | None = Field(None, alias="writeCapacity", ge=1, description="PROVISIONED only.")
    global_secondary_indexes: list[GlobalSecondaryIndex] = Field(default_factory=list, alias="globalSecondaryIndexes")
    ttl_attribute: str | None = Field(
        None, alias="ttlAttribute", description="Attribute holding the expiry epoch seconds."
    )
    point_in_time_recovery: bool = Field(
        True, alias="pointInTimeRecovery", description="Continuous backups of the table."
    )
    deletion_protection: bool | None = Field(None, alias="deletionProtection", description="Default: prod only.")
    encryption: Literal["aws-managed", "customer-managed"] = Field(
        "aws-managed", description="customer-managed uses the stack's KMS key."
    )
    warm_throughput: WarmThroughput | None = Field(
        None,
        alias="warmThroughput",
        description="Pre-warm the table for the load (plan says how much and when; charged by DynamoDB).",
    )
    attribute_types: dict[str, Literal["S", "N", "B"]] = Field(
        default_factory=dict,
        alias="attributeTypes",
        description="Types of key attributes (table and GSI keys) that are not strings, e.g. {SK: N}; the mapping "
        "must write them with that type (a number attribute for N).",
    )

    def attribute_type(self, name: str) -> str:
        """The DynamoDB type of key attribute ``name`` (S unless attributeTypes says otherwise)."""
        return self.attribute_types.get(name, "S")

    @model_validator(mode="after")
    def _capacity_matches_billing(self) -> Target:
        if self.billing_mode == "PROVISIONED":
            for key, value in (("readCapacity", self.read_capacity), ("writeCapacity", self.write_capacity)):
                if value is None:
                    raise _at(key, "required when billingMode is PROVISIONED (or use PAY_PER_REQUEST)")
        else:
            for key, value in (("readCapacity", self.read_capacity), ("writeCapacity", self.write_capacity)):
                if value is not None:
                    raise _at(key, "only applies to billingMode PROVISIONED; remove it")
        names = [g.name for g in self.global_secondary_indexes]
        if len(set(names)) != len(names):
            raise _at("globalSecondaryIndexes", "index names must be unique")
        return self


class ReadSwitch(_Model):
    """Where applications read from; published as an SSM parameter and flipped at cutover."""

    reads_from: Literal["source", "dynamodb"] = Field(
        "source", alias="readsFrom", description="Set by the cutover and rollback commands."
    )
    parameter_name: str | None = Field(
        None, alias="parameterName", pattern=r"^/[A-Za-z0-9_./-]+$", description="Default /<service>/<env>/reads-from."
    )


class Monitoring(_Model):
    """Notification topic, alarms and dashboard."""

    alarm_email: str | None = Field(
        None,
        alias="alarmEmail",
        pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$",
        description="Email subscribed to the alert topic (confirm the subscription mail).",
    )
    cdc_latency_threshold_seconds: int = Field(
        300, alias="cdcLatencyThresholdSeconds", ge=1, description="CDC latency alarm threshold."
    )
    alarm_period_seconds: int = Field(
        60,
        alias="alarmPeriodSeconds",
        ge=facts.ALARM_PERIOD_STANDARD_MULTIPLE,
        multiple_of=facts.ALARM_PERIOD_STANDARD_MULTIPLE,
        description="Alarm period in seconds; a multiple of 60 (DMS metrics have standard resolution).",
    )
    evaluation_periods: int = Field(
        5, alias="evaluationPeriods", ge=1, description="Periods above threshold before the latency alarm fires."
    )
    dashboard: bool = Field(True, description="Create a CloudWatch dashboard of the tasks.")


class SecretRef(_Model):
    """A Secrets Manager secret holding the source credentials, by ARN or by name (not both)."""

    arn: str | None = Field(
        None, pattern=r"^arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:\d{12}:secret:.+", description="Secret ARN."
    )
    name: str | None = Field(
        None, pattern=r"^[A-Za-z0-9/_+=.@-]{1,512}$", description="Secret name (looked up at deploy time)."
    )
    kms_key_arn: str | None = Field(
        None,
        alias="kmsKeyArn",
        pattern=r"^arn:aws[a-z-]*:kms:",
        description="Key of the secret, if not aws/secretsmanager.",
    )

    @model_validator(mode="after")
    def _exactly_one(self) -> SecretRef:
        if (self.arn is None) == (self.name is None):
            raise ValueError("set exactly one of 'arn' or 'name' for the Secrets Manager secret")
        return self


# Partition keys are integer key columns: at most a 64-bit BIGINT (SQL Server, PostgreSQL; Oracle NUMBER(19)).
KEY_MIN, KEY_MAX = -(2**63), 2**63 - 1


class Partitions(_Model):
    """Explicit inner boundaries, or a count with min/max for equal-width ranges."""

    boundaries: list[Annotated[int, Field(ge=KEY_MIN, le=KEY_MAX)]] | None = Field(
        None, description="Inner boundaries b1<b2<...: ranges (-inf,b1), [b1,b2), ..., [bn,+inf)."
    )
    count: int | None = Field(
        None, ge=1, le=200, description="Number of equal-width ranges over min..max (unset: one task, no filter)."
    )
    min: int | None = Field(None, ge=KEY_MIN, le=KEY_MAX, description="Smallest expected key (with count > 1).")
    max: int | None = Field(
        None,
        ge=KEY_MIN,
        le=KEY_MAX,
        description="Largest expected key (with count > 1); larger keys still land in the last range.",
    )

    @model_validator(mode="after")
    def _one_way_to_partition(self) -> Partitions:
        if self.boundaries is not None:
            if self.count is not None or self.min is not None or self.max is not None:
                raise ValueError("use either 'boundaries' or 'count' with 'min'/'max', not both")
            for i, (a, b) in enumerate(zip(self.boundaries, self.boundaries[1:])):
                if b <= a:
                    raise _at("boundaries", f"must be strictly increasing (item {i + 1} is {b}, after {a})")
            return self
        count = self.count or 1
        if count > 1 and (self.min is None or self.max is None):
            raise ValueError("'count' above 1 needs 'min' and 'max' of the key column (or give 'boundaries')")
        if self.min is not None and self.max is not None:
            if self.max < self.min:
                raise _at("max", f"must be at least min ({self.min})")
            if count > self.max - self.min + 1:
                raise _at("count", f"{count} partitions do not fit in the key span {self.min}..{self.max}")
        return self

    def ranges(self) -> list[KeyRange]:
        """Contiguous, disjoint ranges covering the whole key space."""
        if self.boundaries is not None:
            return ranges_from_boundaries(self.boundaries)
        count = self.count or 1
        if count == 1:
            return ranges_from_boundaries([])
        return ranges_from_boundaries(equal_width_boundaries(count, self.min, self.max))  # type: ignore[arg-type]


class Estimate(_Model):
    """Expected size of a task group's source object, for the plan's duration and cost estimate."""

    rows: int = Field(ge=0, le=KEY_MAX, description="Rows in the source object (plan-partitions writes it).")
    average_row_bytes: int = Field(
        1024,
        alias="averageRowBytes",
        ge=1,
        le=409_600,
        description="Average row size in bytes (an item: 400 KB at most).",
    )
    source_rows_per_second: int | None = Field(
        None,
        alias="sourceRowsPerSecond",
        ge=1,
        le=1_000_000_000,
        description="Rows/s the source delivers to all partitions together (measured); unset: not modelled.",
    )


class ServerlessCapacity(_Model):
    """DMS capacity units (DCU, 2 GiB each) a Serverless replication scales between."""

    min_capacity_units: int | None = Field(
        None,
        alias="minCapacityUnits",
        description=f"Lowest DCU (one of {', '.join(map(str, facts.SERVERLESS_CAPACITY_UNITS))}); unset: DMS decides.",
    )
    max_capacity_units: int = Field(alias="maxCapacityUnits", description="Highest DCU; required by DMS (same values).")

    @field_validator("min_capacity_units", "max_capacity_units")
    @classmethod
    def _valid_units(cls, value: int | None) -> int | None:
        if value is not None and value not in facts.SERVERLESS_CAPACITY_UNITS:
            raise ValueError(
                f"{value} is not a DMS capacity unit value; use one of "
                f"{', '.join(map(str, facts.SERVERLESS_CAPACITY_UNITS))}"
            )
        return value

    @model_validator(mode="after")
    def _min_below_max(self) -> ServerlessCapacity:
        if self.min_capacity_units is not None and self.min_capacity_units > self.max_capacity_units:
            raise _at(
                "minCapacityUnits", f"{self.min_capacity_units} is above maxCapacityUnits {self.max_capacity_units}"
            )
        return self


class TaskGroup(_Model):
    """N partitioned tasks over one source object, mapped by one spec in mappings/."""

    name: str = Field(pattern=NAME_PATTERN, description="Lowercase group name, part of the task ids.")
    mapping: str = Field(description="Spec name: mappings/<mapping>.yaml.")
    migration_type: str = Field(
        "full-load",
        alias="migrationType",
        description=f"DMS migration type: {', '.join(facts.MIGRATION_TYPES)}; views support full-load only.",
    )
    partitions: Partitions = Field(default_factory=Partitions)
    task_settings: dict[str, Any] = Field(
        default_factory=dict, alias="taskSettings", description="Overrides applied on top of migration.taskSettings."
    )

    estimate: Estimate | None = Field(None, description="Expected rows and row size, for the plan estimate.")
    engine: Literal["instance", "serverless"] = Field(
        "instance",
        description="instance: tasks on the stack's replication instances; serverless: one DMS Serverless "
        "replication per partition (see Choosing instances or Serverless).",
    )
    capacity: ServerlessCapacity | None = Field(
        None, description="engine serverless only: minCapacityUnits/maxCapacityUnits of each replication."
    )
    cdc_start_position: str | None = Field(
        None,
        alias="cdcStartPosition",
        min_length=1,
        description="Where CDC starts (date, checkpoint or LSN/SCN); migrationType cdc on instances only.",
    )

    @field_validator("mapping")
    @classmethod
    def _spec_exists(cls, value: str) -> str:
        try:
            load_mapping_spec(value)
        except FileNotFoundError as err:
            raise ValueError(str(err)) from None
        except ConfigError as err:
            raise ValueError(f"mappings/{err.problems[0]}") from None
        except ValidationError as err:
            first = err.errors()[0]
            where = ".".join(str(p) for p in first["loc"])
            at = f" at {where}" if where else ""
            raise ValueError(f"mappings/{value}.yaml is invalid{at}: {_clean(first['msg'])}") from None
        return value

    @field_validator("migration_type")
    @classmethod
    def _known_migration_type(cls, value: str) -> str:
        if value not in facts.MIGRATION_TYPES:
            hint = "; for changes only use cdc" if value == "cdc-only" else ""
            raise ValueError(f"'{value}' is not a DMS migration type (use {', '.join(facts.MIGRATION_TYPES)}){hint}")
        return value

    @field_validator("task_settings")
    @classmethod
    def _settings_valid(cls, value: dict[str, Any]) -> dict[str, Any]:
        _validate_settings_layer(value)
        return value

    @model_validator(mode="after")
    def _engine_rules(self) -> TaskGroup:
        if self.cdc_start_position is not None and self.migration_type != facts.CDC_ONLY:
            raise _at(
                "cdcStartPosition",
                f"a CDC start point applies to migrationType cdc (this group is {self.migration_type}); "
                "remove it or use migrationType: cdc",
            )
        if self.engine == "instance":
            if self.capacity is not None:
                raise _at("capacity", "applies only to engine: serverless; remove it (or set engine: serverless)")
            return self
        if self.capacity is None:
            raise _at(
                "capacity",
                "required with engine: serverless: set maxCapacityUnits (DMS requires it) and optionally "
                "minCapacityUnits",
            )
        if self.cdc_start_position is not None:
            raise _at(
                "cdcStartPosition",
                "DMS Serverless does not support custom CDC start points; remove it or run this group on "
                "instances (engine: instance)",
            )
        return self

    @model_validator(mode="after")
    def _no_cdc_sections_on_full_load(self) -> TaskGroup:
        if self.migration_type == facts.FULL_LOAD_ONLY:
            for section in facts.CDC_ONLY_SECTIONS:
                if section in self.task_settings:
                    raise _at(
                        f"taskSettings.{section}",
                        "applies only to CDC and this group is full-load; remove it (or change migrationType)",
                    )
        return self

    @cached_property
    def spec(self) -> MappingSpec:
        """The loaded mapping spec."""
        return load_mapping_spec(self.mapping)

    def ranges(self) -> list[KeyRange]:
        return self.partitions.ranges()


class Source(_Model):
    """A source database endpoint and the task groups reading from it."""

    name: str = Field(pattern=NAME_PATTERN, description="Lowercase source name, part of endpoint and task ids.")
    engine: Literal["sqlserver", "oracle", "mysql", "postgres"] = Field(description="DMS source engine.")
    database_name: str = Field(alias="databaseName", min_length=1, description="Database name (Oracle: service name).")
    server_name: str | None = Field(None, alias="serverName", description="Host, used by bootstrap/validate.")

    @field_validator("server_name")
    @classmethod
    def _no_credentials_in_host(cls, value: str | None) -> str | None:
        if value is not None and ("@" in value or "//" in value):
            raise ValueError(
                "holds more than a host name (user:password@host?): credentials never go in config; " + BOOTSTRAP_FIX
            )
        return value

    port: int | None = Field(None, ge=1, le=65535, description="Default per engine.")
    secret: SecretRef
    ssl_mode: str | None = Field(
        None,
        alias="sslMode",
        description=(
            "TLS to the source: "
            + "; ".join(f"{e} {', '.join(m)} (default {facts.SSL_DEFAULT[e]})" for e, m in facts.SSL_SUPPORT.items())
            + ". verify-ca/verify-full need certificateArn."
        ),
    )
    certificate_arn: str | None = Field(
        None,
        alias="certificateArn",
        pattern=r"^arn:aws[a-z-]*:dms:",
        description="DMS certificate of the source's CA (.pem); for Oracle, the imported Oracle wallet (.sso).",
    )
    extra_connection_attributes: str | None = Field(
        None, alias="extraConnectionAttributes", description="e.g. useLogMinerReader=N;useBfile=Y; never credentials."
    )
    task_groups: list[TaskGroup] = Field(alias="taskGroups", min_length=1)

    @model_validator(mode="after")
    def _source_rules(self) -> Source:
        supported = facts.SSL_SUPPORT[self.engine]
        if self.ssl_mode is not None and self.ssl_mode not in supported:
            raise _at(
                "sslMode",
                f"{self.ssl_mode!r} is not supported by DMS for {self.engine}; use one of {', '.join(supported)}",
            )
        mode = self.effective_ssl_mode
        if mode in facts.SSL_NEEDS_CERTIFICATE and not self.certificate_arn:
            what = "the Oracle wallet (.sso) imported" if self.engine == "oracle" else "the source's CA imported"
            default = "" if self.ssl_mode else f" (the {self.engine} default)"
            raise _at(
                "certificateArn",
                f"required with sslMode {mode}{default}; set it to {what} as a DMS certificate, "
                "or set sslMode: none explicitly",
            )
        names = [g.name for g in self.task_groups]
        for i, name in enumerate(names):
            if names.index(name) != i:
                raise _at(f"taskGroups[{i}].name", f"'{name}' is used twice in this source")
        return self

    @property
    def effective_port(self) -> int:
        return self.port or DEFAULT_PORTS[self.engine]

    @property
    def effective_ssl_mode(self) -> str:
        """``sslMode``, or the engine's default (the strongest mode DMS supports for it)."""
        return self.ssl_mode or facts.SSL_DEFAULT[self.engine]

    @property
    def endpoint_database_name(self) -> str | None:
        """The database name sent to DMS: none for engines where AWS says not to send it (MySQL)."""
        return None if self.engine in facts.ENGINES_WITHOUT_DATABASE_NAME else self.database_name


class Sentinel(_Model):
    """A marker row written at the source after writes stop; the cutover waits to see it in DynamoDB.

    The gh-ost idea for DMS: it proves the change stream has drained up to that point.
    """

    source: str = Field(description="Name of the source to write it to (a CDC task group's source).")
    insert_sql: str = Field(alias="insertSql", description="INSERT with a :token parameter, into a CDC-captured table.")
    delete_sql: str = Field(
        alias="deleteSql",
        description="DELETE of that row by :token; the cutover's finish step runs it (the row lives at the "
        "source from cdc-drained until finish) and deletes its item in DynamoDB.",
    )
    key: dict[str, str] = Field(
        description="DynamoDB key of the resulting item; {token} is replaced, e.g. evt#{token}."
    )
    timeout_seconds: int = Field(300, alias="timeoutSeconds", ge=0, description="How long to wait for it.")

    @field_validator("insert_sql", "delete_sql")
    @classmethod
    def _has_token(cls, value: str) -> str:
        if ":token" not in value:
            raise ValueError("must use the :token parameter so each run's marker is unique")
        return value


class Cutover(_Model):
    """Cutover gates and finish behaviour."""

    cdc_latency_max_seconds: int = Field(
        60, alias="cdcLatencyMaxSeconds", ge=0, description="Preconditions: CDC tasks must be below this latency."
    )
    quiesce_check_sql: str | None = Field(
        None,
        alias="quiesceCheckSql",
        description="Query returning 0 when source writes have stopped; else the operator confirms.",
    )
    samples: int = Field(20, ge=0, description="Rows deep-checked per partition in the final validation.")
    final_validation: Literal["sampled", "full"] = Field(
        "sampled",
        alias="finalValidation",
        description="Final-validation gate: counts and samples, or `full` (every item, as validate --full).",
    )
    monitor_minutes: int = Field(15, alias="monitorMinutes", ge=0, description="Alarms must stay quiet this long.")
    keep_cdc_running: bool = Field(
        True, alias="keepCdcRunning", description="Finish leaves CDC tasks running for fail-back (seed 001)."
    )
    fail_back_window_hours: int = Field(
        72, alias="failBackWindowHours", ge=0, description="Decommission waits this long after the cutover finished."
    )
    sentinel: Sentinel | None = Field(None, description="Marker row proving CDC drained (CDC task groups).")
    evidence_max_age_minutes: int = Field(
        30,
        alias="evidenceMaxAgeMinutes",
        ge=1,
        le=1440,
        description="A resumed run checks the gates before switch-reads again when their evidence is older.",
    )


class Assessments(_Model):
    """DMS premigration assessment runs (preflight --assess) and the private bucket their results land in."""

    enabled: bool = Field(False, description="Create the results bucket and role; preflight --assess runs them.")
    results_expire_days: int = Field(
        90, alias="resultsExpireDays", ge=1, le=3650, description="Days before result files are deleted."
    )
    include_only: list[str] = Field(
        default_factory=list,
        alias="includeOnly",
        description="Run only these individual assessments (API names); empty: all that apply.",
    )
    exclude: list[str] = Field(default_factory=list, description="Individual assessments to skip (API names).")

    @field_validator("include_only", "exclude")
    @classmethod
    def _api_names(cls, value: list[str]) -> list[str]:
        for i, name in enumerate(value):
            if not re.match(r"^[a-z0-9]+(-[a-z0-9]+)*$", name):
                raise _at(f"[{i}]", f"'{name}' is not an assessment API name such as unsupported-data-types-in-source")
        return value

    @model_validator(mode="after")
    def _include_or_exclude(self) -> Assessments:
        if self.include_only and self.exclude:
            raise _at("exclude", "DMS takes includeOnly or exclude, not both; keep one")
        return self


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
    decommissioned: bool = Field(False, description="Remove DMS resources, keep the table and read switch.")

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


def _validate_settings_layer(layer: dict[str, Any]) -> None:
    try:
        settings_with_overrides(layer)
    except ValidationError as err:
        first = err.errors()[0]
        loc = ".".join(str(p) for p in first["loc"])
        message = _clean(first["msg"])
        if first["type"] == "extra_forbidden":
            message = "unknown DMS task setting; check the spelling against the DMS task-settings reference"
        if message.startswith("@"):
            sub, _, message = message[1:].partition(": ")
            loc = f"{loc}.{sub}" if loc else sub
        raise _at(loc, message) if loc else ValueError(message) from None


def _clean(message: str) -> str:
    return message.removeprefix("Value error, ").removeprefix("Assertion failed, ")


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
    message = _clean(err["msg"])
    if err["type"] == "extra_forbidden":
        message = "unknown key; remove it or check the spelling (see the README config reference)"
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
        raise ConfigError([f"{CONFIG_KEY}: must be a mapping of keys (see the README config reference)"], source)
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


def read_stack_file(stack: str, project_dir: Path = PROJECT_DIR) -> dict[str, Any]:
    """The ``config:`` map of ``Pulumi.<stack>.yaml``."""
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


BOOTSTRAP_FIX = (
    "store the password in Secrets Manager (python -m dmsmig bootstrap-secret) and reference it with "
    "migration.sources[].secret"
)


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
