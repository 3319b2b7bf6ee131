"""Stack config: the network and the replication instances."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, StrictBool, field_validator, model_validator

from dmsmig.config.base import (
    KMS_KEY_ARN,
    _at,
    _ids_like,
    _Model,
)

VpcEndpointName = Literal["secretsManager", "dynamodb"]


class VpcEndpoints(_Model):
    """VPC endpoints a private replication instance needs when its subnets have no NAT (Serverless always)."""

    secrets_manager: StrictBool = Field(
        False,
        alias="secretsManager",
        description="Interface endpoint for Secrets Manager (private DNS) in the stack's subnets and security groups.",
    )
    dynamodb: StrictBool = Field(False, description="Gateway endpoint for DynamoDB on network.routeTableIds.")
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
    multi_az: StrictBool | None = Field(None, alias="multiAz", description="Default: true in prod, else false.")
    publicly_accessible: StrictBool = Field(False, alias="publiclyAccessible", description="Keep false.")
    auto_minor_version_upgrade: StrictBool = Field(
        True, alias="autoMinorVersionUpgrade", description="Take minor engine upgrades in the maintenance window."
    )
    kms_key_arn: str | None = Field(
        None,
        alias="kmsKeyArn",
        pattern=KMS_KEY_ARN,
        description="Existing KMS key for instance, endpoints, topic and table; unset creates one.",
    )
    maintenance_window: str = Field(
        "sun:10:30-sun:14:30",
        alias="preferredMaintenanceWindow",
        pattern=r"^(mon|tue|wed|thu|fri|sat|sun):\d\d:\d\d-(mon|tue|wed|thu|fri|sat|sun):\d\d:\d\d$",
        description="Weekly maintenance window (UTC), ddd:hh:mm-ddd:hh:mm.",
    )
    create_account_roles: StrictBool = Field(
        False, alias="createAccountRoles", description="Create dms-vpc-role and dms-cloudwatch-logs-role."
    )
    max_tasks_per_instance: int = Field(
        200,
        alias="maxTasksPerInstance",
        ge=1,
        le=200,
        description="Tasks per instance (DMS limit 200); more tasks add instances.",
    )
