"""The DynamoDB target: the table, DMS's least-privilege access role and the target endpoint."""

from __future__ import annotations

from dataclasses import dataclass, field

import pulumi
import pulumi_aws as aws

from dmsmig.config.stack import MigrationConfig
from dmsmig.model import iam_docs

TYPE = "dmsmig:target:DynamoTarget"


@dataclass
class DynamoTargetArgs:
    """Inputs of :class:`DynamoTarget`."""

    config: MigrationConfig
    region: str
    kms_key_arn: pulumi.Input[str]
    """Stack key: used for the table when target.encryption is customer-managed."""
    with_endpoint: bool = True
    """False once decommissioned: the table stays, the DMS endpoint and role go."""
    tags: dict[str, str] = field(default_factory=dict)


def _attribute_definitions(cfg: MigrationConfig) -> list[aws.dynamodb.TableAttributeArgs]:
    names: list[str] = [cfg.target.partition_key]
    if cfg.target.sort_key:
        names.append(cfg.target.sort_key)
    for gsi in cfg.target.global_secondary_indexes:
        names += [n for n in (gsi.partition_key, gsi.sort_key) if n]
    unique = list(dict.fromkeys(names))
    return [aws.dynamodb.TableAttributeArgs(name=n, type=cfg.target.attribute_type(n)) for n in unique]


class DynamoTarget(pulumi.ComponentResource):
    """Event-store table (PITR, SSE, optional TTL/GSIs) and the DMS endpoint that writes it."""

    table_name: pulumi.Output[str]
    table_arn: pulumi.Output[str]
    endpoint_arn: pulumi.Output[str] | None
    access_role_arn: pulumi.Output[str] | None

    def __init__(self, name: str, args: DynamoTargetArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__(TYPE, name, None, opts)
        cfg = args.config
        target = cfg.target
        child = pulumi.ResourceOptions(parent=self)
        customer_key = target.encryption == "customer-managed"
        provisioned = target.billing_mode == "PROVISIONED"

        table = aws.dynamodb.Table(
            f"{name}-table",
            name=target.table_name,
            billing_mode=target.billing_mode,
            read_capacity=target.read_capacity,
            write_capacity=target.write_capacity,
            hash_key=target.partition_key,
            range_key=target.sort_key,
            attributes=_attribute_definitions(cfg),
            global_secondary_indexes=[
                aws.dynamodb.TableGlobalSecondaryIndexArgs(
                    name=gsi.name,
                    key_schemas=[
                        aws.dynamodb.TableGlobalSecondaryIndexKeySchemaArgs(attribute_name=attr, key_type=kind)
                        for attr, kind in ((gsi.partition_key, "HASH"), (gsi.sort_key, "RANGE"))
                        if attr
                    ],
                    projection_type=gsi.projection,
                    read_capacity=target.read_capacity if provisioned else None,
                    write_capacity=target.write_capacity if provisioned else None,
                    # every migrated item carrying the index keys is written to the index too
                    # (fact gsi-write-per-item): a pre-warmed table's indexes are pre-warmed alike
                    warm_throughput=(
                        aws.dynamodb.TableGlobalSecondaryIndexWarmThroughputArgs(
                            read_units_per_second=target.warm_throughput.read_units_per_second,
                            write_units_per_second=target.warm_throughput.write_units_per_second,
                        )
                        if target.warm_throughput
                        else None
                    ),
                )
                for gsi in target.global_secondary_indexes
            ],
            point_in_time_recovery=aws.dynamodb.TablePointInTimeRecoveryArgs(enabled=target.point_in_time_recovery),
            server_side_encryption=aws.dynamodb.TableServerSideEncryptionArgs(
                enabled=True, kms_key_arn=args.kms_key_arn if customer_key else None
            ),
            ttl=(
                aws.dynamodb.TableTtlArgs(attribute_name=target.ttl_attribute, enabled=True)
                if target.ttl_attribute
                else None
            ),
            deletion_protection_enabled=cfg.deletion_protection,
            warm_throughput=(
                aws.dynamodb.TableWarmThroughputArgs(
                    read_units_per_second=target.warm_throughput.read_units_per_second,
                    write_units_per_second=target.warm_throughput.write_units_per_second,
                )
                if target.warm_throughput
                else None
            ),
            tags=args.tags,
            # The table outlives the migration: never replaced or deleted by a config slip in prod.
            opts=pulumi.ResourceOptions(parent=self, protect=cfg.deletion_protection),
        )
        self.table_name = table.name
        self.table_arn = table.arn
        self.endpoint_arn = None
        self.access_role_arn = None

        if args.with_endpoint:
            role = aws.iam.Role(
                f"{name}-access",
                name=f"{cfg.prefix}-dms-dynamodb-access"[:64],
                description=f"Lets DMS write {target.table_name} and its control tables",
                assume_role_policy=iam_docs.dms_trust_policy(args.region),
                tags=args.tags,
                opts=child,
            )
            key_for_policy = args.kms_key_arn if customer_key else None
            policy = aws.iam.RolePolicy(
                f"{name}-access-policy",
                role=role.id,
                policy=pulumi.Output.all(table.arn, key_for_policy).apply(
                    lambda values: iam_docs.dynamodb_target_policy(values[0], values[1])
                ),
                opts=child,
            )
            endpoint = aws.dms.Endpoint(
                f"{name}-endpoint",
                endpoint_id=f"{cfg.prefix}-target-dynamodb",
                endpoint_type="target",
                engine_name="dynamodb",
                service_access_role=role.arn,
                kms_key_arn=args.kms_key_arn,
                tags=args.tags,
                opts=pulumi.ResourceOptions(parent=self, depends_on=[policy, table]),
            )
            self.endpoint_arn = endpoint.endpoint_arn
            self.access_role_arn = role.arn

        self.register_outputs(
            {
                "tableName": self.table_name,
                "tableArn": self.table_arn,
                "endpointArn": self.endpoint_arn,
                "accessRoleArn": self.access_role_arn,
            }
        )
