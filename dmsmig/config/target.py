"""Stack config: the DynamoDB target table, the read switch and monitoring."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, StrictBool, model_validator

from dmsmig.config.base import (
    _at,
    _Model,
)
from dmsmig.contract import facts


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
    point_in_time_recovery: StrictBool = Field(
        True, alias="pointInTimeRecovery", description="Continuous backups of the table."
    )
    deletion_protection: StrictBool | None = Field(None, alias="deletionProtection", description="Default: prod only.")
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
    dashboard: StrictBool = Field(True, description="Create a CloudWatch dashboard of the tasks.")
