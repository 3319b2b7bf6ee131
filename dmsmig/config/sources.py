"""Stack config: sources, their task groups, partitions and size estimates."""

from __future__ import annotations

from functools import cached_property
from typing import Annotated, Any, Literal

from pydantic import Field, ValidationError, field_validator, model_validator

from dmsmig.config.base import (
    BOOTSTRAP_FIX,
    DEFAULT_PORTS,
    KMS_KEY_ARN,
    NAME_PATTERN,
    _at,
    _clean,
    _Model,
    _validate_settings_layer,
)
from dmsmig.config.errors import ConfigError
from dmsmig.config.mapping_spec import MappingSpec, load_mapping_spec
from dmsmig.config.partitions import KeyRange, equal_width_boundaries, ranges_from_boundaries
from dmsmig.contract import facts


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
        pattern=KMS_KEY_ARN,
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

    def rows_per_partition(self) -> int | None:
        """The estimated rows of one partition (rows spread evenly: balanced partitions assumed), if estimated."""
        return self.estimate.rows // len(self.ranges()) if self.estimate is not None else None


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
